package ledgersync

import (
	"context"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-storage/cairn/payments"
)

// Every reason maps to the verdict the gossip design wants.
func TestVerdicts(t *testing.T) {
	reject := []payments.Reason{payments.ReasonTooLarge, payments.ReasonMalformed, payments.ReasonUnknownVersion,
		payments.ReasonUnknownKind, payments.ReasonNonCanonical, payments.ReasonBadSignature, payments.ReasonBadChain,
		payments.ReasonMissingCountersignature, payments.ReasonBadCountersignature, payments.ReasonUsageExceeds,
		payments.ReasonBadValue, payments.ReasonReplay, payments.ReasonBadForkProof}
	ignore := []payments.Reason{payments.ReasonDuplicate, payments.ReasonOutOfOrder, payments.ReasonFuture,
		payments.ReasonForkedAuthor, payments.ReasonFork, "something_new"}
	for _, r := range reject {
		if v := verdict(&payments.Rejection{Reason: r}); v != pubsub.ValidationReject {
			t.Errorf("%s: verdict %v, want reject", r, v)
		}
	}
	for _, r := range ignore {
		if v := verdict(&payments.Rejection{Reason: r}); v != pubsub.ValidationIgnore {
			t.Errorf("%s: verdict %v, want ignore", r, v)
		}
	}
	if verdict(nil) != pubsub.ValidationAccept || verdict(context.Canceled) != pubsub.ValidationIgnore {
		t.Error("nil must accept, a store failure ignore")
	}
}

// A round asks for each author from the Seq the client already holds, so an author that signed
// two chains is caught as a fork (an honest server, no ErrBadServer) instead of its other branch
// failing as bad_chain.
func TestSyncExposesForkAtFrontier(t *testing.T) {
	p, q := newNode(t, testConfig), newNode(t, testConfig)
	x := newAuthor(t)
	mine := x.next(t)
	x.last = nil // sign another chain with the same key
	theirs := x.chain(t, 2)
	if errs := p.st.Add([][]byte{mine}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if errs := q.st.Add(theirs); errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	connect(t, p.h, q.h)
	stats, err := p.g.SyncWith(context.Background(), q.h.ID())
	if err != nil {
		t.Fatalf("sync: %+v, %v", stats, err)
	}
	if !p.st.v.Excluded(string(x.last.Author)) || len(p.st.v.ForkProofs()) != 1 {
		t.Fatal("the fork was not detected")
	}
	if s := p.g.PeerScore(q.h.ID()); s < 0 {
		t.Fatalf("the honest server scores %v", s)
	}
}

// At most maxRounds rounds run at once, one per peer; SyncWith with oneself is refused.
func TestSchedulerBounds(t *testing.T) {
	var s scheduler
	s.init()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var ends []func()
	for i := range maxRounds {
		end, err := s.begin(ctx, peer.ID(rune('a'+i)))
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end)
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := s.begin(short, "z"); err == nil {
		t.Fatal("a round beyond maxRounds started")
	}
	ends[0]()
	short2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if _, err := s.begin(short2, "b"); err == nil {
		t.Fatal("a second round with one peer started")
	}
	end, err := s.begin(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	end()
	for _, e := range ends[1:] {
		e()
	}

	n := newNode(t, testConfig)
	if _, err := n.g.SyncWith(ctx, n.h.ID()); err == nil {
		t.Fatal("synced with self")
	}
}
