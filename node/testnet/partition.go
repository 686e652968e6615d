package testnet

import (
	"sync"
	"testing"

	"github.com/cairn-storage/cairn/node/repo"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// partition is the connection gater every test node gets: it refuses connections between
// peers on different sides of the current cut, in both directions, at dial and at handshake.
type partition struct {
	mu   sync.RWMutex
	side map[peer.ID]int // nil: no cut
}

// gater is one node's view of the shared partition.
type gater struct {
	p    *partition
	self peer.ID
}

// gaterFor returns the gater of the node whose repo is r.
func (n *Net) gaterFor(t testing.TB, r *repo.Repo) *gater {
	t.Helper()
	priv, err := r.Identity()
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return &gater{p: &n.cut, self: id}
}

func (p *partition) blocked(a, b peer.ID) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.side == nil {
		return false
	}
	sa, oka := p.side[a]
	sb, okb := p.side[b]
	return oka && okb && sa != sb
}

func (g *gater) InterceptPeerDial(p peer.ID) bool                 { return !g.p.blocked(g.self, p) }
func (g *gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !g.p.blocked(g.self, p) }
func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool      { return true }
func (g *gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !g.p.blocked(g.self, p)
}
func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// Partition cuts the network in two: nodes in side (indices into Nodes) can no longer reach
// the others, nor they them. Existing connections across the cut are closed.
func (n *Net) Partition(t testing.TB, side ...int) {
	t.Helper()
	in := map[int]bool{}
	for _, i := range side {
		in[i] = true
	}
	cut := map[peer.ID]int{}
	for i, nd := range n.Nodes {
		if in[i] {
			cut[nd.Host().ID()] = 1
		} else {
			cut[nd.Host().ID()] = 0
		}
	}
	n.cut.mu.Lock()
	n.cut.side = cut
	n.cut.mu.Unlock()
	for _, nd := range n.Nodes {
		for _, c := range nd.Host().Network().Conns() {
			if n.cut.blocked(nd.Host().ID(), c.RemotePeer()) {
				c.Close()
			}
		}
	}
}

// Heal removes the cut; nodes reconnect as they dial each other again.
func (n *Net) Heal() {
	n.cut.mu.Lock()
	n.cut.side = nil
	n.cut.mu.Unlock()
}
