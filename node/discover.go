package node

import (
	"context"
	"crypto/rand"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/reputation"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// infoTimeout bounds how long a candidate may take to say how much space it has.
const infoTimeout = 3 * time.Second

// candidate is a node that may receive shards: its advertised free space and diversity domain.
type candidate struct {
	id     peer.ID
	subnet string
	free   int64
}

// discover finds live nodes that could hold shards: the routing table, current connections and a
// DHT walk toward a random key (which reaches beyond our own neighbourhood), plus this node. Each
// is asked for its free capacity; the ones that do not answer in time are left out.
func (n *Node) discover(ctx context.Context) []candidate {
	set := map[peer.ID]bool{n.host.ID(): true}
	for _, p := range n.dht.RoutingTable().ListPeers() {
		set[p] = true
	}
	for _, p := range n.host.Network().Peers() {
		set[p] = true
	}
	var key [32]byte
	_, _ = rand.Read(key[:])
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if closest, err := n.dht.GetClosestPeers(wctx, string(key[:])); err == nil {
		for _, p := range closest {
			set[p] = true
		}
	}
	cancel()

	var (
		mu  sync.Mutex
		out []candidate
		wg  sync.WaitGroup
	)
	for p := range set {
		wg.Add(1)
		go func(p peer.ID) {
			defer wg.Done()
			ictx, cancel := context.WithTimeout(ctx, infoTimeout)
			defer cancel()
			info, err := n.xfer.Info(ictx, p)
			if err != nil {
				n.log.Debug("candidate did not answer", "peer", p, "err", err)
				return
			}
			mu.Lock()
			out = append(out, candidate{id: p, subnet: n.subnetOf(p), free: info.Free})
			mu.Unlock()
		}(p)
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// subnetOf names p's failure domain: the /24 (IPv4) or /48 (IPv6) of the address we reach it on,
// as Storj does, so one operator's many nodes on one network do not hold a whole segment.
func (n *Node) subnetOf(p peer.ID) string {
	var addrs []ma.Multiaddr
	if p == n.host.ID() {
		addrs = n.host.Addrs()
	} else {
		for _, c := range n.host.Network().ConnsToPeer(p) {
			addrs = append(addrs, c.RemoteMultiaddr())
		}
		addrs = append(addrs, n.host.Peerstore().Addrs(p)...)
	}
	for _, a := range addrs {
		ip, err := manet.ToIP(a)
		if err != nil {
			continue
		}
		if v4 := ip.To4(); v4 != nil {
			return (&net.IPNet{IP: v4.Mask(net.CIDRMask(24, 32)), Mask: net.CIDRMask(24, 32)}).String()
		}
		return (&net.IPNet{IP: ip.Mask(net.CIDRMask(48, 128)), Mask: net.CIDRMask(48, 128)}).String()
	}
	return ""
}

// toReputation turns discovered nodes into placement candidates scored by this node's own book:
// disqualified and suspended nodes get score 0 and so nothing new.
func (n *Node) toReputation(cands []candidate) []reputation.Candidate {
	out := make([]reputation.Candidate, len(cands))
	for i, c := range cands {
		out[i] = reputation.Candidate{ID: reputation.NodeID(c.id), Subnet: c.subnet, Free: c.free}
		n.scores.placement(&out[i])
		if c.id == n.host.ID() {
			out[i].Vetted = true // a node trusts its own disk; nobody audits it for itself
		}
	}
	return out
}

// unvettedShare is the configured share of placements for nodes not yet vetted.
func (n *Node) unvettedShare() float64 {
	pct := n.repo.Config.Maintenance.UnvettedSharePercent
	if pct <= 0 {
		return -1 // none while vetted nodes suffice
	}
	return float64(pct) / 100
}
