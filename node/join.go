package node

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

const (
	joinDialTimeout = 5 * time.Second        // one dial to one candidate
	joinDialConc    = 16                     // candidates dialled at once
	joinFirstRetry  = 100 * time.Millisecond // first backoff after no candidate answered
)

// stayJoined keeps the node in the network: whenever its routing table is empty (at start, or
// after every peer restarted) it dials its candidates, retrying with backoff up to reconnect,
// and otherwise looks again every reconnect. It returns when the node closes.
func (n *Node) stayJoined(reconnect time.Duration) {
	delay := joinFirstRetry
	for {
		wait := reconnect
		if n.dht.RoutingTable().Size() > 0 {
			n.markJoined()
			delay = joinFirstRetry
		} else if n.join() {
			n.markJoined()
		} else {
			wait = min(delay, reconnect)
			delay = min(2*delay, reconnect)
		}
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// markJoined records that the routing table has had a peer, which starts the reprovide chore.
func (n *Node) markJoined() { n.joinOnce.Do(func() { close(n.joined) }) }

// join dials every candidate concurrently and, as soon as one connects, fills the routing table.
// It reports whether any candidate answered.
func (n *Node) join() bool {
	cands := joinCandidates(n.boot, n.knownAddrInfos(), n.host.ID())
	if len(cands) == 0 || !n.dialAny(cands) {
		return false
	}
	if err := n.dht.Bootstrap(n.ctx); err != nil {
		n.log.Warn("dht bootstrap", "err", err)
	}
	// A refresh right away (rather than kad-dht's 10-minute period) lets a new node learn the
	// network's other members within a second.
	select {
	case <-n.dht.ForceRefresh():
	case <-n.ctx.Done():
	}
	return n.dht.RoutingTable().Size() > 0
}

// joinCandidates are the configured bootstrap peers, then the remembered ones, one entry per
// peer with its addresses merged, never self.
func joinCandidates(boot, known []peer.AddrInfo, self peer.ID) []peer.AddrInfo {
	var out []peer.AddrInfo
	index := map[peer.ID]int{}
	for _, ai := range append(append([]peer.AddrInfo{}, boot...), known...) {
		if ai.ID == self || ai.ID == "" {
			continue
		}
		if i, ok := index[ai.ID]; ok {
			out[i].Addrs = append(out[i].Addrs, ai.Addrs...)
			continue
		}
		index[ai.ID] = len(out)
		out = append(out, peer.AddrInfo{ID: ai.ID, Addrs: append(ai.Addrs[:0:0], ai.Addrs...)})
	}
	return out
}

// dialAny dials cands, joinDialConc at a time, and returns true as soon as one connects, or
// false once all failed. Dials still running go on in the background (more peers help).
func (n *Node) dialAny(cands []peer.AddrInfo) bool {
	ok := make(chan struct{}, len(cands))
	failed := make(chan struct{}, len(cands))
	sem := make(chan struct{}, joinDialConc)
	n.wg.Add(len(cands))
	for _, ai := range cands {
		go func() {
			defer n.wg.Done()
			select {
			case sem <- struct{}{}:
			case <-n.ctx.Done():
				failed <- struct{}{}
				return
			}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(n.ctx, joinDialTimeout)
			defer cancel()
			if err := n.host.Connect(ctx, ai); err != nil {
				n.log.Debug("join: connect failed", "peer", ai.ID, "err", err)
				failed <- struct{}{}
				return
			}
			ok <- struct{}{}
		}()
	}
	for range cands {
		select {
		case <-ok:
			return true
		case <-failed:
		}
	}
	return false
}
