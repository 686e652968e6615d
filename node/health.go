package node

import (
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// health is what this node, as a steward, has learnt from its audits: which holders answer and
// which shards failed. It lives in memory: after a restart the first audit round rebuilds it, and
// until then a holder counts as healthy (repair waits for evidence, never acts on ignorance).
type health struct {
	mu      sync.Mutex
	holders map[peer.ID]*holderHealth
}

type holderHealth struct {
	down   bool              // its latest audit got no usable answer
	since  time.Time         // when down became true
	failed map[cid.Cid]bool  // shards whose latest audit failed
	passed map[cid.Cid]int64 // unix seconds of each shard's latest passed audit
}

func newHealth() *health { return &health{holders: map[peer.ID]*holderHealth{}} }

func (h *health) get(p peer.ID) *holderHealth {
	hh := h.holders[p]
	if hh == nil {
		hh = &holderHealth{failed: map[cid.Cid]bool{}, passed: map[cid.Cid]int64{}}
		h.holders[p] = hh
	}
	return hh
}

// answered records an audit answer from p: per shard, passed or failed.
func (h *health) answered(p peer.ID, shards []cid.Cid, passed []bool, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	hh := h.get(p)
	hh.down = false
	for i, c := range shards {
		if passed[i] {
			delete(hh.failed, c)
			hh.passed[c] = now.Unix()
		} else {
			hh.failed[c] = true
			delete(hh.passed, c)
		}
	}
}

// unreachable records that p gave no usable answer.
func (h *health) unreachable(p peer.ID, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	hh := h.get(p)
	if !hh.down {
		hh.down, hh.since = true, now
	}
}

// reachable records that p answered something else (a transfer, a receipt).
func (h *health) reachable(p peer.ID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if hh := h.holders[p]; hh != nil {
		hh.down = false
	}
}

// healthy reports whether p should be counted as holding shard c: it answers audits and c did
// not fail its latest one.
func (h *health) healthy(p peer.ID, c cid.Cid) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	hh := h.holders[p]
	return hh == nil || !hh.down && !hh.failed[c]
}

// forget drops what is known of p's copy of c, e.g. after this node moved it elsewhere.
func (h *health) forget(p peer.ID, c cid.Cid) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if hh := h.holders[p]; hh != nil {
		delete(hh.failed, c)
		delete(hh.passed, c)
	}
}

// isDown reports whether p's latest audit got no usable answer.
func (h *health) isDown(p peer.ID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	hh := h.holders[p]
	return hh != nil && hh.down
}

// downFor is how long p has been unreachable (0 if it is not).
func (h *health) downFor(p peer.ID) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	hh := h.holders[p]
	if hh == nil || !hh.down {
		return 0
	}
	return time.Since(hh.since)
}
