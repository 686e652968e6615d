package reputation

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// seg builds a segment from a pattern: 'h' healthy, '.' missing; shard i is held
// by "h<index>-<i>" unless holders overrides it.
func seg(index int, pattern string, holders ...NodeID) SegmentHealth {
	s := SegmentHealth{Index: index}
	for i, c := range pattern {
		h := NodeID(fmt.Sprintf("h%d-%d", index, i))
		if i < len(holders) {
			h = holders[i]
		}
		s.Shards = append(s.Shards, ShardState{Healthy: c == 'h', Holder: h})
	}
	return s
}

func TestPlanRepair(t *testing.T) {
	rules := RepairRules{K: 4, N: 8, ShardSize: mib} // default threshold 6
	tests := []struct {
		name      string
		segs      []SegmentHealth
		cands     []Candidate
		rules     RepairRules
		want      []SegmentPlan // Targets are checked by checkPlans, not here
		unrecov   []int
		unplaced  []int
		errSubstr string
	}{
		{
			name:  "healthy enough segments are skipped",
			segs:  []SegmentHealth{seg(0, "hhhhhhhh"), seg(1, "hhhhhh..")},
			cands: grid(8, 2), rules: rules,
		},
		{
			name:  "most endangered first, ties by index",
			segs:  []SegmentHealth{seg(3, "hhhhh..."), seg(1, ".hhhh..."), seg(0, "hhhhh..."), seg(2, "h.h.h.hh")},
			cands: grid(8, 2), rules: rules,
			want: []SegmentPlan{
				{Index: 1, Read: []int{1, 2, 3, 4}, Rebuild: []int{0, 5, 6, 7}},
				{Index: 0, Read: []int{0, 1, 2, 3}, Rebuild: []int{5, 6, 7}},
				{Index: 2, Read: []int{0, 2, 4, 6}, Rebuild: []int{1, 3, 5}},
				{Index: 3, Read: []int{0, 1, 2, 3}, Rebuild: []int{5, 6, 7}},
			},
		},
		{
			name:  "MaxSegments bounds the plan",
			segs:  []SegmentHealth{seg(0, "hhhhh..."), seg(1, "hhhh....")},
			cands: grid(8, 2), rules: RepairRules{K: 4, N: 8, ShardSize: mib, MaxSegments: 1},
			want: []SegmentPlan{{Index: 1, Read: []int{0, 1, 2, 3}, Rebuild: []int{4, 5, 6, 7}}},
		},
		{
			name:  "explicit threshold N repairs any loss",
			segs:  []SegmentHealth{seg(0, "hhhhhhh.")},
			cands: grid(8, 2), rules: RepairRules{K: 4, N: 8, Threshold: 8, ShardSize: mib},
			want: []SegmentPlan{{Index: 0, Read: []int{0, 1, 2, 3}, Rebuild: []int{7}}},
		},
		{
			name:  "reads spread over holders before preferring data shards",
			segs:  []SegmentHealth{seg(0, "hhhhh...", "a", "a", "b", "c", "d")},
			cands: grid(8, 2), rules: rules,
			want: []SegmentPlan{{Index: 0, Read: []int{0, 2, 3, 4}, Rebuild: []int{5, 6, 7}}},
		},
		{
			name:  "one holder of everything is read K times",
			segs:  []SegmentHealth{seg(0, ".hhhhh..", "x", "x", "x", "x", "x", "x")},
			cands: grid(8, 2), rules: rules,
			want: []SegmentPlan{{Index: 0, Read: []int{1, 2, 3, 4}, Rebuild: []int{0, 6, 7}}},
		},
		{
			name:  "unrecoverable is reported and others still planned",
			segs:  []SegmentHealth{seg(0, "hhh....."), seg(1, "hhhhh..."), seg(2, "........")},
			cands: grid(8, 2), rules: rules,
			want:    []SegmentPlan{{Index: 1, Read: []int{0, 1, 2, 3}, Rebuild: []int{5, 6, 7}}},
			unrecov: []int{2, 0},
		},
		{
			name:  "too few targets rebuilds the lowest missing shards",
			segs:  []SegmentHealth{seg(0, "h.hhh..h")},
			cands: grid(2, 1), rules: rules,
			want:     []SegmentPlan{{Index: 0, Read: []int{0, 2, 3, 4}, Rebuild: []int{1, 5}}},
			unplaced: []int{0},
		},
		{
			name: "holders are never targets",
			segs: []SegmentHealth{seg(0, "hhhhh...", "n00-00", "n01-00", "n02-00", "n03-00", "n04-00", "n05-00", "n06-00", "n07-00")},
			// every candidate holds a shard (healthy or not): nothing to place on
			cands: grid(8, 1), rules: rules,
			unplaced: []int{0},
		},
		{
			name:     "free space is charged across segments",
			segs:     []SegmentHealth{seg(0, "hhhhhhh.", "a", "b", "c", "d", "e", "f", "g", "h"), seg(1, "hhhhhhh.", "a", "b", "c", "d", "e", "f", "g", "h")},
			cands:    with(grid(1, 1), func(_ int, c *Candidate) { c.Free = mib }),
			rules:    RepairRules{K: 4, N: 8, Threshold: 8, ShardSize: mib},
			want:     []SegmentPlan{{Index: 0, Read: []int{0, 1, 2, 3}, Rebuild: []int{7}}},
			unplaced: []int{1},
		},
		{name: "bad K", rules: RepairRules{K: 0, N: 8}, errSubstr: "K=0 N=8"},
		{name: "N not above K", rules: RepairRules{K: 4, N: 4}, errSubstr: "K=4 N=4"},
		{name: "threshold at K", rules: RepairRules{K: 4, N: 8, Threshold: 4}, errSubstr: "threshold 4"},
		{name: "threshold above N", rules: RepairRules{K: 4, N: 8, Threshold: 9}, errSubstr: "threshold 9"},
		{name: "negative shard size", rules: RepairRules{K: 4, N: 8, ShardSize: -1}, errSubstr: "shard size -1"},
		{name: "negative MaxSegments", rules: RepairRules{K: 4, N: 8, MaxSegments: -1}, errSubstr: "MaxSegments -1"},
		{name: "wrong shard count", segs: []SegmentHealth{seg(5, "hhhh...")}, rules: rules, errSubstr: "segment 5 has 7 shard states"},
		{name: "duplicate segment", segs: []SegmentHealth{seg(5, "hhhhh..."), seg(5, "hhhhhh..")}, rules: rules, errSubstr: "segment 5 listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PlanRepair(tc.segs, tc.cands, tc.rules, rand.New(rand.NewPCG(1, 2)))
			if tc.errSubstr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSubstr) || got != nil {
					t.Fatalf("got %v, %v; want no plans and an error mentioning %q", got, err, tc.errSubstr)
				}
				return
			}
			var short *RepairShortfall
			if (tc.unrecov != nil || tc.unplaced != nil) != errors.As(err, &short) {
				t.Fatalf("error %v, want shortfall %v/%v", err, tc.unrecov, tc.unplaced)
			}
			if short != nil && (!slices.Equal(short.Unrecoverable, tc.unrecov) || !slices.Equal(short.Unplaced, tc.unplaced)) {
				t.Fatalf("shortfall %+v, want unrecoverable %v unplaced %v", short, tc.unrecov, tc.unplaced)
			}
			if err != nil && short == nil {
				t.Fatal(err)
			}
			checkPlans(t, tc.segs, tc.cands, tc.rules, got)
			stripped := make([]SegmentPlan, len(got))
			for i, p := range got {
				stripped[i] = SegmentPlan{Index: p.Index, Read: p.Read, Rebuild: p.Rebuild}
			}
			if len(tc.want) == 0 && len(stripped) == 0 {
				return
			}
			if !reflect.DeepEqual(stripped, tc.want) {
				t.Fatalf("plans\n%+v\nwant\n%+v", stripped, tc.want)
			}
		})
	}
}

// checkPlans asserts what must hold for every plan, whatever the rng drew.
func checkPlans(t interface {
	Helper()
	Fatalf(string, ...any)
}, segs []SegmentHealth, cands []Candidate, r RepairRules, plans []SegmentPlan) {
	t.Helper()
	byIndex := map[int]SegmentHealth{}
	for _, s := range segs {
		byIndex[s.Index] = s
	}
	charged := map[int]int64{}
	for _, p := range plans {
		s := byIndex[p.Index]
		if len(p.Read) != r.K || !slices.IsSorted(p.Read) || len(slices.Compact(slices.Clone(p.Read))) != r.K {
			t.Fatalf("segment %d: reads %v, want %d distinct ascending", p.Index, p.Read, r.K)
		}
		for _, i := range p.Read {
			if i < 0 || i >= r.N || !s.Shards[i].Healthy {
				t.Fatalf("segment %d: reads shard %d, which is not healthy", p.Index, i)
			}
		}
		if len(p.Rebuild) == 0 || len(p.Targets) != len(p.Rebuild) || !slices.IsSorted(p.Rebuild) {
			t.Fatalf("segment %d: rebuild %v targets %v", p.Index, p.Rebuild, p.Targets)
		}
		for _, i := range p.Rebuild {
			if s.Shards[i].Healthy {
				t.Fatalf("segment %d: rebuilds healthy shard %d", p.Index, i)
			}
		}
		seen := map[NodeID]bool{}
		for _, ti := range p.Targets {
			c := cands[ti]
			if seen[c.ID] {
				t.Fatalf("segment %d: node %s targeted twice", p.Index, c.ID)
			}
			seen[c.ID] = true
			for _, sh := range s.Shards {
				if sh.Holder == c.ID {
					t.Fatalf("segment %d: target %s already holds a shard of it", p.Index, c.ID)
				}
			}
			if !(c.Score > 0) {
				t.Fatalf("segment %d: target %s has score %v", p.Index, c.ID, c.Score)
			}
			charged[ti] += r.ShardSize
			if charged[ti] > c.Free {
				t.Fatalf("node %s given %d bytes, has %d free", c.ID, charged[ti], c.Free)
			}
		}
	}
}
