package reputation

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// genRepair draws a small network: candidates with distinct IDs (some of which
// hold shards), segments of random health, and rules.
func genRepair(t *rapid.T) ([]SegmentHealth, []Candidate, RepairRules) {
	k := rapid.IntRange(1, 4).Draw(t, "K")
	n := rapid.IntRange(k+1, k+5).Draw(t, "N")
	r := RepairRules{K: k, N: n, ShardSize: rapid.Int64Range(0, 2).Draw(t, "shard"),
		MaxSegments: rapid.IntRange(0, 3).Draw(t, "max")}
	if rapid.Bool().Draw(t, "explicitThreshold") {
		r.Threshold = rapid.IntRange(k+1, n).Draw(t, "threshold")
	}
	subnets := []string{"", "a", "b", "c", "d", "e"}[:rapid.IntRange(1, 6).Draw(t, "nsub")]
	cands := make([]Candidate, rapid.IntRange(0, 20).Draw(t, "ncands"))
	for i := range cands {
		cands[i] = Candidate{
			ID:     NodeID(fmt.Sprintf("c%02d", i)),
			Subnet: rapid.SampledFrom(subnets).Draw(t, "subnet"),
			Free:   rapid.Int64Range(0, 6).Draw(t, "free"),
			Score:  rapid.SampledFrom([]float64{0, 0.5, 1}).Draw(t, "score"),
		}
	}
	// Holders: candidates, outsiders and the unknown holder.
	holders := []NodeID{"", "x1", "x2"}
	for i := range cands {
		holders = append(holders, cands[i].ID)
	}
	idx := rapid.SliceOfNDistinct(rapid.IntRange(0, 30), 0, 8, rapid.ID[int]).Draw(t, "segs")
	segs := make([]SegmentHealth, len(idx))
	for j, index := range idx {
		segs[j].Index = index
		for range n {
			segs[j].Shards = append(segs[j].Shards, ShardState{
				Healthy: rapid.IntRange(0, 3).Draw(t, "healthy") > 0,
				Holder:  rapid.SampledFrom(holders).Draw(t, "holder"),
			})
		}
	}
	return segs, cands, r
}

func healthyCount(s SegmentHealth) int {
	h := 0
	for _, sh := range s.Shards {
		if sh.Healthy {
			h++
		}
	}
	return h
}

func missingOf(s SegmentHealth) []int {
	var m []int
	for i, sh := range s.Shards {
		if !sh.Healthy {
			m = append(m, i)
		}
	}
	return m
}

// freshDomains counts the diversity domains of eligible targets for s that no
// healthy holder's subnet already covers: an independent oracle for diversity.
func freshDomains(s SegmentHealth, cands []Candidate, size int64) (map[string]bool, map[string]bool) {
	holder, usedNet := map[NodeID]bool{}, map[string]bool{}
	for _, sh := range s.Shards {
		holder[sh.Holder] = true
	}
	for _, c := range cands {
		for _, sh := range s.Shards {
			if sh.Healthy && sh.Holder == c.ID && c.Subnet != "" {
				usedNet[c.Subnet] = true
			}
		}
	}
	fresh := map[string]bool{}
	for _, c := range cands {
		if !holder[c.ID] && c.Score > 0 && c.Free >= size && !(c.Subnet != "" && usedNet[c.Subnet]) {
			fresh[domainKey(c)] = true
		}
	}
	return fresh, usedNet
}

func TestPlanRepairProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		segs, cands, r := genRepair(t)
		seed := rapid.Uint64().Draw(t, "seed")
		plans, err := PlanRepair(segs, cands, r, rand.New(rand.NewPCG(seed, 7)))
		var short *RepairShortfall
		if err != nil && !errors.As(err, &short) {
			t.Fatalf("unexpected error: %v", err)
		}
		if short == nil {
			short = &RepairShortfall{}
		}
		checkPlans(t, segs, cands, r, plans)

		threshold := cmp.Or(r.Threshold, DefaultThreshold(r.K, r.N))
		byIndex := map[int]SegmentHealth{}
		for _, s := range segs {
			byIndex[s.Index] = s
		}
		less := func(a, b int) int {
			return cmp.Or(cmp.Compare(healthyCount(byIndex[a]), healthyCount(byIndex[b])), cmp.Compare(a, b))
		}

		// Unrecoverable: exactly the segments below K, most endangered first.
		var wantUnrecov []int
		for _, s := range segs {
			if healthyCount(s) < r.K {
				wantUnrecov = append(wantUnrecov, s.Index)
			}
		}
		slices.SortFunc(wantUnrecov, less)
		if !slices.Equal(short.Unrecoverable, wantUnrecov) {
			t.Fatalf("unrecoverable %v, want %v", short.Unrecoverable, wantUnrecov)
		}

		// Ordering and selection: most endangered first; only K <= healthy < threshold;
		// an unplanned repairable segment is explained by MaxSegments or by no targets.
		planned := map[int]SegmentPlan{}
		var order []int
		for _, p := range plans {
			planned[p.Index] = p
			order = append(order, p.Index)
			if h := healthyCount(byIndex[p.Index]); h < r.K || h >= threshold {
				t.Fatalf("segment %d planned with %d healthy (K=%d threshold=%d)", p.Index, h, r.K, threshold)
			}
		}
		if !slices.IsSortedFunc(order, less) {
			t.Fatalf("plan order %v is not most endangered first", order)
		}
		if r.MaxSegments > 0 && len(plans) > r.MaxSegments {
			t.Fatalf("%d plans, MaxSegments %d", len(plans), r.MaxSegments)
		}
		for _, s := range segs {
			h := healthyCount(s)
			p, ok := planned[s.Index]
			unplaced := slices.Contains(short.Unplaced, s.Index)
			switch {
			case h < r.K || h >= threshold:
				if unplaced {
					t.Fatalf("segment %d (%d healthy) reported unplaced", s.Index, h)
				}
			case !ok && !unplaced && (r.MaxSegments == 0 || len(plans) < r.MaxSegments):
				t.Fatalf("repairable segment %d (%d healthy) neither planned nor reported", s.Index, h)
			case ok && !unplaced && !slices.Equal(p.Rebuild, missingOf(s)):
				t.Fatalf("segment %d rebuilds %v, missing %v", s.Index, p.Rebuild, missingOf(s))
			case ok && unplaced && (len(p.Rebuild) >= len(missingOf(s)) || !slices.Equal(p.Rebuild, missingOf(s)[:len(p.Rebuild)])):
				t.Fatalf("short segment %d rebuilds %v, want a proper prefix of %v", s.Index, p.Rebuild, missingOf(s))
			}
		}

		// Diversity: the first plan sees the untouched pool. With enough fresh
		// domains every target lies in its own one, away from healthy holders.
		if len(plans) > 0 {
			p := plans[0]
			fresh, usedNet := freshDomains(byIndex[p.Index], cands, r.ShardSize)
			if len(fresh) >= len(p.Rebuild) {
				doms := map[string]bool{}
				for _, ti := range p.Targets {
					c := cands[ti]
					if c.Subnet != "" && usedNet[c.Subnet] || doms[domainKey(c)] {
						t.Fatalf("segment %d: target %s on subnet %q reuses a domain though %d fresh ones exist",
							p.Index, c.ID, c.Subnet, len(fresh))
					}
					doms[domainKey(c)] = true
				}
			}
		}

		// Determinism: same inputs and seed, same plans; candidate order does not
		// change which nodes are chosen.
		again, err2 := PlanRepair(segs, cands, r, rand.New(rand.NewPCG(seed, 7)))
		if !reflect.DeepEqual(plans, again) || fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Fatalf("not deterministic:\n%+v %v\n%+v %v", plans, err, again, err2)
		}
		perm := rand.New(rand.NewPCG(seed, 8)).Perm(len(cands))
		shuffled := make([]Candidate, len(cands))
		for i, j := range perm {
			shuffled[j] = cands[i]
		}
		other, _ := PlanRepair(segs, shuffled, r, rand.New(rand.NewPCG(seed, 7)))
		if len(other) != len(plans) {
			t.Fatalf("shuffled candidates: %d plans, want %d", len(other), len(plans))
		}
		for i := range plans {
			if !slices.Equal(ids(cands, plans[i].Targets), ids(shuffled, other[i].Targets)) {
				t.Fatalf("segment %d: targets %v, with shuffled candidates %v",
					plans[i].Index, ids(cands, plans[i].Targets), ids(shuffled, other[i].Targets))
			}
		}
	})
}
