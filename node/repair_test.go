package node_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node"
	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/testnet"
)

// fastNet starts n nodes whose audits, repair and other chores run every few seconds.
func fastNet(t *testing.T, n int) *testnet.Net {
	return testnet.Start(t, n, func(_ int, c *config.Config) { config.Fast(c) })
}

// nodeByID finds the running node with peer ID id.
func nodeByID(net *testnet.Net, id string) (int, *node.Node) {
	for i, nd := range net.Nodes {
		if nd.Host().ID().String() == id {
			return i, nd
		}
	}
	return -1, nil
}

// statFrom asks nd for the file's state, failing the test on error.
func statFrom(t *testing.T, nd *node.Node, capStr string) *api.StatResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := nd.Stat(ctx, capStr)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	return st
}

// With the uploader and n-k-1 holders gone, the stewards notice through their audits, rebuild
// the lost shards from the survivors without the uploader or the file key, place them, and get
// the new holders endorsed: the file comes back to n healthy shards and reads byte-identical.
func TestRepairWithoutUploader(t *testing.T) {
	if testing.Short() {
		t.Skip("repair needs several audit rounds")
	}
	net := fastNet(t, 9)
	up := net.Nodes[0]
	data := randomBytes(1<<20-777, 41) // one segment: the killed holders hit it all
	res, err := up.Put(ctxT(t), bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 5})
	if err != nil {
		t.Fatal(err)
	}
	st := statFrom(t, net.Nodes[1], res.Cap)
	upID := up.Host().ID().String()
	// Kill the uploader and two holders that are not stewards (a steward majority must survive
	// to endorse the repair: losing it at once is a limit the README states).
	// At most two of the five stewards die, so a majority survives to endorse the repair.
	dead := map[string]bool{upID: true}
	stewardsDead := 0
	if slices.Contains(st.Stewards, upID) {
		stewardsDead++
	}
	for pass := range 2 { // non-stewards first
		for _, s := range st.Segments[0].Shards {
			stew := slices.Contains(st.Stewards, s.Holder)
			if len(dead) == 3 || dead[s.Holder] || stew != (pass == 1) || stew && 2*(stewardsDead+1) >= len(st.Stewards) {
				continue
			}
			if stew {
				stewardsDead++
			}
			dead[s.Holder] = true
		}
	}
	if len(dead) < 3 {
		t.Fatalf("cannot kill two holders while a steward majority survives (%d)", len(dead)-1)
	}
	for id := range dead {
		if _, nd := nodeByID(net, id); nd != nil {
			nd.Close()
		}
	}
	var reader *node.Node
	for _, nd := range net.Nodes {
		if !dead[nd.Host().ID().String()] {
			reader = nd
			break
		}
	}
	waitFor(t, 3*time.Minute, "every shard healthy again", func() bool {
		s := statFrom(t, reader, res.Cap)
		return s.FullHealth && s.LastRepair > 0
	})
	var out bytes.Buffer
	if err := reader.Get(ctxT(t), res.Cap, &out, func(int64) {}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatal("repaired file differs from the original")
	}
}

// A steward that dies is replaced by the next closest node: a majority of the others signs the
// next steward set, and the newcomer gets the manifest and serves it.
func TestDeadStewardIsReplaced(t *testing.T) {
	net := fastNet(t, 8)
	up := net.Nodes[0]
	_, res := putRandom(t, up, 1<<20, 81)
	before := statFrom(t, up, res.Cap).Stewards
	var gone string
	for _, s := range before {
		if s != up.Host().ID().String() {
			gone = s
			break
		}
	}
	_, nd := nodeByID(net, gone)
	nd.Close()
	waitFor(t, 90*time.Second, "a new steward serving the manifest", func() bool {
		for _, s := range statFrom(t, up, res.Cap).Stewards {
			if !slices.Contains(before, s) {
				return true
			}
		}
		return false
	})
}
