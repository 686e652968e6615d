package ledgersync

import (
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-storage/cairn/payments"
)

// An entry that arrives before its author's earlier ones (out_of_order) is common: gossipsub
// validates messages concurrently, and chains published in a burst overtake each other. If it
// were ignored at once it would also not be forwarded, and the hosts behind this one would
// never see it by gossip (pubsub's seen-cache drops later copies). So its validation waits,
// bounded, for the gap to close, by gossip or by the sync round with the sender it triggers, and
// then accepts (and forwards) it.
const (
	// gapWait bounds how long one entry's validation waits.
	gapWait = 5 * time.Second
	// maxGapWaits and maxGapWaitsPerPeer bound the validations waiting at once, so entries
	// minted far ahead of their chain cannot tie up the validators: beyond them, entries are
	// ignored at once (the sync round still fetches them).
	maxGapWaits        = 64
	maxGapWaitsPerPeer = 8
	gapPollFirst       = 10 * time.Millisecond
	gapPollMax         = 250 * time.Millisecond
)

// gapSlots counts the waiting validations, in all and per sender.
type gapSlots struct {
	mu     sync.Mutex
	total  int
	byPeer map[peer.ID]int
}

func (s *gapSlots) take(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byPeer == nil {
		s.byPeer = make(map[peer.ID]int)
	}
	if s.total >= maxGapWaits || s.byPeer[p] >= maxGapWaitsPerPeer {
		return false
	}
	s.total++
	s.byPeer[p]++
	return true
}

func (s *gapSlots) give(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.byPeer[p]--; s.byPeer[p] <= 0 {
		delete(s.byPeer, p)
	}
}

// awaitGap validates an entry the store found out_of_order, sent by from.
func (g *Gossip) awaitGap(from peer.ID, data []byte) pubsub.ValidationResult {
	// The store checks order before the signature: check it now, so only entries their author
	// really signed can make us wait or sync (and a forged one penalises its sender).
	e, err := payments.Decode(data)
	if err == nil {
		err = e.VerifySig()
	}
	if err != nil {
		return verdict(err)
	}
	g.trigger(from) // the sender most likely holds the missing entries
	if !g.gaps.take(from) {
		return pubsub.ValidationIgnore
	}
	defer g.gaps.give(from)
	deadline := time.NewTimer(gapWait)
	defer deadline.Stop()
	for pause := gapPollFirst; ; pause = min(2*pause, gapPollMax) {
		select {
		case <-time.After(pause):
		case <-deadline.C:
			return pubsub.ValidationIgnore
		case <-g.ctx.Done():
			return pubsub.ValidationIgnore
		}
		errs := g.st.Add([][]byte{data})
		if len(errs) != 1 {
			return pubsub.ValidationIgnore
		}
		switch payments.ReasonOf(errs[0]) {
		case payments.ReasonOutOfOrder:
			continue
		case payments.ReasonDuplicate:
			// The sync round brought it: it is valid, and the hosts behind us lack it too.
			return pubsub.ValidationAccept
		}
		return verdict(errs[0])
	}
}
