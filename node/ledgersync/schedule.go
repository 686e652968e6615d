package ledgersync

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/peer"
)

const (
	// maxRounds bounds the sync rounds running at once, as client, node-wide.
	maxRounds = 4
	// maxTriggered bounds the peers with a triggered round waiting or running: one goroutine
	// each. Triggers beyond it are dropped; the periodic round covers them.
	maxTriggered = 64
	// retriggerGap is the least time between two triggered rounds with one peer, so a peer that
	// keeps sending out-of-order entries cannot keep us syncing with it.
	retriggerGap = time.Second
)

// scheduler decides when rounds run: at most maxRounds at once and one per peer.
type scheduler struct {
	sem chan struct{}

	mu        sync.Mutex
	active    map[peer.ID]chan struct{} // peer → closed when its round ends
	triggered map[peer.ID]*bool         // peer → "run once more when done"
	closed    bool                      // set by Close: no new goroutines
}

func (s *scheduler) init() {
	s.sem = make(chan struct{}, maxRounds)
	s.active = make(map[peer.ID]chan struct{})
	s.triggered = make(map[peer.ID]*bool)
}

// begin waits until no round with p runs and a slot is free, and claims both.
func (s *scheduler) begin(ctx context.Context, p peer.ID) (end func(), err error) {
	var mine chan struct{}
	for mine == nil {
		s.mu.Lock()
		busy, ok := s.active[p]
		if !ok {
			mine = make(chan struct{})
			s.active[p] = mine
		}
		s.mu.Unlock()
		if ok {
			select {
			case <-busy:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	release := func() {
		s.mu.Lock()
		delete(s.active, p)
		s.mu.Unlock()
		close(mine)
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
	return func() { <-s.sem; release() }, nil
}

// trigger asks for a round with p soon, in the background. Debounced: a peer has at most one
// round waiting, and a trigger during a round runs one more after it.
func (g *Gossip) trigger(p peer.ID) {
	if p == g.h.ID() {
		return
	}
	s := &g.sched
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if again, ok := s.triggered[p]; ok {
		*again = true
		s.mu.Unlock()
		return
	}
	if len(s.triggered) >= maxTriggered {
		s.mu.Unlock()
		return
	}
	again := new(bool)
	s.triggered[p] = again
	g.wg.Add(1)
	s.mu.Unlock()
	go g.runTriggered(p, again)
}

func (g *Gossip) runTriggered(p peer.ID, again *bool) {
	defer g.wg.Done()
	s := &g.sched
	for {
		if g.supportsSync(p) && !g.graylisted(p) {
			stats, err := g.SyncWith(g.ctx, p)
			if err != nil {
				g.log.Debug("ledger sync failed", "peer", p, "err", err)
			} else if stats.Fetched > 0 {
				g.log.Debug("ledger sync", "peer", p, "authors", stats.Authors, "fetched", stats.Fetched,
					"accepted", stats.Accepted, "rejected", stats.Rejected)
			}
		}
		s.mu.Lock()
		if !*again || g.ctx.Err() != nil {
			delete(s.triggered, p)
			s.mu.Unlock()
			return
		}
		*again = false
		s.mu.Unlock()
		select {
		case <-time.After(retriggerGap):
		case <-g.ctx.Done():
		}
	}
}

// supportsSync tells whether p is known (from identify) to serve our sync protocol.
func (g *Gossip) supportsSync(p peer.ID) bool {
	ps, err := g.h.Peerstore().SupportsProtocols(p, g.cfg.SyncProtocol)
	return err == nil && len(ps) > 0
}

// syncRandom triggers a round with one random connected peer that serves sync.
func (g *Gossip) syncRandom() {
	var cands []peer.ID
	for _, p := range g.h.Network().Peers() {
		if g.supportsSync(p) && !g.graylisted(p) {
			cands = append(cands, p)
		}
	}
	if len(cands) > 0 {
		g.trigger(cands[rand.IntN(len(cands))])
	}
}

// startSchedule starts the periodic round and the rounds with newly connected peers.
func (g *Gossip) startSchedule() error {
	sub, err := g.h.EventBus().Subscribe([]any{
		new(event.EvtPeerIdentificationCompleted), new(event.EvtPeerProtocolsUpdated),
	})
	if err != nil {
		return err
	}
	g.wg.Add(2)
	go func() {
		defer g.wg.Done()
		defer sub.Close()
		for {
			select {
			case <-g.ctx.Done():
				return
			case ev, ok := <-sub.Out():
				if !ok {
					return
				}
				g.onPeerEvent(ev)
			}
		}
	}()
	go func() {
		defer g.wg.Done()
		g.syncRandom() // a node that starts up catches up at once
		t := time.NewTicker(g.cfg.SyncInterval)
		defer t.Stop()
		for {
			select {
			case <-g.ctx.Done():
				return
			case <-t.C:
				g.syncRandom()
			}
		}
	}()
	return nil
}

// onPeerEvent syncs with a peer that just connected (identify done) or just started serving
// sync, so a node that comes back catches up without waiting for the periodic round.
func (g *Gossip) onPeerEvent(ev any) {
	switch ev := ev.(type) {
	case event.EvtPeerIdentificationCompleted:
		if slices.Contains(ev.Protocols, g.cfg.SyncProtocol) {
			g.trigger(ev.Peer)
		}
	case event.EvtPeerProtocolsUpdated:
		if slices.Contains(ev.Added, g.cfg.SyncProtocol) {
			g.trigger(ev.Peer)
		}
	}
}
