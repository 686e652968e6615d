package storage

import (
	"errors"
	"slices"
	"testing"

	"github.com/cairn-storage/cairn/reputation"
	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
)

func place(t testing.TB, nodes int, l Layout, seed uint64) (*Nodes, *Store) {
	t.Helper()
	ns, err := NewNodes(DefaultNodeConfig(nodes), sim.NewStreams(seed))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Place(ns, l, sim.NewStreams(seed))
	if err != nil {
		t.Fatal(err)
	}
	return ns, st
}

var small = Layout{Files: 200, SegmentsPerFile: 5, K: 4, N: 8, ShardSize: 1 << 20}

// TestPlaceDistinct: every segment's shards are on distinct nodes in distinct
// subnets — what makes shard losses independent — and each holder's Free was
// charged for exactly what it holds.
func TestPlaceDistinct(t *testing.T) {
	ns, st := place(t, 2000, small, 1)
	held := make([]int64, ns.Len())
	for s := range st.Segments() {
		hs := st.Holders(s)
		nodes := map[int32]bool{}
		subnets := map[int32]bool{}
		for _, h := range hs {
			nodes[h], subnets[ns.Subnet[h]] = true, true
			held[h]++
		}
		if len(nodes) != st.N || len(subnets) != st.N {
			t.Fatalf("segment %d: holders %v on %d nodes, %d subnets", s, hs, len(nodes), len(subnets))
		}
	}
	for i := range held {
		if want := DefaultNodeConfig(0).Free - held[i]*st.ShardSize; ns.Free[i] != want {
			t.Fatalf("node %d: free %d, want %d", i, ns.Free[i], want)
		}
	}
}

// TestPlaceIsTheNodesDecision: the simulator's placement of a file is exactly
// what reputation.Place decides, with the node's Rules, for the candidates the
// simulated put discovered — the same call node.Put makes.
func TestPlaceIsTheNodesDecision(t *testing.T) {
	const seed = 7
	_, st := place(t, 1000, small, seed)

	ns, err := NewNodes(DefaultNodeConfig(1000), sim.NewStreams(seed))
	if err != nil {
		t.Fatal(err)
	}
	streams := sim.NewStreams(seed)
	p := placer{ns: ns, disc: streams.Named(StreamDiscover), rng: streams.Named(StreamPlace), stamp: make([]uint32, ns.Len())}
	p.discover(DefaultCandidates(small.N))
	if !slices.IsSortedFunc(p.cands, func(a, b reputation.Candidate) int { return cmpID(a.ID, b.ID) }) {
		t.Fatal("candidates not in ID order, as node.discover lists them")
	}
	rules := reputation.Rules{N: small.N, ShardSize: small.ShardSize} // node defaults: 5% unvetted
	for s := range small.SegmentsPerFile {
		idx, err := reputation.Place(p.cands, rules, p.rng)
		if err != nil {
			t.Fatal(err)
		}
		for j, c := range idx {
			if got := st.Holders(s)[j]; got != p.picked[c] {
				t.Fatalf("segment %d shard %d: simulator chose node %d, Place chose %d", s, j, got, p.picked[c])
			}
		}
	}
}

func cmpID(a, b reputation.NodeID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestPlaceFull: when the discovered nodes have no room, placement fails with
// the core's TooFewError, as a put fails with too_few_nodes.
func TestPlaceFull(t *testing.T) {
	c := DefaultNodeConfig(100)
	c.Free = 1 << 20
	ns, err := NewNodes(c, sim.NewStreams(1))
	if err != nil {
		t.Fatal(err)
	}
	l := Layout{Files: 100, SegmentsPerFile: 1, K: 2, N: 4, ShardSize: 1 << 20}
	_, err = Place(ns, l, sim.NewStreams(1))
	var tf *reputation.TooFewError
	if !errors.As(err, &tf) {
		t.Fatalf("100 nodes with room for 1 shard each took 400 shards: %v", err)
	}
	for _, bad := range []Layout{
		{Files: 0, SegmentsPerFile: 1, K: 1, N: 1},
		{Files: 1, SegmentsPerFile: 1, K: 5, N: 4},
		{Files: 1, SegmentsPerFile: 1, K: 1, N: 256},
		{Files: 1 << 20, SegmentsPerFile: 1 << 10, K: 1, N: 8},
		{Files: 1, SegmentsPerFile: 1, K: 1, N: 1, ShardSize: -1},
	} {
		if _, err := Place(ns, bad, sim.NewStreams(1)); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestDeterminism: the same seed gives the same placement and the same
// validation table; another seed another placement.
func TestDeterminism(t *testing.T) {
	_, a := place(t, 2000, small, 3)
	_, b := place(t, 2000, small, 3)
	_, c := place(t, 2000, small, 4)
	if !slices.Equal(a.Holder, b.Holder) {
		t.Fatal("same seed, different placement")
	}
	if slices.Equal(a.Holder, c.Holder) {
		t.Fatal("different seeds, same placement")
	}
	cfg := ValidationConfig{Nodes: 1000, Segments: 1000, SegmentsPerFile: 10, Replicates: 5, Confidence: 0.99, Seed: 9}
	cases := []Case{{4, 8, 0.3}, {2, 5, 0.4}}
	r1, err := Validate(cases, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := Validate(cases, cfg)
	if Table(r1, 0.99) != Table(r2, 0.99) || !slices.Equal(r1, r2) {
		t.Fatalf("same seed, different tables:\n%s\n%s", Table(r1, 0.99), Table(r2, 0.99))
	}
}

// TestTrackerMatchesScan: killing nodes one at a time through the reverse
// index reports the same segments and files lost as a full scan, each lost
// segment exactly once.
func TestTrackerMatchesScan(t *testing.T) {
	_, st := place(t, 1000, small, 5)
	tr, err := NewTracker(st, 1000)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]bool, st.Segments())
	tr.OnSegmentLost = func(s, f int32, _ sim.Time) {
		if seen[s] || f != s/int32(st.SegmentsPerFile) {
			t.Fatalf("segment %d (file %d) reported twice or in the wrong file", s, f)
		}
		seen[s] = true
	}
	gone := make([]bool, 1000)
	rng := sim.NewStreams(5).Named("test/kill")
	for step := range 500 {
		v := int32(rng.IntN(1000))
		if tr.Kill(v, sim.Time(step)) == gone[v] {
			t.Fatalf("kill %d: reported %v for a node gone=%v", v, !gone[v], gone[v])
		}
		gone[v] = true
		if step%50 == 0 {
			segs, files := st.CountLost(gone)
			if segs != tr.SegmentsLost() || files != tr.FilesLost() {
				t.Fatalf("after %d kills: tracker %d/%d, scan %d/%d", step+1, tr.SegmentsLost(), tr.FilesLost(), segs, files)
			}
		}
	}
	if tr.Kill(5000, 0) || tr.Kill(-1, 0) {
		t.Fatal("kill of an unknown node reported")
	}
}

// TestChurnDepartures plays sim/churn's permanent departures on the engine for
// 60 days: the tracker's count matches a scan of the driver's gone nodes, and
// since departures are independent per node, the segment-loss fraction is near
// the binomial tail at the fraction of nodes gone.
func TestChurnDepartures(t *testing.T) {
	const nodes = 3000
	l := Layout{Files: 1000, SegmentsPerFile: 4, K: 4, N: 8, ShardSize: 1 << 20}
	_, st := place(t, nodes, l, 11)
	eng := sim.New()
	m := churn.Model{
		Session:    churn.Dist{Kind: churn.Exponential, Mean: sim.Day},
		Downtime:   churn.Dist{Kind: churn.Exponential, Mean: 4 * sim.Hour},
		DepartProb: 0.005,
	}
	d, err := churn.New(eng, m, sim.NewStreams(11), nodes)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTracker(st, nodes)
	if err != nil {
		t.Fatal(err)
	}
	tr.Attach(d, eng.Now())
	var lastLoss sim.Time
	tr.OnSegmentLost = func(_, _ int32, at sim.Time) { lastLoss = at }
	eng.Run(sim.Time(60 * sim.Day))
	if d.Err() != nil {
		t.Fatal(d.Err())
	}
	gone := make([]bool, nodes)
	for i, s := range d.State[:nodes] {
		gone[i] = s == churn.Gone
	}
	segs, files := st.CountLost(gone)
	if segs != tr.SegmentsLost() || files != tr.FilesLost() {
		t.Fatalf("tracker %d/%d, scan %d/%d", tr.SegmentsLost(), tr.FilesLost(), segs, files)
	}
	p := float64(nodes-d.LiveCount()) / nodes
	theory, _ := SegmentLossProb(l.K, l.N, p)
	got := float64(segs) / float64(l.Segments())
	t.Logf("60 days: %.1f%% of nodes gone, %d of %d segments lost (%.4f, binomial %.4f), %d files, last loss at %v",
		100*p, segs, l.Segments(), got, theory, files, lastLoss)
	if segs == 0 || got < theory/2 || got > theory*2 {
		t.Errorf("segment loss %.4f far from the binomial %.4f at p = %.3f", got, theory, p)
	}
}
