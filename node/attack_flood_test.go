package node_test

import (
	"bytes"
	"context"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/testnet"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"lukechampine.com/blake3/bao"
)

// floodHeapGrowth bounds how far the test process's heap (six nodes and the attackers) may grow
// while one node is flooded. The flooding subnet may hold at most 128 MiB of bodies there
// (transfer.DefaultBudget) and does fill them; the Go collector lets the heap reach about twice
// its live set before collecting, and the honest put and get add their buffers. Unbounded
// handlers took a node from 38 MiB to 10 GiB under the same attack.
const floodHeapGrowth = 512 << 20

// Sybils on one /24 open 64 streams on every protocol to one node, each claiming the largest
// body it allows and filling in-memory bodies to one byte short, then stalling. Meanwhile an
// honest put and get through that node must work, and memory must stay bounded.
func TestFloodEveryProtocol(t *testing.T) {
	if testing.Short() {
		t.Skip("flood takes ~15 s")
	}
	net := testnet.Start(t, 6, nil)
	victim := net.Nodes[1].Host()
	target := peer.AddrInfo{ID: victim.ID(), Addrs: victim.Addrs()}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	const sybils, streams = 4, 64
	var advs []*testnet.Adversary
	for range sybils {
		a := testnet.NewAdversary(t, "127.0.200.1")
		a.Fill, a.Trickle = testnet.MaxFill, 0
		if err := a.Connect(ctx, target); err != nil {
			t.Fatal(err)
		}
		advs = append(advs, a)
	}
	data := randomBytes(4<<20+777, 9)

	runtime.GC()
	base := heapBytes()
	// The flood runs until the honest put and get are done (60 s at most): under -race on shared
	// cores they may take a while, and they must run entirely under the flood.
	fctx, stop := context.WithTimeout(ctx, 60*time.Second)
	defer stop()
	var peak uint64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for fctx.Err() == nil {
			peak = max(peak, heapBytes())
			time.Sleep(20 * time.Millisecond)
		}
	}()
	reports := make([]testnet.FloodReport, len(advs))
	var wg sync.WaitGroup
	for i, a := range advs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reports[i] = a.Flood(fctx, target.ID, transfer.Protocols(), streams, testnet.MaxClaim)
		}()
	}

	time.Sleep(2 * time.Second) // the flood takes hold
	// Put with n equal to the network size, so the victim holds a shard for sure.
	res, err := net.Nodes[0].Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 3, N: 6, Name: "honest.bin"})
	if err != nil {
		t.Fatalf("honest put during the flood: %v", err)
	}
	var out bytes.Buffer
	if err := net.Nodes[4].Get(ctx, res.Cap, &out, nil); err != nil {
		t.Fatalf("honest get during the flood: %v", err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("honest get returned %d bytes, not the %d put", out.Len(), len(data))
	}
	if fctx.Err() != nil {
		t.Fatal("the honest put and get outlasted the flood; lengthen it")
	}
	time.Sleep(time.Second) // one more second of flood after the honest work, for the peak
	stop()
	wg.Wait()
	<-sampled

	for i, rep := range reports {
		for p, c := range rep {
			t.Logf("sybil %d %-32s %s", i, p, c)
		}
	}
	total := testnet.FloodReport{}
	for _, rep := range reports {
		total.Merge(rep)
	}
	sum := total.Total()
	t.Logf("all sybils: %s", sum)
	t.Logf("heap: %d MiB before, peak %d MiB during the flood (growth bound %d MiB)", base>>20, peak>>20, floodHeapGrowth>>20)
	// The streams still open at the end were held concurrently: what they claimed (at least)
	// must fit in one subnet's share of the budget, however many identities share the /24.
	var held int64
	for p, c := range total {
		held += int64(c.Held) * heldAtLeast(p)
	}
	if limit := transfer.DefaultBudget().PerSubnet; held > limit {
		t.Errorf("one /24 kept %d MiB of bodies open on the victim, limit %d MiB", held>>20, limit>>20)
	}
	if sum.Reset == 0 || sum.Refused[wire.CodeBusy] == 0 {
		t.Errorf("no stream was refused by the resource manager (%d) or the budget (%d)", sum.Reset, sum.Refused[wire.CodeBusy])
	}
	if peak > base && peak-base > floodHeapGrowth {
		t.Errorf("heap grew by %d MiB during the flood, bound %d MiB", (peak-base)>>20, floodHeapGrowth>>20)
	}
}

// heldAtLeast is a lower bound of what an accepted stream of proto is charged while open.
func heldAtLeast(proto protocol.ID) int64 {
	if proto == transfer.ProtoShardPut {
		return int64(bao.EncodedSize(transfer.MaxShard, codec.BaoGroup, true)) // its outboard
	}
	if f := testnet.MaxFill(proto); f > 0 {
		return f + 1
	}
	return 0
}

// heapBytes is the heap's object memory (live and not yet swept), read without stopping the world.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Identities are free but addresses are not: a node keeps at most 8 connections per IP address,
// loopback included, however many identities dial from it.
func TestSybilsShareAnAddressesConnections(t *testing.T) {
	net := testnet.Start(t, 2, nil)
	victim := net.Nodes[0].Host()
	target := peer.AddrInfo{ID: victim.ID(), Addrs: victim.Addrs()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var advs []*testnet.Adversary
	for range 12 {
		a := testnet.NewAdversary(t, "127.0.201.1")
		_ = a.Connect(ctx, target) // refusals are the point
		advs = append(advs, a)
	}
	time.Sleep(200 * time.Millisecond) // let refused connections close on the victim's side
	connected := 0
	for _, a := range advs {
		if len(victim.Network().ConnsToPeer(a.ID())) > 0 {
			connected++
		}
	}
	if connected == 0 || connected > 8 {
		t.Fatalf("%d of 12 identities on one address connected, want 1 to 8", connected)
	}
	t.Logf("%d of 12 identities on one address connected", connected)
}

// A shard put that stalls after its go-ahead must not freeze anything beyond its own CID: here
// a manifest delete for the same CID waits behind it, and an honest put, for which the victim
// is a steward (five nodes, five manifest replicas), must still finish well within the 30 s the
// stalled body is allowed.
func TestStalledPutFreezesNothingElse(t *testing.T) {
	net := testnet.Start(t, 5, nil)
	victim := net.Nodes[1].Host()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := testnet.NewAdversary(t, "127.0.202.1")
	if err := a.Connect(ctx, peer.AddrInfo{ID: victim.ID(), Addrs: victim.Addrs()}); err != nil {
		t.Fatal(err)
	}
	x := codec.ShardCID([]byte("stalled"))
	put, err := a.Stream(ctx, victim.ID(), transfer.ProtoShardPut)
	if err != nil {
		t.Fatal(err)
	}
	defer put.Reset()
	var st wire.Status
	if err := wire.Write(put, transfer.ShardPutReq{CID: x.String(), Size: 1 << 20, DeleteHash: strings.Repeat("ab", 32)}); err != nil {
		t.Fatal(err)
	}
	if err := wire.Read(put, &st); err != nil || !st.OK {
		t.Fatalf("go-ahead: %+v %v", st, err)
	}
	// The body stalls; a delete of the same CID as a manifest queues behind it.
	del, err := a.Stream(ctx, victim.ID(), transfer.ProtoManifestDel)
	if err != nil {
		t.Fatal(err)
	}
	defer del.Reset()
	if err := wire.Write(del, transfer.DeleteReq{CID: x.String(), Token: strings.Repeat("cd", 32)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)

	start := time.Now()
	data := randomBytes(1<<20+1, 31)
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	defer pcancel()
	if _, err := net.Nodes[0].Put(pctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4}); err != nil {
		t.Fatalf("honest put while one CID is stalled on a steward: %v after %v", err, time.Since(start))
	}
}
