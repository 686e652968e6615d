package node

import (
	"context"
	"sort"
	"time"

	"github.com/cairn-storage/cairn/reputation"

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

// Peers lists the peers this node is connected to, has in its routing table, or has scored, with
// this node's own view of their reputation.
func (n *Node) Peers(context.Context) ([]api.PeerInfo, error) {
	inRT := map[peer.ID]bool{}
	for _, p := range n.dht.RoutingTable().ListPeers() {
		inRT[p] = true
	}
	seen := map[peer.ID]bool{}
	var out []api.PeerInfo
	now := time.Now().Unix()
	add := func(p peer.ID) {
		if seen[p] || p == n.host.ID() {
			return
		}
		seen[p] = true
		pi := api.PeerInfo{ID: p.String(), PeerID: p.String(), InRoutingTable: inRT[p], Address: []string{}}
		for _, c := range n.host.Network().ConnsToPeer(p) {
			pi.Address = append(pi.Address, c.RemoteMultiaddr().String())
		}
		pi.Connected = len(pi.Address) > 0
		r, params, _ := n.scores.record(p)
		fillScores(&pi, r, params, now)
		out = append(out, pi)
	}
	for _, p := range n.host.Network().Peers() {
		add(p)
	}
	for p := range inRT {
		add(p)
	}
	for _, p := range n.scores.peers() {
		add(p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PeerID < out[j].PeerID })
	if out == nil {
		out = []api.PeerInfo{}
	}
	return out, nil
}

// fillScores copies a reputation record into the API's view of a peer.
func fillScores(pi *api.PeerInfo, r reputation.Record, p reputation.Params, now int64) {
	if !r.Started {
		r = p.NewRecord()
	}
	st := p.Status(r, now)
	pi.Score = fixedFloat(r.Score())
	pi.Suspension = fixedFloat(r.Suspension())
	pi.Hearsay = fixedFloat(p.Hearsay(r, now))
	pi.Rank = p.PlacementScore(r, now)
	pi.Status = st.String()
	pi.Vetted = r.Vetted
	pi.Disqualified = st == reputation.Disqualified
	pi.AuditsPassed, pi.AuditsFailed, pi.AuditsTimedOut = r.AuditsPassed, r.AuditsFailed, r.AuditsTimedOut
	pi.Throughput, pi.LastSeen = r.Throughput, r.LastSeen
}

func fixedFloat(f reputation.Fixed) float64 { return float64(f) / float64(reputation.One) }
