package kadcheck

import (
	"context"
	"fmt"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	kb "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/peer"
)

// realLookup is what one GetClosestPeers did, read from its events.
type realLookup struct {
	hops      int     // as kad.Result.Hops
	messages  int     // requests the lookup sent before it ended (kad.Result.Messages)
	followups int     // requests of the follow-up (kad.Result.Followups), from the final state
	closest   []int32 // what GetClosestPeers returned
	starved   bool    // ended for want of peers to ask, not by the β rule
	answers   []answer
	// order replays the real response order in the model: for each peer that
	// answered, the number of answers taken in from its request's sending to
	// its own (see Replay).
	order map[int32]float64
	// inverted counts pairs of answers taken in the other way round from
	// their requests, of pairs in all.
	inverted, pairs int
}

// answer is one response the lookup took in: who answered and whom it named.
type answer struct {
	from  int32
	peers []int32
}

// lookupTimeout bounds one lookup; on a mocknet with every node up one takes
// milliseconds.
const lookupTimeout = 30 * time.Second

// lookup runs node from's GetClosestPeers for key and rebuilds its hop count
// from kad-dht's lookup events (dht.RegisterForLookupEvents). Those come from
// the query's own state machine, in its order: the seeding (cause: the
// initiator, heard: the K closest in its table), each request (waiting),
// each response it took in (cause, heard, queried) and the termination. A
// peer heard from the initiator is at depth 1, a peer first heard in the
// answer of a peer at depth h is at h+1 (kad-dht's referrer), and Hops is the
// deepest peer that answered before the lookup ended: kad.Result.Hops.
// Answers still in flight at the end, which kad-dht drops, and the follow-up,
// which publishes no lookup events, add nothing, as in the model.
//
// routing.RegisterForQueryEvents is not used: its PeerResponse events do not
// tell the lookup's answers from the follow-up's or from those dropped at the
// end, and an event published on a cancelled context (a dial the end cut
// short) is dropped at random, so its counts are not exact.
func (nw *network) lookup(ctx context.Context, from int32, key string) (realLookup, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	ectx, stop := context.WithCancel(ctx)
	ectx, lookupEvents := dht.RegisterForLookupEvents(ectx)
	var events []*dht.LookupEvent
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for ev := range lookupEvents {
			events = append(events, ev)
		}
	}()
	peers, err := nw.dhts[from].GetClosestPeers(ectx, key)
	stop() // closes the event channel once drained
	<-drained
	if err != nil {
		return realLookup{}, fmt.Errorf("kadcheck: lookup from %d: %w", from, err)
	}
	r, err := replay(nw.hosts[from].ID(), nw.index, nw.dhts[from].BucketSize(), events)
	if err != nil {
		return realLookup{}, err
	}
	for _, p := range peers {
		j, ok := nw.index[p]
		if !ok {
			return realLookup{}, fmt.Errorf("kadcheck: lookup from %d returned unknown peer %s", from, p)
		}
		r.closest = append(r.closest, j)
	}
	return r, nil
}

// replay rebuilds depths and counts from the events of one lookup by self;
// index numbers the nodes, k is the bucket size. The follow-up's requests are
// counted from the state at the end, by kad-dht's rule: the peers among the k
// closest known (unreachable ones aside) not yet answered.
func replay(self peer.ID, index map[peer.ID]int32, k int, events []*dht.LookupEvent) (realLookup, error) {
	from := index[self]
	depth := map[peer.ID]int{self: 0}
	answered := map[peer.ID]bool{}
	r := realLookup{order: make(map[int32]float64)}
	ended := false
	taken := 0                  // answers taken in so far, seeding aside
	sentAt := map[peer.ID]int{} // peer → answers taken in when it was asked
	seq := map[peer.ID]int{}    // peer → its request's place in sending order
	var took []int              // seq of each answer, in the order taken in
	for _, ev := range events {
		switch {
		case ev.Terminate != nil:
			if ended {
				return r, fmt.Errorf("kadcheck: lookup from %d terminated twice", from)
			}
			ended = true
			r.followups = followups(self, depth, answered, ev.Key.Kad, k)
			if ev.Terminate.Reason == dht.LookupStarvation {
				r.starved = true
			} else if ev.Terminate.Reason != dht.LookupCompleted {
				return r, fmt.Errorf("kadcheck: lookup from %d ended: %s", from, ev.Terminate.Reason)
			}
		case ended:
			return r, fmt.Errorf("kadcheck: lookup from %d: event after its end", from)
		case ev.Request != nil:
			r.messages += len(ev.Request.Waiting)
			for _, w := range ev.Request.Waiting {
				if _, ok := index[w.Peer]; !ok {
					return r, fmt.Errorf("kadcheck: lookup from %d asked unknown peer %s", from, w.Peer)
				}
				sentAt[w.Peer] = taken
				seq[w.Peer] = len(seq)
			}
		case ev.Response != nil:
			up := ev.Response
			if up.Cause == nil {
				return r, fmt.Errorf("kadcheck: lookup from %d: response without a cause", from)
			}
			d, ok := depth[up.Cause.Peer]
			if !ok {
				return r, fmt.Errorf("kadcheck: lookup from %d: answer from %s, never heard of", from, up.Cause.Peer)
			}
			if len(up.Unreachable) > 0 {
				return r, fmt.Errorf("kadcheck: lookup from %d: %s unreachable on a mocknet", from, up.Cause.Peer)
			}
			a := answer{from: -1}
			if up.Cause.Peer != self {
				at, asked := sentAt[up.Cause.Peer]
				if !asked {
					return r, fmt.Errorf("kadcheck: lookup from %d: answer from %s, never asked", from, up.Cause.Peer)
				}
				delete(sentAt, up.Cause.Peer) // a second answer is an error
				answered[up.Cause.Peer] = true
				a.from = index[up.Cause.Peer]
				for _, q := range took {
					if q > seq[up.Cause.Peer] {
						r.inverted++
					}
				}
				r.pairs += len(took)
				took = append(took, seq[up.Cause.Peer])
				taken++
				r.order[a.from] = float64(taken - at)
			}
			for _, h := range up.Heard {
				if _, known := depth[h.Peer]; !known {
					depth[h.Peer] = d + 1
				}
				j, ok := index[h.Peer]
				if !ok {
					return r, fmt.Errorf("kadcheck: lookup from %d heard of unknown peer %s", from, h.Peer)
				}
				a.peers = append(a.peers, j)
			}
			for _, q := range up.Queried {
				r.hops = max(r.hops, depth[q.Peer])
			}
			if a.from >= 0 {
				r.answers = append(r.answers, a)
			}
		}
	}
	if !ended {
		return r, fmt.Errorf("kadcheck: lookup from %d has no termination event", from)
	}
	return r, nil
}

// followups counts the peers among the k closest to key of those known
// (depth holds every peer heard of, and self) that have not answered.
func followups(self peer.ID, depth map[peer.ID]int, answered map[peer.ID]bool, key kb.ID, k int) int {
	known := make([]peer.ID, 0, len(depth))
	for p := range depth {
		if p != self {
			known = append(known, p)
		}
	}
	n := 0
	for _, p := range kb.SortClosestPeers(known, key)[:min(k, len(known))] {
		if !answered[p] {
			n++
		}
	}
	return n
}
