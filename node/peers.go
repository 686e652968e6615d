package node

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// A node remembers the peers it was connected to in the repo's peers.json, as Kubo keeps backup
// bootstrap peers, so after a restart it finds the network again even when its configured
// bootstrap peers are gone.
const (
	maxKnownPeers = 64 // most recently connected first; older ones drop off
	maxPeerAddrs  = 8  // per peer, so one peer with many addresses cannot bloat the file
)

// knownPeer is one entry of peers.json.
type knownPeer struct {
	ID    peer.ID   `json:"id"`
	Addrs []string  `json:"addrs"`
	Seen  time.Time `json:"seen"` // when this node was last connected to it
}

type peersFile struct {
	Peers []knownPeer `json:"peers"`
}

// knownPeers is the in-memory list behind peers.json.
type knownPeers struct {
	mu    sync.Mutex
	peers []knownPeer
}

// decodeKnownPeers parses peers.json, keeping at most maxKnownPeers entries.
func decodeKnownPeers(b []byte) ([]knownPeer, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var f peersFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("decode known peers: %w", err)
	}
	return mergeKnown(nil, f.Peers, maxKnownPeers), nil
}

func encodeKnownPeers(ps []knownPeer) ([]byte, error) {
	if ps == nil {
		ps = []knownPeer{}
	}
	return json.MarshalIndent(peersFile{Peers: ps}, "", "  ")
}

// mergeKnown returns fresh and old together, one entry per peer (the newer one), entries
// without a valid ID or any address dropped, most recently seen first, at most limit.
func mergeKnown(old, fresh []knownPeer, limit int) []knownPeer {
	byID := make(map[peer.ID]knownPeer, len(old)+len(fresh))
	for _, p := range append(append([]knownPeer{}, old...), fresh...) {
		if p.ID.Validate() != nil {
			continue
		}
		p.Addrs = cleanAddrs(p.Addrs)
		if len(p.Addrs) == 0 {
			continue
		}
		if have, ok := byID[p.ID]; !ok || !p.Seen.Before(have.Seen) {
			byID[p.ID] = p
		}
	}
	out := make([]knownPeer, 0, len(byID))
	for _, p := range byID {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b knownPeer) int {
		if c := b.Seen.Compare(a.Seen); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out[:min(len(out), max(limit, 0))]
}

// cleanAddrs keeps the first maxPeerAddrs parseable addresses, in canonical form, without
// duplicates or a /p2p part (the entry's ID says whose they are).
func cleanAddrs(in []string) []string {
	var out []string
	for _, s := range in {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			continue
		}
		a, _ = ma.SplitFunc(a, func(c ma.Component) bool { return c.Protocol().Code == ma.P_P2P })
		if len(a) == 0 || slices.Contains(out, a.String()) {
			continue
		}
		if out = append(out, a.String()); len(out) == maxPeerAddrs {
			break
		}
	}
	return out
}

// addrInfos converts entries to dialable peers, skipping self.
func addrInfos(ps []knownPeer, self peer.ID) []peer.AddrInfo {
	var out []peer.AddrInfo
	for _, p := range ps {
		if p.ID == self {
			continue
		}
		ai := peer.AddrInfo{ID: p.ID}
		for _, s := range p.Addrs {
			if a, err := ma.NewMultiaddr(s); err == nil {
				ai.Addrs = append(ai.Addrs, a)
			}
		}
		if len(ai.Addrs) > 0 {
			out = append(out, ai)
		}
	}
	return out
}

// loadKnownPeers reads peers.json. A missing or unreadable file means starting without it: it
// is a cache, never a reason not to start.
func (n *Node) loadKnownPeers() {
	b, err := n.repo.ReadPeers()
	if err == nil {
		var ps []knownPeer
		if ps, err = decodeKnownPeers(b); err == nil {
			n.known.peers = ps
			return
		}
	}
	n.log.Warn("ignoring known peers file", "repo", n.repo.Path, "err", err)
}

// knownAddrInfos are the remembered peers, most recently connected first.
func (n *Node) knownAddrInfos() []peer.AddrInfo {
	n.known.mu.Lock()
	defer n.known.mu.Unlock()
	return addrInfos(n.known.peers, n.host.ID())
}

// connectedPeers are the routing-table peers this node is connected to now, with the addresses
// they announce: Cairn nodes that answered, worth dialling after a restart.
func (n *Node) connectedPeers(now time.Time) []knownPeer {
	var out []knownPeer
	for _, p := range n.dht.RoutingTable().ListPeers() {
		if n.host.Network().Connectedness(p) != network.Connected {
			continue
		}
		kp := knownPeer{ID: p, Seen: now}
		for _, a := range n.host.Peerstore().Addrs(p) {
			kp.Addrs = append(kp.Addrs, a.String())
		}
		out = append(out, kp)
	}
	return out
}

// savePeers merges the peers connected now into the known list and writes peers.json.
func (n *Node) savePeers() error {
	fresh := n.connectedPeers(time.Now())
	n.known.mu.Lock()
	defer n.known.mu.Unlock()
	n.known.peers = mergeKnown(n.known.peers, fresh, maxKnownPeers)
	b, err := encodeKnownPeers(n.known.peers)
	if err != nil {
		return err
	}
	return n.repo.WritePeers(b)
}
