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
	upID := up.Host().ID().String()
	// Kill the uploader and two holders, with a majority of the steward set surviving to endorse
	// the repair (losing it at once is a limit the README states). Placement is random, so try a
	// few files until one allows that.
	var (
		data []byte
		res  *api.PutResult
		dead map[string]bool
	)
	for try := range 3 {
		data = randomBytes(1<<20-777, uint64(41+try)) // one segment: the killed holders hit it all
		var err error
		if res, err = up.Put(ctxT(t), bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 5}); err != nil {
			t.Fatal(err)
		}
		st := statFrom(t, net.Nodes[1], res.Cap)
		var hs []string
		for _, s := range st.Segments[0].Shards {
			hs = append(hs, s.Holder)
		}
		if victims, ok := pickVictims(hs, upID, st.StewardSet, 2); ok {
			dead = map[string]bool{upID: true}
			for _, v := range victims {
				dead[v] = true
			}
			break
		}
	}
	if dead == nil {
		t.Fatal("no file of three allowed killing two holders while a steward majority survives")
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

// pickVictims chooses m holders other than up to kill along with up, such that a strict
// majority of the steward set survives; non-stewards first.
func pickVictims(holders []string, up string, set []string, m int) ([]string, bool) {
	stewardsDead := 0
	if slices.Contains(set, up) {
		stewardsDead++
	}
	var out []string
	for pass := range 2 {
		for _, h := range holders {
			stew := slices.Contains(set, h)
			if len(out) == m || h == up || slices.Contains(out, h) || stew != (pass == 1) {
				continue
			}
			if stew {
				if 2*(stewardsDead+1) >= len(set) {
					continue
				}
				stewardsDead++
			}
			out = append(out, h)
		}
	}
	return out, len(out) == m
}
