package network

import (
	"math/rand/v2"

	"github.com/cairn-storage/cairn/sim/churn"
	"reflect"
	"slices"
	"testing"

	"github.com/cairn-storage/cairn/reputation"
	"github.com/cairn-storage/cairn/sim"
)

// replay returns a *rand.Rand in the PCG state st (taken just before the model's call).
func replay(t *testing.T, st []byte) *rand.Rand {
	t.Helper()
	var p rand.PCG
	if err := p.UnmarshalBinary(st); err != nil {
		t.Fatal(err)
	}
	return rand.New(&p)
}

func cloneHealth(segs []reputation.SegmentHealth) []reputation.SegmentHealth {
	out := make([]reputation.SegmentHealth, len(segs))
	for i, s := range segs {
		out[i] = reputation.SegmentHealth{Index: s.Index, Shards: slices.Clone(s.Shards)}
	}
	return out
}

// TestSameDecisionsAsTheNode: under churn, droppers and a workload, (i) every repair the model
// carries out is what reputation.PlanRepair returns for the same segment health, candidates and
// rng state, and the model applies exactly those plans' targets; (ii) every placement is
// reputation.Place's on the same candidates; (iii) each file's leader, which audits it and
// attests its evidence, is the member reputation.IsLeader picks with alive = up.
func TestSameDecisionsAsTheNode(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Behaviours.DataDropping = 0.05
	m := durabilityChurn(0.02)
	m.ArrivalsPerHour = 5
	w := newWorld(t, cfg, 300, 9, &m)
	var places, plans, rebuilt int
	w.net.onPlace = func(cands []reputation.Candidate, r reputation.Rules, st []byte, out []int, err error) {
		places++
		got, gerr := reputation.Place(slices.Clone(cands), r, replay(t, st))
		if !reflect.DeepEqual(got, out) || (gerr == nil) != (err == nil) {
			t.Fatalf("Place: model %v (%v), core %v (%v)", out, err, got, gerr)
		}
	}
	w.net.onPlan = func(segs []reputation.SegmentHealth, cands []reputation.Candidate, r reputation.RepairRules, st []byte, out []reputation.SegmentPlan, err error) {
		plans++
		got, gerr := reputation.PlanRepair(cloneHealth(segs), slices.Clone(cands), r, replay(t, st))
		if !reflect.DeepEqual(got, out) || (gerr == nil) != (err == nil) {
			t.Fatalf("PlanRepair: model %+v (%v), core %+v (%v)", out, err, got, gerr)
		}
		if r.K != cfg.K || r.N != cfg.N || r.Threshold != 6 || r.MaxSegments != 16 {
			t.Fatalf("repair rules %+v", r)
		}
	}
	applied, failed := 0, 0
	w.net.onApplied = func(f int32, p reputation.SegmentPlan, targets []int32, ok bool) {
		n := w.net
		g := n.fSeg[f] + int32(p.Index)
		N := int32(cfg.N)
		if !ok {
			failed++
			return // a read found no bytes: nothing stored (checked by the counters below)
		}
		applied++
		for i, j := range p.Rebuild {
			found := false
			for c := n.shFirst[g*N+int32(j)]; c >= 0; c = n.cNextS[c] {
				found = found || n.cHolder[c] == targets[i] && n.cAt[c] == n.now()
			}
			if !found {
				t.Fatalf("file %d segment %d: shard %d not stored on its target %d", f, p.Index, j, targets[i])
			}
			rebuilt++
		}
	}
	w.upload(t, 120, 6<<20, sim.NewStreams(9).Named("test/files"))
	w.startWorkload(t, 9, 10, 10, 4<<20)
	leaders, none := 0, 0
	check := func() {
		index := map[reputation.NodeID]int32{}
		for i := range int32(w.net.Len()) {
			index[w.net.NodeID(i)] = i
		}
		for f := range w.net.Files() {
			key := w.net.FileKey(f)
			members := w.net.Stewards(nil, f)
			ids := make([]reputation.NodeID, len(members))
			for i, x := range members {
				ids[i] = w.net.NodeID(x)
			}
			// The stored order is StewardRank's.
			for i, x := range members {
				if r := reputation.StewardRank(key, ids, w.net.NodeID(x)); r != i {
					t.Fatalf("file %d: member %d at %d, StewardRank %d", f, x, i, r)
				}
			}
			want := int32(-1)
			for _, x := range members {
				if reputation.IsLeader(key, ids, w.net.NodeID(x), func(p reputation.NodeID) bool {
					return w.net.IsUp(index[p])
				}) && w.net.IsUp(x) {
					if want >= 0 {
						t.Fatalf("file %d: two leaders", f)
					}
					want = x
				}
			}
			if got := w.net.leader(f); got != want {
				t.Fatalf("file %d: model leader %d, IsLeader %d", f, got, want)
			}
			if want >= 0 {
				leaders++
			} else {
				none++
			}
		}
	}
	hours := 36
	if raceBuild {
		hours = 15
	}
	for h := 3; h <= hours; h += 3 {
		w.eng.Run(sim.Time(sim.Duration(h) * sim.Hour))
		check()
	}
	s := w.net.Summary()
	if places < 120 || plans < 10 || applied == 0 || int64(rebuilt) != s.ShardsRebuilt || int64(failed) != s.RepairsFailed {
		t.Fatalf("%d placements, %d repair calls checked, %d plans applied (%d shards; model %d), %d failed (model %d)",
			places, plans, applied, rebuilt, s.ShardsRebuilt, failed, s.RepairsFailed)
	}
	t.Logf("%d placements, %d repair calls (%d plans applied, %d failed reads), %d leaders checked (%d files without one), %d handovers", places, plans, applied, failed, leaders, none, s.Handovers)
}

// TestBookMatchesReputationBook: the shared book (records by node index) ends a run with
// churn, every behaviour and disqualifications exactly where a reputation.Book fed the same
// observations ends, and scores candidates as Book.Candidate does.
func TestBookMatchesReputationBook(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Probation = 12 * sim.Hour // some disqualifications expire within the run
	cfg.Behaviours.DataDropping, cfg.Behaviours.AuditCheating = 0.05, 0.05
	m := durabilityChurn(0.02)
	m.ArrivalsPerHour = 3
	eng := sim.New()
	st := sim.NewStreams(16)
	ref := reputation.NewBook(func() reputation.Params { p, _ := cfg.params(); return p }())
	// The initial vetting history is applied inside New: catch it too.
	var obs []reputation.Observation
	net, err := newNetwork(eng, cfg, 200, st, func(o reputation.Observation) { obs = append(obs, o) })
	if err != nil {
		t.Fatal(err)
	}
	d, err := churn.New(eng, m, st, 200)
	if err != nil {
		t.Fatal(err)
	}
	if err := net.Attach(d); err != nil {
		t.Fatal(err)
	}
	w := &world{eng: eng, net: net, drv: d}
	w.upload(t, 80, 4<<20, sim.NewStreams(16).Named("test/files"))
	w.eng.Run(sim.Time(2 * sim.Day))
	for _, o := range obs {
		ref.Apply(o)
	}
	now := net.Unix(net.now())
	dq, suspended := 0, 0
	for i := range int32(net.Len()) {
		got, want := net.Record(i), func() reputation.Record { r, _ := ref.Get(net.NodeID(i)); return r }()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("node %d: record %+v, reputation.Book %+v", i, got, want)
		}
		if s := net.Status(i); s != ref.Status(net.NodeID(i), now) {
			t.Fatalf("node %d: status %v, Book %v", i, s, ref.Status(net.NodeID(i), now))
		} else if s == reputation.Disqualified {
			dq++
		} else if s == reputation.Suspended {
			suspended++
		}
		c := net.candidate(i, now)
		if want := ref.Candidate(net.NodeID(i), net.Subnet(i), c.Free, now); c != want {
			t.Fatalf("node %d: candidate %+v, Book.Candidate %+v", i, c, want)
		}
	}
	if len(obs) < 10000 || dq == 0 || suspended == 0 || net.Summary().Classes[DataDropping].Detected == 0 {
		t.Fatalf("%d observations, %d disqualified, %d suspended: the run does not exercise the book", len(obs), dq, suspended)
	}
}
