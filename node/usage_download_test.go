package node_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node"
	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/testnet"
	"github.com/cairn-storage/cairn/payments"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// downloads returns the Download entries nd authored in its ledger, every entry checked again
// by a fresh validator (the whole export, in its (author, seq) order).
func downloads(t *testing.T, nd *node.Node) []*payments.Download {
	t.Helper()
	var buf bytes.Buffer
	if err := nd.LedgerExport(ctxT(t), &buf); err != nil {
		t.Fatal(err)
	}
	v := payments.NewValidator(payments.ValidatorParams{})
	var out []*payments.Download
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		b, err := base64.StdEncoding.DecodeString(sc.Text())
		if err != nil {
			t.Fatal(err)
		}
		e, _, err := v.Add(b, time.Now().Unix())
		if err != nil {
			t.Fatalf("exported entry does not validate: %v", err)
		}
		if e.Kind != payments.KindDownload || peer.ID(e.Author) != nd.Host().ID() {
			continue // gossip may bring other readers' receipts
		}
		d, err := payments.DecodeDownload(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// After a get, the reader holds one countersigned Download receipt per shard another node
// served it: the server's signature checks, the owner and partner are the manifest's, and the
// bytes are the shards read. Shards it read from its own store earn none.
func TestDownloadReceiptsAfterGet(t *testing.T) {
	net := testnet.Start(t, 5, nil)
	up, reader := net.Nodes[0], net.Nodes[3]
	self := reader.Host().ID()
	data := randomBytes(1<<20+300_000, 11) // two segments
	res, err := up.Put(ctxT(t), bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4, Partner: "kicad"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := reader.Get(ctxT(t), res.Cap, &out, nil); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("get: %v", err)
	}
	st := statFrom(t, reader, res.Cap)
	type shardInfo struct {
		size    int64
		holders map[peer.ID]bool
	}
	shards := map[string]shardInfo{} // by shard CID bytes
	want := map[string]bool{}        // data shards held by another node: read from it
	for _, seg := range st.Segments {
		for _, sh := range seg.Shards {
			c, err := cid.Decode(sh.CID)
			if err != nil {
				t.Fatal(err)
			}
			info := shardInfo{size: seg.ShardSize, holders: map[peer.ID]bool{}}
			for _, h := range append([]string{sh.Holder}, sh.Holders...) {
				id, err := peer.Decode(h)
				if err != nil {
					t.Fatal(err)
				}
				info.holders[id] = true
			}
			shards[string(c.Bytes())] = info
			if sh.Index < st.K && !info.holders[self] {
				want[string(c.Bytes())] = true
			}
		}
	}
	if len(want) == 0 { // cannot happen: k = 2 data shards per segment on distinct nodes
		t.Fatal("the reader holds every data shard itself; nothing to receipt")
	}
	var ds []*payments.Download
	deadline := time.Now().Add(30 * time.Second)
	for {
		ds = downloads(t, reader)
		got := map[string]bool{}
		for _, d := range ds {
			got[string(d.Shard)] = true
		}
		missing := 0
		for s := range want {
			if !got[s] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d shards read from other nodes have no receipt after 30 s (%d receipts)", missing, len(want), len(ds))
		}
		time.Sleep(100 * time.Millisecond)
	}
	var total, read int64
	nonces := map[string]bool{}
	for i, d := range ds {
		info, ok := shards[string(d.Shard)]
		switch {
		case !ok:
			t.Fatalf("receipt %d names a shard not in the file", i)
		case peer.ID(d.Server) == self || !info.holders[peer.ID(d.Server)]:
			t.Fatalf("receipt %d names server %s, not another holder of the shard", i, peer.ID(d.Server))
		case d.VerifyCounterSig() != nil:
			t.Fatalf("receipt %d: %v", i, d.VerifyCounterSig())
		case peer.ID(d.Downloader) != self || peer.ID(d.Owner) != up.Host().ID() || d.Partner != "kicad":
			t.Fatalf("receipt %d: downloader %s owner %s partner %q", i, peer.ID(d.Downloader), peer.ID(d.Owner), d.Partner)
		case d.Bytes != info.size || d.ShardSize != info.size:
			t.Fatalf("receipt %d: %d of %d bytes, the shard has %d", i, d.Bytes, d.ShardSize, info.size)
		case nonces[string(d.Nonce)]:
			t.Fatalf("receipt %d reuses a nonce", i)
		}
		c, _ := cid.Cast(d.Manifest)
		if c.String() != st.CID {
			t.Fatalf("receipt %d names manifest %s, not %s", i, c, st.CID)
		}
		nonces[string(d.Nonce)] = true
		total += d.Bytes
	}
	for s := range want {
		read += shards[s].size
	}
	// Hedged or retried shards may add receipts beyond the data shards, never fewer bytes.
	if total < read || len(ds) > len(shards) {
		t.Fatalf("receipts for %d bytes in %d entries; read %d bytes of data shards from others", total, len(ds), read)
	}
	t.Logf("%d receipts, %d bytes, for %d data shards read from others", len(ds), total, len(want))
}
