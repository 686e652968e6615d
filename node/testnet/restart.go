package testnet

import (
	"context"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/repo"
)

// FixedPorts is an adjust func for Start: node i listens on a port picked free now on its
// 127.0.i.1 (the same number for TCP and QUIC), as devnet does, so it comes back at the same
// address after a restart; every interval is shortened by config.Fast.
func FixedPorts(t testing.TB) func(i int, c *config.Config) {
	return func(i int, c *config.Config) {
		port, err := config.FreePort(config.LoopbackIP(i))
		if err != nil {
			t.Fatal(err)
		}
		c.Network.Listen = config.LoopbackListen(i, port)
		config.Fast(c)
	}
}

// Stop closes node i (0-based index into Nodes), as a shutdown would; its repo stays.
func (n *Net) Stop(t testing.TB, i int) {
	t.Helper()
	if err := n.Nodes[i].Close(); err != nil {
		t.Fatalf("close node %d: %v", i, err)
	}
}

// StartAgain starts a new node on node i's repo, re-read from disk, with no bootstrap flags:
// it finds the network only through its config and the peers it remembered.
func (n *Net) StartAgain(t testing.TB, i int) *node.Node {
	t.Helper()
	r, err := repo.Open(n.Repos[i].Path)
	if err != nil {
		t.Fatal(err)
	}
	nd, err := node.New(context.Background(), r, node.Options{Gater: n.gaterFor(t, r)})
	if err != nil {
		t.Fatalf("restart node %d: %v", i, err)
	}
	t.Cleanup(func() { nd.Close() })
	n.Nodes[i], n.Repos[i] = nd, r
	return nd
}

// Restart closes node i and starts a new node on its repo.
func (n *Net) Restart(t testing.TB, i int) *node.Node {
	t.Helper()
	n.Stop(t, i)
	return n.StartAgain(t, i)
}

// WaitRouting waits until every node has want peers in its routing table, or fails t.
func (n *Net) WaitRouting(t testing.TB, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for i, nd := range n.Nodes {
		for nd.DHT().RoutingTable().Size() < want {
			if time.Now().After(deadline) {
				t.Fatalf("node %d (%s) has %d peers in its routing table after %s, want %d",
					i, nd.Host().ID(), nd.DHT().RoutingTable().Size(), timeout, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
