package node_test

import (
	"bytes"
	"context"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node"
	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/testnet"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/ipfs/go-cid"
)

// putRandom stores size random bytes (from seed) through n, 2-of-4, and returns them with the result.
func putRandom(t *testing.T, n *node.Node, size int, seed uint64) ([]byte, *api.PutResult) {
	t.Helper()
	data := randomBytes(size, seed)
	res, err := n.Put(ctxT(t), bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4})
	if err != nil {
		t.Fatal(err)
	}
	return data, res
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A shutdown in the middle of a put finishes the rollback before Close returns: no holder keeps
// a shard of the file, without waiting for any garbage collection.
func TestShutdownMidPutRollsBack(t *testing.T) {
	net := testnet.Start(t, 5, nil)
	up := net.Nodes[0]
	const size = 12 << 20 // 12 segments of 1 MiB
	pr, pw := io.Pipe()
	go func() {
		// Three segments, then stall: the put is mid-way when the node shuts down.
		_, _ = pw.Write(randomBytes(3<<20, 5))
	}()
	errc := make(chan error, 1)
	go func() {
		_, err := up.Put(context.Background(), pr, size, api.PutOptions{K: 2, N: 4})
		errc <- err
	}()
	waitFor(t, 30*time.Second, "shards on the holders", func() bool { return totalUsed(net) > 1<<20 })
	if err := up.Close(); err != nil {
		t.Fatal(err)
	}
	pw.CloseWithError(io.ErrClosedPipe)
	if err := <-errc; err == nil {
		t.Fatal("put succeeded across a shutdown")
	}
	for i, n := range net.Nodes[1:] {
		if u := n.Store().Used(); u != 0 {
			t.Errorf("node %d still holds %d bytes after the uploader shut down", i+2, u)
		}
	}
}

// Shards an uploader placed but never published (it died before the manifest) are collected
// after the orphan lease; a published file's shards are confirmed and kept.
func TestOrphanedShardsAreCollected(t *testing.T) {
	net := testnet.Start(t, 4, func(i int, c *config.Config) {
		config.Fast(c)
		c.Intervals.OrphanLease = config.Duration(2 * time.Second)
	})
	ctx := ctxT(t)
	// A published file first: it must survive several leases.
	data, res := putRandom(t, net.Nodes[0], 3<<20, 11)
	usedAfterPut := make([]int64, len(net.Nodes))
	for i, n := range net.Nodes {
		usedAfterPut[i] = n.Store().Used()
	}

	// An "uploader" (node 1's transfer client, bypassing Put) stores two shards on node 3 and
	// dies: one never named in a receipt, one claimed for a manifest that was never published.
	holder := net.Nodes[2]
	orphan := randomBytes(200_000, 12)
	claimed := randomBytes(150_000, 13)
	tok := [32]byte{1}
	dh := codec.DeleteHash(tok)
	xfer := net.Nodes[0].Transfer()
	for _, b := range [][]byte{orphan, claimed} {
		if err := xfer.PutShard(ctx, holder.Host().ID(), codec.ShardCID(b), b, dh); err != nil {
			t.Fatal(err)
		}
	}
	ghost := codec.BlobCID(codec.CodecCBOR, []byte("a manifest nobody published"))
	if _, err := xfer.RequestReceipt(ctx, holder.Host().ID(), ghost,
		[]transfer.ReceiptItem{{Position: 0, Shard: codec.ShardCID(claimed), DeleteHash: dh}}, false); err != nil {
		t.Fatal(err)
	}
	if !holder.Store().Has(codec.ShardCID(orphan)) || !holder.Store().Has(codec.ShardCID(claimed)) {
		t.Fatal("shards not stored")
	}
	waitFor(t, 30*time.Second, "the orphaned shards to be collected", func() bool {
		return !holder.Store().Has(codec.ShardCID(orphan)) && !holder.Store().Has(codec.ShardCID(claimed))
	})
	// Several leases later the published file is intact everywhere.
	time.Sleep(3 * time.Second)
	for i, n := range net.Nodes {
		if u := n.Store().Used(); u < usedAfterPut[i] {
			t.Errorf("node %d: used fell from %d to %d: published shards were collected", i+1, usedAfterPut[i], u)
		}
	}
	var out bytes.Buffer
	if err := net.Nodes[3].Get(ctx, res.Cap, &out, nil); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("get after several leases: %v", err)
	}

}

// rm with a holder down does not report success; the stewards take the removal over, serve the
// file to nobody, and finish the delete once the holder is back.
func TestRemoveFinishesWhenHolderReturns(t *testing.T) {
	net := testnet.Start(t, 6, func(i int, c *config.Config) {
		testnet.FixedPorts(t)(i, c)
		c.Put.ManifestReplicas = 3
	})
	ctx := ctxT(t)
	_, res := putRandom(t, net.Nodes[0], 2<<20+17, 31)
	st, holders := holdersOf(t, net.Nodes[0], res.Cap)
	steward := map[string]bool{}
	for _, s := range st.Stewards {
		steward[s] = true
	}
	// A holder other than the uploader, preferably one that is also a steward: its manifest copy
	// must go too when it returns.
	down := -1
	for i, n := range net.Nodes[1:] {
		id := n.Host().ID().String()
		if slices.Contains(holders, id) && (down < 0 || steward[id]) {
			down = i + 1
		}
	}
	if down < 0 {
		t.Fatal("no holder besides the uploader")
	}
	downID := net.Nodes[down].Host().ID().String()
	var itsShards []cid.Cid
	for _, seg := range st.Segments {
		for _, sh := range seg.Shards {
			if sh.Holder == downID {
				c, _ := cid.Decode(sh.CID)
				itsShards = append(itsShards, c)
			}
		}
	}
	net.Stop(t, down)

	rmNode := net.Nodes[(down+1)%len(net.Nodes)]
	rm, err := rmNode.Remove(ctx, res.Cap)
	if err != nil {
		t.Fatal(err)
	}
	if rm.Complete || rm.Pending != len(itsShards) || rm.Tombstones == 0 {
		t.Fatalf("rm with a holder down: %+v, want incomplete with %d pending and a tombstone", rm, len(itsShards))
	}
	getter := net.Nodes[(down+2)%len(net.Nodes)]
	if err := getter.Get(ctx, res.Cap, io.Discard, nil); apiCode(err) != api.CodeNotFound {
		t.Fatalf("get after rm: %v, want not found", err)
	}

	back := net.StartAgain(t, down)
	waitFor(t, 60*time.Second, "the returning holder's shards to be deleted", func() bool {
		for _, c := range itsShards {
			if back.Store().Has(c) {
				return false
			}
		}
		return true
	})
	cp, _ := manifest.ParseCapability(res.Cap)
	waitFor(t, 20*time.Second, "every steward, the returning one too, to drop the manifest", func() bool {
		for _, n := range net.Nodes {
			if n.Store().Has(cp.Manifest) {
				return false
			}
		}
		return true
	})
	t.Logf("holder down during rm was a steward: %v", steward[downID])
}
