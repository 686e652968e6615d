// Package dht sets up Cairn's Kademlia DHT (go-libp2p-kad-dht under Cairn's own protocol prefix,
// never the public IPFS DHT) and holds keyspace helpers: which peers are responsible for a CID.
package dht

import (
	"context"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	kad "github.com/libp2p/go-libp2p-kad-dht"
	kb "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Config configures the DHT.
type Config struct {
	// Prefix is the protocol prefix, e.g. "/cairn"; the DHT speaks "<prefix>/kad/1.0.0".
	Prefix string
	// Bootstrap peers to join through.
	Bootstrap []peer.AddrInfo
	// RefreshPeriod is how often the routing table is refreshed (kad-dht's default is 10 min).
	RefreshPeriod time.Duration
}

// New starts a DHT in server mode: every Cairn node stores and answers, there are no clients.
// kad-dht's defaults for a custom prefix accept private and loopback addresses, so a Cairn
// network may live on one machine.
func New(h host.Host, c Config) (*kad.IpfsDHT, error) {
	if c.Prefix == "" {
		return nil, fmt.Errorf("dht: empty protocol prefix")
	}
	opts := []kad.Option{
		kad.Mode(kad.ModeServer),
		kad.ProtocolPrefix(protocol.ID(c.Prefix)),
		kad.BootstrapPeers(c.Bootstrap...),
		kad.BucketSize(20),
		kad.Concurrency(10),
	}
	if c.RefreshPeriod > 0 {
		opts = append(opts, kad.RoutingTableRefreshPeriod(c.RefreshPeriod))
	}
	return kad.New(h, opts...)
}

// Key is the DHT key of a CID: its multihash, as kad-dht uses for provider records.
func Key(c cid.Cid) string { return string(c.Hash()) }

// Closest orders peers by XOR distance to key, closest first, and returns at most n. It is pure:
// callers pass the candidate set (the result of a lookup, plus themselves if they qualify).
func Closest(peers []peer.ID, key string, n int) []peer.ID {
	seen := make(map[peer.ID]bool, len(peers))
	uniq := make([]peer.ID, 0, len(peers))
	for _, p := range peers {
		if !seen[p] {
			seen[p] = true
			uniq = append(uniq, p)
		}
	}
	sorted := kb.SortClosestPeers(uniq, kb.ConvertKey(key))
	if len(sorted) > n {
		sorted = sorted[:n]
	}
	return sorted
}

// Stewards returns the n peers responsible for key among the network's closest peers and self.
func Stewards(ctx context.Context, d *kad.IpfsDHT, key string, n int) ([]peer.ID, error) {
	closest, err := d.GetClosestPeers(ctx, key)
	if err != nil && len(closest) == 0 {
		return nil, fmt.Errorf("find closest peers: %w", err)
	}
	return Closest(append(closest, d.PeerID()), key, n), nil
}
