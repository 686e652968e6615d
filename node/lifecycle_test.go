package node_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/testnet"
	"github.com/cairn-storage/cairn/node/transfer"
)

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
	data := randomBytes(3<<20, 11)
	res, err := net.Nodes[0].Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4})
	if err != nil {
		t.Fatal(err)
	}
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
