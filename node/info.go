package node

import (
	"context"
	"sort"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/libp2p/go-libp2p/core/peer"
)

var _ api.Backend = (*Node)(nil)

// List returns the files put through this node.
func (n *Node) List(context.Context) ([]api.ListEntry, error) { return n.uploads.list() }

// ID describes this node.
func (n *Node) ID(context.Context) (*api.IDResult, error) {
	ai := peer.AddrInfo{ID: n.host.ID(), Addrs: n.host.Addrs()}
	full, err := peer.AddrInfoToP2pAddrs(&ai)
	if err != nil {
		return nil, err
	}
	addrs := make([]string, len(full))
	for i, a := range full {
		addrs[i] = a.String()
	}
	return &api.IDResult{PeerID: n.host.ID().String(), Addresses: addrs, Agent: Agent,
		Free: n.store.Free(), Capacity: n.store.Capacity(), Used: n.store.Used()}, nil
}

// Peers lists connected peers and marks those in the Kademlia routing table.
func (n *Node) Peers(context.Context) ([]api.PeerInfo, error) {
	inRT := map[peer.ID]bool{}
	for _, p := range n.dht.RoutingTable().ListPeers() {
		inRT[p] = true
	}
	seen := map[peer.ID]bool{}
	var out []api.PeerInfo
	add := func(p peer.ID) {
		if seen[p] || p == n.host.ID() {
			return
		}
		seen[p] = true
		pi := api.PeerInfo{PeerID: p.String(), InRoutingTable: inRT[p], Address: []string{}}
		for _, c := range n.host.Network().ConnsToPeer(p) {
			pi.Address = append(pi.Address, c.RemoteMultiaddr().String())
		}
		out = append(out, pi)
	}
	for _, p := range n.host.Network().Peers() {
		add(p)
	}
	for p := range inRT {
		add(p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PeerID < out[j].PeerID })
	if out == nil {
		out = []api.PeerInfo{}
	}
	return out, nil
}
