package transfer

import (
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// fakeClock is a settable time source for Served.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestServedTakesEachSendingOnce(t *testing.T) {
	clk := &fakeClock{time.Unix(1000, 0)}
	s := newServed(4, 8, time.Hour, clk.now)
	a, b := peer.ID("peer-a"), peer.ID("peer-b")
	x, y := shardCID([]byte("x")), shardCID([]byte("y"))
	s.Record(a, x, 100)
	s.Record(a, x, 100) // served twice: two receipts
	s.Record(b, y, 50)
	switch {
	case s.Take(b, x, 100):
		t.Fatal("took a shard served to another peer")
	case s.Take(a, x, 99), s.Take(a, x, 101):
		t.Fatal("took a shard at a size it was not served at")
	case !s.Take(a, x, 100), !s.Take(a, x, 100):
		t.Fatal("two sendings did not back two receipts")
	case s.Take(a, x, 100):
		t.Fatal("a third receipt for two sendings")
	case !s.Take(b, y, 50) || s.Take(b, y, 50):
		t.Fatal("one sending backs exactly one receipt")
	}
	if s.Len() != 0 || len(s.peers) != 0 {
		t.Fatalf("%d records and %d peers left after taking all", s.Len(), len(s.peers))
	}
}

func TestServedBoundsAndExpiry(t *testing.T) {
	clk := &fakeClock{time.Unix(1000, 0)}
	s := newServed(3, 5, time.Hour, clk.now)
	a, b := peer.ID("peer-a"), peer.ID("peer-b")
	shard := func(i int) string { return fmt.Sprint("shard-", i) }
	for i := range 4 { // one past a's bound: its oldest goes
		s.Record(a, shardCID([]byte(shard(i))), 10)
		clk.t = clk.t.Add(time.Second)
	}
	if s.Len() != 3 || s.Take(a, shardCID([]byte(shard(0))), 10) {
		t.Fatalf("per-peer bound: %d records, oldest still there", s.Len())
	}
	for i := range 3 { // two past the total: the oldest overall (a's) go
		s.Record(b, shardCID([]byte(shard(10+i))), 10)
		clk.t = clk.t.Add(time.Second)
	}
	if s.Len() != 5 || s.Take(a, shardCID([]byte(shard(1))), 10) {
		t.Fatalf("total bound: %d records, a's oldest still there", s.Len())
	}
	// An hour after b's first record, it and everything before it have expired.
	clk.t = time.Unix(1000+4, 0).Add(time.Hour)
	if s.Take(b, shardCID([]byte(shard(10))), 10) {
		t.Fatal("an expired record was taken")
	}
	if !s.Take(b, shardCID([]byte(shard(12))), 10) {
		t.Fatal("a fresh record was lost")
	}
	if s.Len() != 1 { // b's second, the only one left unexpired
		t.Fatalf("%d records left, want 1", s.Len())
	}
	var nilBook *Served
	nilBook.Record(a, shardCID(nil), 1)
	if nilBook.Take(a, shardCID(nil), 1) {
		t.Fatal("a nil book took a record")
	}
}

// Many peers and shards churn through a small book without its invariants breaking.
func TestServedChurn(t *testing.T) {
	clk := &fakeClock{time.Unix(1000, 0)}
	s := newServed(16, 64, time.Minute, clk.now)
	for i := range 5000 {
		p := peer.ID(fmt.Sprint("peer-", i%37))
		c := shardCID([]byte(fmt.Sprint(i % 101)))
		s.Record(p, c, int64(1+i%3))
		if i%3 == 0 {
			s.Take(p, shardCID([]byte(fmt.Sprint((i+7)%101))), int64(1+(i+7)%3))
		}
		clk.t = clk.t.Add(100 * time.Millisecond)
		if s.Len() > 64 {
			t.Fatalf("step %d: %d records, bound 64", i, s.Len())
		}
	}
	count := 0
	for p, sp := range s.peers {
		if sp.order.Len() == 0 || sp.order.Len() > 16 {
			t.Fatalf("peer %s has %d records", p, sp.order.Len())
		}
		n := 0
		for _, rs := range sp.byShard {
			n += len(rs)
		}
		if n != sp.order.Len() {
			t.Fatalf("peer %s: %d records by shard, %d in order", p, n, sp.order.Len())
		}
		count += n
	}
	if count != s.Len() {
		t.Fatalf("%d records by peer, %d in all", count, s.Len())
	}
}
