package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node"
	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/repo"
	"github.com/cairn-storage/cairn/node/testnet"
	"github.com/ipfs/go-cid"
)

// knownPeerCount reads how many peers a repo's peers.json remembers.
func knownPeerCount(t *testing.T, r *repo.Repo) int {
	b, err := os.ReadFile(filepath.Join(r.Path, repo.PeersFile))
	if err != nil {
		return 0
	}
	var f struct {
		Peers []struct {
			ID string `json:"id"`
		} `json:"peers"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", repo.PeersFile, err)
	}
	return len(f.Peers)
}

func TestRestartedNodeRejoinsFromKnownPeers(t *testing.T) {
	// Nodes join through Options.Bootstrap only: nothing in any config says where the network is,
	// and the restarted node comes back on a new kernel-chosen port no peer knows.
	net := testnet.Start(t, 4, nil)
	nd := net.Restart(t, 2)
	if knownPeerCount(t, net.Repos[2]) != 3 {
		t.Fatalf("peers.json of the stopped node remembers %d peers, want 3", knownPeerCount(t, net.Repos[2]))
	}
	net.WaitRouting(t, 3, 30*time.Second)
	if got := len(nd.Host().Network().Peers()); got < 3 {
		t.Fatalf("restarted node is connected to %d peers, want 3", got)
	}
}

// manifestsOf lists the manifest CIDs a node's store holds.
func manifestsOf(t *testing.T, n *node.Node) []cid.Cid {
	var out []cid.Cid
	err := n.Store().List(func(c cid.Cid, _ int64) error {
		if c.Type() == codec.CodecJSON || c.Type() == codec.CodecCBOR {
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWholeNetworkRestartsAndReprovides(t *testing.T) {
	const nodes = 5
	fixed := testnet.FixedPorts(t)
	net := testnet.Start(t, nodes, func(i int, c *config.Config) {
		fixed(i, c)
		c.Put.ManifestReplicas = 2 // leave nodes that are not stewards, to look for providers from
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	data := randomBytes(300<<10, 7)
	res, err := net.Nodes[0].Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4})
	if err != nil {
		t.Fatal(err)
	}
	// peers.json is written periodically, not only on a clean stop.
	for i, r := range net.Repos {
		for deadline := time.Now().Add(10 * time.Second); knownPeerCount(t, r) < nodes-1; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("node %d remembers %d peers after 10 s, want %d", i, knownPeerCount(t, r), nodes-1)
			}
		}
	}

	// Every node stops; they come back one by one, the bootstrap node last, each finding the
	// others only through peers.json at their fixed addresses.
	for i := range net.Nodes {
		net.Stop(t, i)
	}
	for i := nodes - 1; i >= 0; i-- {
		net.StartAgain(t, i)
	}
	net.WaitRouting(t, nodes-1, 30*time.Second)

	var out bytes.Buffer
	if err := net.Nodes[nodes-1].Get(ctx, res.Cap, &out, nil); err != nil {
		t.Fatalf("get after every node restarted: %v", err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("got %d bytes, differ from the %d put", out.Len(), len(data))
	}

	// Restarts wiped every provider record (kad-dht keeps them in memory): the stewards'
	// re-announcement on joining is what a node that is not a steward finds now.
	var asker *node.Node
	var man cid.Cid
	for _, n := range net.Nodes {
		if ms := manifestsOf(t, n); len(ms) > 0 {
			man = ms[0]
		} else {
			asker = n
		}
	}
	if asker == nil || !man.Defined() {
		t.Fatalf("want a steward and a node that is not one (asker %v, manifest %v)", asker, man)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		fctx, fcancel := context.WithTimeout(ctx, 5*time.Second)
		provs, err := asker.DHT().FindProviders(fctx, man)
		fcancel()
		if err == nil && len(provs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no provider of manifest %s found 10 s after restart (err %v)", man, err)
		}
	}
}
