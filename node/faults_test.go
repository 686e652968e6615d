package node_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node"
	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/testnet"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func byID(net *testnet.Net, id string) *node.Node {
	for _, n := range net.Nodes {
		if n.Host().ID().String() == id {
			return n
		}
	}
	return nil
}

// holdersOf returns the distinct holders of a file, as stat reports them.
func holdersOf(t *testing.T, n *node.Node, capStr string) (*api.StatResult, []string) {
	t.Helper()
	st, err := n.Stat(ctxT(t), capStr)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range st.Segments {
		for _, sh := range s.Shards {
			if !seen[sh.Holder] {
				seen[sh.Holder] = true
				out = append(out, sh.Holder)
			}
		}
	}
	return st, out
}

func totalUsed(net *testnet.Net) int64 {
	var sum int64
	for _, n := range net.Nodes {
		sum += n.Store().Used()
	}
	return sum
}

func TestGetSurvivesLossOfNMinusKHolders(t *testing.T) {
	net := testnet.Start(t, 8, nil)
	ctx := ctxT(t)
	data := randomBytes(2<<20+7, 2)
	// n = 6 of 8 nodes, k = 3: any 3 holders of a segment suffice.
	res, err := net.Nodes[0].Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 3, N: 6})
	if err != nil {
		t.Fatal(err)
	}
	// Kill n-k = 3 nodes that hold shards but are not the getter, keeping the manifest
	// reachable (stewards are several), then get from a survivor.
	getter := net.Nodes[7]
	_, holders := holdersOf(t, getter, res.Cap)
	killed := 0
	for _, h := range holders {
		n := byID(net, h)
		if n == getter || killed == 3 {
			continue
		}
		n.Close()
		killed++
	}
	if killed != 3 {
		t.Fatalf("killed %d holders, want 3", killed)
	}
	var out bytes.Buffer
	if err := getter.Get(ctx, res.Cap, &out, nil); err != nil {
		t.Fatalf("get after losing n-k holders: %v", err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatal("bytes differ after losing n-k holders")
	}
}

func TestTooFewShardsLeft(t *testing.T) {
	net := testnet.Start(t, 5, nil)
	ctx := ctxT(t)
	data := randomBytes(100_000, 3)
	res, err := net.Nodes[0].Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 5})
	if err != nil {
		t.Fatal(err)
	}
	// Every node holds one shard; destroy the shards (not the nodes, so the manifest stays
	// findable) on n-k+1 = 4 of them.
	st, _ := holdersOf(t, net.Nodes[0], res.Cap)
	for i, sh := range st.Segments[0].Shards[:4] {
		n := byID(net, sh.Holder)
		c, _ := cid.Decode(sh.CID)
		p, err := n.Store().BlobPath(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 1); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
	err = net.Nodes[1].Get(ctx, res.Cap, io.Discard, nil)
	if code := apiCode(err); code != api.CodeTooFewShards {
		t.Fatalf("get with 1 of 5 shards left: err %v (code %q), want %s", err, code, api.CodeTooFewShards)
	}
}

func TestCorruptHolderIsDetectedAndSkipped(t *testing.T) {
	net := testnet.Start(t, 5, nil)
	ctx := ctxT(t)
	data := randomBytes(2<<20+99, 4)
	res, err := net.Nodes[0].Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4})
	if err != nil {
		t.Fatal(err)
	}
	// Flip a byte in the middle of data shard 0 of every segment on its holder's disk: the
	// holder serves it as stored. Without verification the ciphertext would be wrong and the
	// get would fail authentication; with it, the shard is rejected and another one used.
	st, _ := holdersOf(t, net.Nodes[0], res.Cap)
	for _, seg := range st.Segments {
		sh := seg.Shards[0]
		c, _ := cid.Decode(sh.CID)
		p, _ := byID(net, sh.Holder).Store().BlobPath(c)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, getter := range []*node.Node{net.Nodes[0], net.Nodes[4]} {
		var out bytes.Buffer
		if err := getter.Get(ctx, res.Cap, &out, nil); err != nil {
			t.Fatalf("get with a corrupt holder: %v", err)
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatal("bytes differ with a corrupt holder")
		}
	}
}

func TestTooFewNodesStoresNothing(t *testing.T) {
	net := testnet.Start(t, 3, nil)
	ctx := ctxT(t)
	data := randomBytes(50_000, 5)
	_, err := net.Nodes[0].Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4})
	if code := apiCode(err); code != api.CodeTooFewNodes || !strings.Contains(err.Error(), "have 3") {
		t.Fatalf("put on 3 nodes with n=4: %v (code %q)", err, code)
	}
	if u := totalUsed(net); u != 0 {
		t.Fatalf("a refused put left %d bytes stored", u)
	}
}

// failingReader delivers some bytes and then fails, like a client that disconnects mid-upload.
type failingReader struct {
	r     io.Reader
	after int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("client went away")
	}
	if len(p) > f.after {
		p = p[:f.after]
	}
	n, err := f.r.Read(p)
	f.after -= n
	return n, err
}

func TestFailedPutLeavesNothing(t *testing.T) {
	net := testnet.Start(t, 5, nil)
	ctx := ctxT(t)
	data := randomBytes(4<<20, 6)
	// The reader fails in the third segment: two segments' shards are already placed.
	r := &failingReader{r: bytes.NewReader(data), after: 2<<20 + 1000}
	if _, err := net.Nodes[0].Put(ctx, r, int64(len(data)), api.PutOptions{K: 2, N: 4}); err == nil {
		t.Fatal("put with a failing reader succeeded")
	}
	if u := totalUsed(net); u != 0 {
		t.Fatalf("failed put left %d bytes on holders", u)
	}
	list, err := net.Nodes[0].List(ctx)
	if err != nil || len(list) != 0 {
		t.Fatalf("ls after failed put: %v %v", list, err)
	}
}

func TestCapabilityErrors(t *testing.T) {
	net := testnet.Start(t, 2, nil)
	ctx := ctxT(t)
	for _, bad := range []string{"", "hello", "cairn:r:notacid:abc", "cairn:w:x:y"} {
		err := net.Nodes[0].Get(ctx, bad, io.Discard, nil)
		if apiCode(err) != api.CodeBadCap {
			t.Errorf("get %q: %v, want %s", bad, err, api.CodeBadCap)
		}
	}
	// Well formed but unknown: a manifest nobody stores.
	unknown := manifest.Capability{Manifest: manifest.CID([]byte("no such manifest"))}
	err := net.Nodes[1].Get(ctx, unknown.String(), io.Discard, nil)
	if apiCode(err) != api.CodeNotFound {
		t.Fatalf("unknown capability: %v, want %s", err, api.CodeNotFound)
	}
}

func TestRemoveDeletesShardsAndManifest(t *testing.T) {
	net := testnet.Start(t, 5, nil)
	ctx := ctxT(t)
	data := randomBytes(1<<20+5, 7)
	res, err := net.Nodes[0].Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4})
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := net.Nodes[0].List(ctx); len(list) != 1 || list[0].Cap != res.Cap {
		t.Fatalf("ls after put: %+v", list)
	}
	rm, err := net.Nodes[2].Remove(ctx, res.Cap)
	if err != nil {
		t.Fatal(err)
	}
	if rm.ShardsDeleted != 2*4 || rm.ShardsFailed != 0 || rm.ManifestCopies < 2 {
		t.Fatalf("rm: %+v", rm)
	}
	if u := totalUsed(net); u != 0 {
		t.Fatalf("%d bytes left after rm", u)
	}
	if err := net.Nodes[3].Get(ctx, res.Cap, io.Discard, nil); apiCode(err) != api.CodeNotFound {
		t.Fatalf("get after rm: %v", err)
	}
}

func TestPeersAndID(t *testing.T) {
	net := testnet.Start(t, 3, nil)
	id, err := net.Nodes[0].ID(ctxT(t))
	if err != nil || id.PeerID != net.Nodes[0].Host().ID().String() || len(id.Addresses) == 0 {
		t.Fatalf("id: %+v %v", id, err)
	}
	if _, err := peer.Decode(id.PeerID); err != nil {
		t.Fatal(err)
	}
	ps, err := net.Nodes[0].Peers(ctxT(t))
	if err != nil || len(ps) != 2 {
		t.Fatalf("peers: %+v %v", ps, err)
	}
	// Cairn's own Kademlia network, never the public IPFS DHT.
	protos := net.Nodes[0].Host().Mux().Protocols()
	if !slices.Contains(protos, "/cairn/kad/1.0.0") || slices.Contains(protos, "/ipfs/kad/1.0.0") {
		t.Fatalf("DHT protocols: %v", protos)
	}
}

func TestSlowHolderIsHedged(t *testing.T) {
	net := testnet.Start(t, 5, func(_ int, c *config.Config) { c.Put.ShardTimeout = config.Duration(5 * time.Minute) })
	data := randomBytes(300_000, 8)
	res, err := net.Nodes[0].Put(ctxT(t), bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4})
	if err != nil {
		t.Fatal(err)
	}
	// The holder of data shard 0 accepts fetches and then never answers, like a stalled disk.
	st, _ := holdersOf(t, net.Nodes[0], res.Cap)
	slow := byID(net, st.Segments[0].Shards[0].Holder)
	slow.Host().SetStreamHandler(transfer.ProtoShardGet, func(s network.Stream) {
		<-time.After(5 * time.Minute)
		s.Reset()
	})
	getter := net.Nodes[4]
	if getter == slow {
		getter = net.Nodes[3]
	}
	// Without hedging the get would wait out the 5-minute shard timeout and miss this deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := getter.Get(ctx, res.Cap, &out, nil); err != nil {
		t.Fatalf("get with a stalled holder: %v", err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatal("bytes differ")
	}
}

func TestPutMovesShardsOffAFailingNode(t *testing.T) {
	net := testnet.Start(t, 6, nil)
	// node-3 answers "how much space" but resets every shard it is sent.
	bad := net.Nodes[2]
	bad.Host().SetStreamHandler(transfer.ProtoShardPut, func(s network.Stream) { s.Reset() })
	data := randomBytes(3<<20, 9)
	res, err := net.Nodes[0].Put(ctxT(t), bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4})
	if err != nil {
		t.Fatalf("put with one failing node of 6: %v", err)
	}
	st, holders := holdersOf(t, net.Nodes[1], res.Cap)
	for _, h := range holders {
		if h == bad.Host().ID().String() {
			t.Fatalf("the failing node is recorded as a holder")
		}
	}
	if !st.Retrievable {
		t.Fatal("not retrievable")
	}
	var out bytes.Buffer
	if err := net.Nodes[5].Get(ctxT(t), res.Cap, &out, nil); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("get: %v", err)
	}
}

func TestPlacementHonoursAdvertisedCapacity(t *testing.T) {
	// Nodes 4 and 5 offer 1 KiB: too little for any shard of this file.
	net := testnet.Start(t, 5, func(i int, c *config.Config) {
		if i >= 4 {
			c.Storage.Capacity = 1 << 10
		}
	})
	data := randomBytes(200_000, 10)
	_, err := net.Nodes[0].Put(ctxT(t), bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4})
	if apiCode(err) != api.CodeTooFewNodes || !strings.Contains(err.Error(), "have 3") {
		t.Fatalf("n=4 with 3 roomy nodes: %v", err)
	}
	res, err := net.Nodes[0].Put(ctxT(t), bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 3})
	if err != nil {
		t.Fatal(err)
	}
	_, holders := holdersOf(t, net.Nodes[0], res.Cap)
	for _, h := range holders {
		if h == net.Nodes[3].Host().ID().String() || h == net.Nodes[4].Host().ID().String() {
			t.Fatalf("a node without room holds a shard")
		}
	}
}

// A co-steward that replaces a dead steward while rm runs hands the record to a node rm did not
// know of. rm must find it and give it the tombstone, so the file is gone for readers at once.
func TestRemoveReachesAStewardAppointedMeanwhile(t *testing.T) {
	net := testnet.Start(t, 7, func(_ int, c *config.Config) { c.Put.ManifestReplicas = 3 })
	ctx := ctxT(t)
	data := randomBytes(200_000, 9)
	res, err := net.Nodes[0].Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := cid.Decode(res.CID)
	if err != nil {
		t.Fatal(err)
	}
	var body, loc []byte
	var late *node.Node
	for _, n := range net.Nodes {
		if b, l, err := node.ManifestCopy(n, mc); err == nil {
			body, loc = b, l
		} else if late == nil && n != net.Nodes[0] {
			late = n
		}
	}
	if body == nil || late == nil {
		t.Fatalf("want a steward copy and a node without one (copy %v, non-steward %v)", body != nil, late != nil)
	}
	node.SetTestHookAfterTombstones(func(c cid.Cid) {
		if c.Equals(mc) {
			if err := node.TakeManifestCopy(late, mc, body, loc); err != nil {
				t.Errorf("late steward took no copy: %v", err)
			}

		}
	})
	t.Cleanup(func() { node.SetTestHookAfterTombstones(nil) })
	rm, err := net.Nodes[0].Remove(ctx, res.Cap)
	if err != nil {
		t.Fatal(err)
	}
	// Every holder answered, so the removal is complete: no copy and no tombstone remain.
	if !rm.Complete {
		t.Fatalf("rm: %+v", rm)
	}
	if _, _, err := node.ManifestCopy(late, mc); err == nil || node.HasRemoval(late, mc) {
		t.Fatalf("the steward appointed during rm still has the file (copy err %v, tombstone %v)", err, node.HasRemoval(late, mc))
	}
	for _, n := range net.Nodes {
		if err := n.Get(ctx, res.Cap, io.Discard, nil); apiCode(err) != api.CodeNotFound {
			t.Fatalf("get after rm from %s: %v, want not found", n.Host().ID().ShortString(), err)
		}
	}
}
