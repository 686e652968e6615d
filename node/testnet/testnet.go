// Package testnet starts real Cairn nodes in one process on loopback, each on its own
// 127.0.i.1 address, bootstrapped into one network: the harness for integration tests.
package testnet

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/repo"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Net is a running in-process network.
type Net struct {
	Nodes []*node.Node
	Repos []*repo.Repo
	cut   partition // Partition and Heal set it; every node's gater reads it
}

// Config returns the config of test node i (1-based): loopback only, no fsync, small segments.
func Config(i int) config.Config {
	cfg := config.Loopback(i)
	cfg.Storage.Sync = false
	cfg.Put.SegmentSize = 1 << 20
	return cfg
}

// Start brings up n nodes and waits until each has every other in its routing table (n <= 21).
func Start(t testing.TB, n int, adjust func(i int, c *config.Config)) *Net {
	t.Helper()
	ctx := context.Background()
	net := &Net{}
	var boot []string

	for i := 1; i <= n; i++ {
		cfg := Config(i)
		if adjust != nil {
			adjust(i, &cfg)
		}
		r, err := repo.Init(filepath.Join(t.TempDir(), fmt.Sprintf("node-%d", i)), cfg)
		if err != nil {
			t.Fatal(err)
		}
		nd, err := node.New(ctx, r, node.Options{Bootstrap: boot, Gater: net.gaterFor(t, r)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nd.Close() })
		if i == 1 {
			ai := peer.AddrInfo{ID: nd.Host().ID(), Addrs: nd.Host().Addrs()}
			addrs, _ := peer.AddrInfoToP2pAddrs(&ai)
			for _, a := range addrs {
				boot = append(boot, a.String())
			}
		}
		net.Nodes = append(net.Nodes, nd)
		net.Repos = append(net.Repos, r)
	}
	want := min(n-1, 20)
	deadline := time.Now().Add(30 * time.Second)
	for _, nd := range net.Nodes {
		for nd.DHT().RoutingTable().Size() < want {
			if time.Now().After(deadline) {
				t.Fatalf("node %s has %d peers in its routing table, want %d", nd.Host().ID(), nd.DHT().RoutingTable().Size(), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return net
}
