package transfer

import (
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// ErrBusy means a memory budget refused a request; handlers answer wire.CodeBusy and the sender
// may retry later. Nothing queues: an exhausted budget fails at once.
var ErrBusy = errors.New("memory budget exhausted")

// BudgetLimits bounds the request bodies that handlers hold in memory at once.
type BudgetLimits struct {
	PerPeer   int64 // one peer identity, over all its streams
	PerSubnet int64 // all identities connecting from one /24 (IPv4) or /48 (IPv6)
	PerNode   int64 // everyone
}

// DefaultBudget returns the default limits:
//   - 64 MiB per peer: the largest body an honest request holds is a manifest put, a 16 MiB
//     manifest plus a 32 MiB locations record (48 MiB); the rest admits a few shard puts
//     (~1.3 MiB of buffers each for a 256 MiB shard) alongside it.
//   - 128 MiB per subnet: two such peers; identities are free, addresses are not, so a thousand
//     identities on one /24 get what two would.
//   - 256 MiB per node: held bodies never exceed this whatever the number of peers; it takes
//     two full subnets to exhaust it, and then requests get "busy" instead of memory.
func DefaultBudget() BudgetLimits {
	return BudgetLimits{PerPeer: 64 << 20, PerSubnet: 128 << 20, PerNode: 256 << 20}
}

// Budget charges request bodies a handler must hold in memory, per peer, per subnet and per
// node, and to the stream's scope in go-libp2p's resource manager, so libp2p's own limits
// (which also count yamux buffers) see them too.
type Budget struct {
	lim     BudgetLimits
	mu      sync.Mutex
	node    int64
	peers   map[peer.ID]int64
	subnets map[string]int64
}

// NewBudget returns an empty budget with limits l.
func NewBudget(l BudgetLimits) *Budget {
	return &Budget{lim: l, peers: map[peer.ID]int64{}, subnets: map[string]int64{}}
}

// Acquire reserves n bytes for a body read from st, before any of it is read. It fails at once,
// wrapping ErrBusy, if the peer's, its subnet's or the node's share is used up, or if the
// resource manager refuses the stream's reservation. release returns the bytes; it is safe to
// call more than once.
func (b *Budget) Acquire(st network.Stream, n int) (release func(), err error) {
	if n < 0 {
		return nil, fmt.Errorf("budget: negative reservation %d", n)
	}
	if n == 0 {
		return func() {}, nil
	}
	p := st.Conn().RemotePeer()
	sub := SubnetOf(st.Conn().RemoteMultiaddr())
	if err := b.take(p, sub, int64(n)); err != nil {
		return nil, err
	}
	if err := st.Scope().ReserveMemory(n, network.ReservationPriorityAlways); err != nil {
		b.give(p, sub, int64(n))
		return nil, fmt.Errorf("%w: resource manager refused %d bytes for %s: %v", ErrBusy, n, p.ShortString(), err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			st.Scope().ReleaseMemory(n)
			b.give(p, sub, int64(n))
		})
	}, nil
}

// Held returns the bytes currently reserved node-wide.
func (b *Budget) Held() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.node
}

func (b *Budget) take(p peer.ID, sub string, n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.peers[p]+n > b.lim.PerPeer:
		return fmt.Errorf("%w: peer %s holds %d of %d bytes, asks %d more", ErrBusy, p.ShortString(), b.peers[p], b.lim.PerPeer, n)
	case b.subnets[sub]+n > b.lim.PerSubnet:
		return fmt.Errorf("%w: subnet %q holds %d of %d bytes, asks %d more", ErrBusy, sub, b.subnets[sub], b.lim.PerSubnet, n)
	case b.node+n > b.lim.PerNode:
		return fmt.Errorf("%w: node holds %d of %d bytes, asks %d more", ErrBusy, b.node, b.lim.PerNode, n)
	}
	b.peers[p] += n
	b.subnets[sub] += n
	b.node += n
	return nil
}

func (b *Budget) give(p peer.ID, sub string, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.peers[p] -= n; b.peers[p] <= 0 {
		delete(b.peers, p)
	}
	if b.subnets[sub] -= n; b.subnets[sub] <= 0 {
		delete(b.subnets, sub)
	}
	b.node -= n
}

// SubnetOf names the /24 (IPv4) or /48 (IPv6) of a, e.g. "127.0.3.0/24", the unit that
// per-subnet limits count: identities are free, addresses less so. An address without an IP
// gives "" (all such peers share one subnet).
func SubnetOf(a ma.Multiaddr) string {
	if a == nil {
		return ""
	}
	ip, err := manet.ToIP(a)
	if err != nil {
		return ""
	}
	if v4 := ip.To4(); v4 != nil {
		return (&net.IPNet{IP: v4.Mask(net.CIDRMask(24, 32)), Mask: net.CIDRMask(24, 32)}).String()
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(48, 128)), Mask: net.CIDRMask(48, 128)}).String()
}
