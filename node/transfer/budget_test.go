package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"pgregory.net/rapid"
)

// fakeScope records reservations and refuses past limit, like a resource-manager scope.
type fakeScope struct {
	network.ResourceScopeSpan
	held, limit int
}

func (s *fakeScope) ReserveMemory(n int, _ uint8) error {
	if s.held+n > s.limit {
		return errors.New("scope limit")
	}
	s.held += n
	return nil
}
func (s *fakeScope) ReleaseMemory(n int) { s.held -= n }

type fakeStreamScope struct {
	network.StreamScope
	*fakeScope
}

func (s fakeStreamScope) ReserveMemory(n int, p uint8) error { return s.fakeScope.ReserveMemory(n, p) }
func (s fakeStreamScope) ReleaseMemory(n int)                { s.fakeScope.ReleaseMemory(n) }

type fakeConn struct {
	network.Conn
	p    peer.ID
	addr ma.Multiaddr
}

func (c fakeConn) RemotePeer() peer.ID           { return c.p }
func (c fakeConn) RemoteMultiaddr() ma.Multiaddr { return c.addr }

type fakeStream struct {
	network.Stream
	conn  fakeConn
	scope *fakeScope
}

func (s fakeStream) Conn() network.Conn         { return s.conn }
func (s fakeStream) Scope() network.StreamScope { return fakeStreamScope{fakeScope: s.scope} }

func newFakeStream(p, ip string, scope *fakeScope) fakeStream {
	return fakeStream{conn: fakeConn{p: peer.ID(p), addr: ma.StringCast("/ip4/" + ip + "/tcp/4001")}, scope: scope}
}

func TestBudgetLimits(t *testing.T) {
	lim := BudgetLimits{PerPeer: 100, PerSubnet: 150, PerNode: 200}
	unlimited := func() *fakeScope { return &fakeScope{limit: 1 << 30} }
	b := NewBudget(lim)
	a1 := newFakeStream("a", "10.0.0.1", unlimited())
	rel, err := b.Acquire(a1, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(a1, 1); !errors.Is(err, ErrBusy) {
		t.Fatalf("peer over its share: %v", err)
	}
	// Another identity on the same /24 shares the subnet's 150.
	sybil := newFakeStream("b", "10.0.0.99", unlimited())
	if _, err := b.Acquire(sybil, 51); !errors.Is(err, ErrBusy) {
		t.Fatalf("subnet over its share: %v", err)
	}
	relB, err := b.Acquire(sybil, 50)
	if err != nil {
		t.Fatal(err)
	}
	// A different /24 is limited by the node's 200.
	other := newFakeStream("c", "10.0.1.1", unlimited())
	if _, err := b.Acquire(other, 51); !errors.Is(err, ErrBusy) {
		t.Fatalf("node over its share: %v", err)
	}
	rel()
	rel() // idempotent
	if _, err := b.Acquire(other, 100); err != nil {
		t.Fatalf("after release: %v", err)
	}
	relB()
	if got := b.Held(); got != 100 {
		t.Fatalf("held %d, want 100", got)
	}
	// The stream's scope refusing undoes the budget's own charge.
	tight := newFakeStream("d", "10.0.2.1", &fakeScope{limit: 10})
	if _, err := b.Acquire(tight, 11); !errors.Is(err, ErrBusy) {
		t.Fatalf("scope refusal: %v", err)
	}
	if got := b.Held(); got != 100 {
		t.Fatalf("held %d after a refused reservation, want 100", got)
	}
	if _, err := b.Acquire(tight, -1); err == nil {
		t.Fatal("negative reservation accepted")
	}
}

// Random acquire/release sequences: a reservation succeeds exactly when every limit allows it,
// limits always hold, and releasing everything returns every counter and scope to zero.
func TestBudgetProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lim := BudgetLimits{
			PerPeer:   rapid.Int64Range(1, 1000).Draw(t, "peer"),
			PerSubnet: rapid.Int64Range(1, 2000).Draw(t, "subnet"),
			PerNode:   rapid.Int64Range(1, 3000).Draw(t, "node"),
		}
		b := NewBudget(lim)
		type held struct {
			p, sub string
			n      int64
			rel    func()
		}
		var live []held
		peers, subs := map[string]int64{}, map[string]int64{}
		var node int64
		scopes := map[string]*fakeScope{}
		for i := range rapid.IntRange(1, 60).Draw(t, "steps") {
			if len(live) > 0 && rapid.Bool().Draw(t, fmt.Sprint("release", i)) {
				j := rapid.IntRange(0, len(live)-1).Draw(t, fmt.Sprint("which", i))
				h := live[j]
				h.rel()
				peers[h.p] -= h.n
				subs[h.sub] -= h.n
				node -= h.n
				live = append(live[:j], live[j+1:]...)
				continue
			}
			pi := rapid.IntRange(0, 5).Draw(t, fmt.Sprint("peer", i))
			p, sub := fmt.Sprint("p", pi), fmt.Sprintf("10.0.%d.0/24", pi%2)
			if scopes[p] == nil {
				scopes[p] = &fakeScope{limit: 1 << 30}
			}
			st := newFakeStream(p, fmt.Sprintf("10.0.%d.%d", pi%2, pi+1), scopes[p])
			n := rapid.Int64Range(1, 700).Draw(t, fmt.Sprint("n", i))
			fits := peers[p]+n <= lim.PerPeer && subs[sub]+n <= lim.PerSubnet && node+n <= lim.PerNode
			rel, err := b.Acquire(st, int(n))
			if fits != (err == nil) {
				t.Fatalf("acquire %d for %s (peer %d subnet %d node %d, limits %+v): %v", n, p, peers[p], subs[sub], node, lim, err)
			}
			if err == nil {
				peers[p] += n
				subs[sub] += n
				node += n
				live = append(live, held{p, sub, n, rel})
			}
			if b.Held() != node {
				t.Fatalf("held %d, want %d", b.Held(), node)
			}
		}
		for _, h := range live {
			h.rel()
		}
		if b.Held() != 0 || len(b.peers) != 0 || len(b.subnets) != 0 {
			t.Fatalf("after releasing all: node %d peers %v subnets %v", b.Held(), b.peers, b.subnets)
		}
		for p, s := range scopes {
			if s.held != 0 {
				t.Fatalf("scope of %s still holds %d", p, s.held)
			}
		}
	})
}

func TestSubnetOf(t *testing.T) {
	cases := map[string]string{
		"/ip4/127.0.3.1/tcp/1":        "127.0.3.0/24",
		"/ip4/10.1.2.3/udp/1/quic-v1": "10.1.2.0/24",
		"/ip6/2001:db8:1:2::5/tcp/1":  "2001:db8:1::/48",
		"/dns4/example.com/tcp/1":     "",
	}
	for in, want := range cases {
		if got := SubnetOf(ma.StringCast(in)); got != want {
			t.Errorf("SubnetOf(%s) = %q, want %q", in, got, want)
		}
	}
	if SubnetOf(nil) != "" {
		t.Error("nil address has a subnet")
	}
}

// serverWith starts a server with budget b and returns a client host connected to it.
func serverWith(t *testing.T, b *Budget) (host.Host, host.Host) {
	srv := newHost(t)
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	NewServer(srv, st, NewStewardship(st, nil), b, "test", slog.New(slog.DiscardHandler))
	cl := newHost(t)
	if err := cl.Connect(context.Background(), peer.AddrInfo{ID: srv.ID(), Addrs: srv.Addrs()}); err != nil {
		t.Fatal(err)
	}
	return srv, cl
}

// open sends hdr on a new stream and reads the first answer.
func open(t *testing.T, cl host.Host, p peer.ID, proto protocol.ID, hdr any) (network.Stream, Status) {
	t.Helper()
	s, err := cl.NewStream(ctx(t), p, proto)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Reset() })
	_ = s.SetDeadline(time.Now().Add(10 * time.Second))
	if err := wire.Write(s, hdr); err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := wire.Read(s, &st); err != nil {
		t.Fatalf("%s: %v", proto, err)
	}
	return s, st
}

// A body that does not fit the peer's budget is refused before the go-ahead, with "busy", and
// one that fits is charged until its stream ends.
func TestServerChargesBodiesBeforeReading(t *testing.T) {
	b := NewBudget(BudgetLimits{PerPeer: 4 << 20, PerSubnet: 8 << 20, PerNode: 8 << 20})
	srv, cl := serverWith(t, b)
	mc := shardCID([]byte("m")).String()
	_, st := open(t, cl, srv.ID(), ProtoManifestPut, ManifestPutReq{CID: mc, Size: 3 << 20, LocationsLen: 2 << 20})
	if st.OK || st.Code != wire.CodeBusy {
		t.Fatalf("5 MiB manifest put within a 4 MiB peer budget: %+v", st)
	}
	s, st := open(t, cl, srv.ID(), ProtoManifestPut, ManifestPutReq{CID: mc, Size: 2 << 20, LocationsLen: 1 << 20})
	if !st.OK || b.Held() != 3<<20 {
		t.Fatalf("3 MiB put: %+v, held %d", st, b.Held())
	}
	// A shard put's buffers do not fit beside it.
	_, st = open(t, cl, srv.ID(), ProtoShardPut, ShardPutReq{CID: mc, Size: MaxShard, DeleteHash: strings.Repeat("00", 32)})
	if st.OK || st.Code != wire.CodeBusy {
		t.Fatalf("shard put over budget: %+v", st)
	}
	s.Reset()
	waitHeld(t, b, 0)
}

// A body that stalls after the go-ahead is cut once it falls bodyGrace behind the minimum rate,
// and its reservation released.
func TestStalledBodyIsCut(t *testing.T) {
	old := bodyGrace
	bodyGrace = 300 * time.Millisecond
	t.Cleanup(func() { bodyGrace = old })
	b := NewBudget(DefaultBudget())
	srv, cl := serverWith(t, b)
	mc := shardCID([]byte("m")).String()
	s, st := open(t, cl, srv.ID(), ProtoManifestPut, ManifestPutReq{CID: mc, Size: 1 << 20, LocationsLen: 1 << 20})
	if !st.OK {
		t.Fatalf("go-ahead: %+v", st)
	}
	start := time.Now()
	// Trickle a byte every 100 ms: far below minRate.
	for time.Since(start) < 5*time.Second {
		if _, err := s.Write([]byte{0}); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("trickling stream still open after %v", d)
	}
	waitHeld(t, b, 0)
}

func waitHeld(t *testing.T, b *Budget, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for b.Held() != want {
		if time.Now().After(deadline) {
			t.Fatalf("budget holds %d, want %d", b.Held(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// countingReader hands out data in random pieces and checks, on every Read, that the buffer it
// is offered never extends past max(readChunk, 2*received) nor past the announced size.
type countingReader struct {
	t        *rapid.T
	data     []byte
	n        int
	received int
	piece    func() int
}

func (r *countingReader) Read(p []byte) (int, error) {
	if offered := r.received + len(p); offered > max(readChunk, 2*r.received) || offered > r.n {
		r.t.Fatalf("buffer of %d bytes after receiving %d (announced %d)", offered, r.received, r.n)
	}
	if r.received == len(r.data) {
		return 0, io.EOF
	}
	k := min(len(p), len(r.data)-r.received, r.piece())
	copy(p, r.data[r.received:r.received+k])
	r.received += k
	return k, nil
}

func TestReadExactlyGrowsWithWhatArrives(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 1<<20).Draw(t, "announced")
		sent := rapid.IntRange(0, n).Draw(t, "sent")
		data := make([]byte, sent)
		for i := range data {
			data[i] = byte(i * 7)
		}
		r := &countingReader{t: t, data: data, n: n, piece: func() int { return rapid.IntRange(1, 100_000).Draw(t, "piece") }}
		got, err := readExactly(r, n)
		if sent < n {
			if err == nil {
				t.Fatalf("short body of %d/%d accepted", sent, n)
			}
			return
		}
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("full body: %v", err)
		}
	})
}
