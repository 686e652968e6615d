package reputation

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

const mib = 1 << 20

// grid returns subnets×per candidates with 8 MiB free and Score 1; subnet "" if subnets == 0.
func grid(subnets, per int) []Candidate {
	var cs []Candidate
	for s := range max(subnets, 1) {
		for n := range per {
			c := Candidate{ID: NodeID(fmt.Sprintf("n%02d-%02d", s, n)), Free: 8 * mib, Score: 1}
			if subnets > 0 {
				c.Subnet = fmt.Sprintf("10.0.%d.0/24", s)
			}
			cs = append(cs, c)
		}
	}
	return cs
}

func with(cs []Candidate, f func(i int, c *Candidate)) []Candidate {
	cs = slices.Clone(cs)
	for i := range cs {
		f(i, &cs[i])
	}
	return cs
}

func ids(cs []Candidate, idx []int) []NodeID {
	out := make([]NodeID, len(idx))
	for i, j := range idx {
		out[i] = cs[j].ID
	}
	return out
}

func sortedIDs(cs []Candidate, idx []int) []NodeID {
	out := ids(cs, idx)
	slices.Sort(out)
	return out
}

func subnetCounts(cs []Candidate, idx []int) map[string]int {
	m := map[string]int{}
	for _, i := range idx {
		m[cs[i].Subnet]++
	}
	return m
}

func TestPlace(t *testing.T) {
	flat := grid(0, 10) // ten nodes, unknown subnets
	tests := []struct {
		name     string
		cands    []Candidate
		rules    Rules
		wantHave int                                           // >= 0: expect *TooFewError with this Have
		check    func(t *testing.T, cs []Candidate, got []int) // optional extra check
	}{
		{name: "exact count", cands: flat, rules: Rules{N: 10, ShardSize: mib}, wantHave: -1,
			check: wantSet(flat[0].ID, flat[1].ID, flat[2].ID, flat[3].ID, flat[4].ID,
				flat[5].ID, flat[6].ID, flat[7].ID, flat[8].ID, flat[9].ID)},
		{name: "fewer than needed", cands: flat, rules: Rules{N: 11, ShardSize: mib}, wantHave: 10},
		{name: "zero shards", cands: flat, rules: Rules{N: 0}, wantHave: -1},
		{name: "no candidates", rules: Rules{N: 1}, wantHave: 0},
		{name: "exclusions", cands: flat,
			rules:    Rules{N: 8, ShardSize: mib, Exclude: []NodeID{"n00-03", "n00-07", "unknown"}},
			wantHave: -1,
			check:    wantSet("n00-00", "n00-01", "n00-02", "n00-04", "n00-05", "n00-06", "n00-08", "n00-09")},
		{name: "exclusions make too few", cands: flat,
			rules: Rules{N: 9, ShardSize: mib, Exclude: []NodeID{"n00-03", "n00-07"}}, wantHave: 8},
		{name: "free-space filter",
			cands: with(flat, func(i int, c *Candidate) {
				if i < 3 {
					c.Free = 4*mib - 1
				}
			}),
			rules: Rules{N: 7, ShardSize: 4 * mib}, wantHave: -1,
			check: wantSet("n00-03", "n00-04", "n00-05", "n00-06", "n00-07", "n00-08", "n00-09")},
		{name: "free exactly shard size is enough",
			cands: with(flat, func(_ int, c *Candidate) { c.Free = 4 * mib }),
			rules: Rules{N: 10, ShardSize: 4 * mib}, wantHave: -1},
		{name: "zero and negative score excluded",
			cands: with(flat, func(i int, c *Candidate) {
				if i == 2 {
					c.Score = 0
				} else if i == 5 {
					c.Score = -1
				}
			}),
			rules: Rules{N: 8}, wantHave: -1,
			check: wantSet("n00-00", "n00-01", "n00-03", "n00-04", "n00-06", "n00-07", "n00-08", "n00-09")},
		{name: "zero score makes too few",
			cands: with(flat, func(_ int, c *Candidate) { c.Score = 0 }), rules: Rules{N: 1}, wantHave: 0},
		{name: "duplicate IDs count once",
			cands: append(slices.Clone(flat), flat[0], flat[1]), rules: Rules{N: 11}, wantHave: 10},
		{name: "10 subnets, N=8: all subnets distinct", cands: grid(10, 3), rules: Rules{N: 8, ShardSize: mib},
			wantHave: -1, check: func(t *testing.T, cs []Candidate, got []int) {
				if m := subnetCounts(cs, got); len(m) != 8 {
					t.Errorf("subnets used = %v, want 8 distinct", m)
				}
			}},
		{name: "3 subnets x 4 nodes, N=8: all subnets, spread 3/3/2", cands: grid(3, 4),
			rules: Rules{N: 8, ShardSize: mib}, wantHave: -1,
			check: func(t *testing.T, cs []Candidate, got []int) {
				counts := subnetCounts(cs, got)
				var c []int
				for _, n := range counts {
					c = append(c, n)
				}
				slices.Sort(c)
				if !slices.Equal(c, []int{2, 3, 3}) {
					t.Errorf("per-subnet counts = %v, want 3 subnets with 2,3,3", counts)
				}
			}},
		{name: "unknown subnets are their own domains",
			cands: append(grid(1, 5), grid(0, 3)...), rules: Rules{N: 4}, wantHave: -1,
			check: func(t *testing.T, cs []Candidate, got []int) {
				// 1 real subnet + 3 unknown-subnet nodes = 4 domains, so each is used once.
				if m := subnetCounts(cs, got); m[""] != 3 || m["10.0.0.0/24"] != 1 {
					t.Errorf("per-subnet counts = %v, want 3 unknown + 1 known", m)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(50) {
				got, err := Place(tt.cands, tt.rules, rand.New(rand.NewPCG(seed, 1)))
				if tt.wantHave >= 0 {
					var tf *TooFewError
					if !errors.As(err, &tf) || tf.Need != tt.rules.N || tf.Have != tt.wantHave {
						t.Fatalf("seed %d: err = %v, want TooFewError{Need: %d, Have: %d}", seed, err, tt.rules.N, tt.wantHave)
					}
					continue
				}
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				checkResult(t, tt.cands, tt.rules, got)
				if tt.check != nil {
					tt.check(t, tt.cands, got)
				}
			}
		})
	}
}

func wantSet(want ...NodeID) func(*testing.T, []Candidate, []int) {
	slices.Sort(want)
	return func(t *testing.T, cs []Candidate, got []int) {
		t.Helper()
		if g := sortedIDs(cs, got); !slices.Equal(g, want) {
			t.Errorf("chose %v, want %v", g, want)
		}
	}
}

// checkResult asserts the invariants every successful Place result must satisfy.
func checkResult(t *testing.T, cs []Candidate, r Rules, got []int) {
	t.Helper()
	if len(got) != r.N {
		t.Fatalf("len = %d, want %d", len(got), r.N)
	}
	seen := map[NodeID]bool{}
	for _, i := range got {
		c := cs[i]
		if seen[c.ID] {
			t.Fatalf("node %s chosen twice in %v", c.ID, ids(cs, got))
		}
		seen[c.ID] = true
		if !(c.Score > 0) || c.Free < r.ShardSize || slices.Contains(r.Exclude, c.ID) {
			t.Fatalf("ineligible node chosen: %+v (rules %+v)", c, r)
		}
	}
}

func TestPlaceNegativeN(t *testing.T) {
	if _, err := Place(grid(0, 3), Rules{N: -1}, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Fatal("want error for N < 0")
	}
}

func TestTooFewErrorText(t *testing.T) {
	cs := grid(0, 5)
	_, err := Place(cs, Rules{N: 8, ShardSize: 4 * mib}, rand.New(rand.NewPCG(1, 1)))
	if got, want := fmt.Sprint(err), "need 8 nodes with >= 4.0 MiB free, have 5"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	cs[0].Score = 0
	_, err = Place(cs, Rules{N: 8, ShardSize: 512, Exclude: []NodeID{"n00-01"}}, rand.New(rand.NewPCG(1, 1)))
	want := "need 8 nodes with >= 512 B free (not counting 1 excluded, 1 with score <= 0), have 3"
	if got := fmt.Sprint(err); got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		4 * mib: "4.0 MiB", 3 << 30: "3.0 GiB", 1 << 62: "4.0 EiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPlaceDeterministic(t *testing.T) {
	cs := with(grid(7, 5), func(i int, c *Candidate) {
		c.Score = float64(i%10+1) / 10
		c.Free = int64(i%4+1) * mib
		c.Vetted = i%3 != 0
	})
	r := Rules{N: 12, ShardSize: 2 * mib, Exclude: []NodeID{"n01-01"}, UnvettedShare: 0.3}
	base, err := Place(cs, r, rand.New(rand.NewPCG(42, 7)))
	if err != nil {
		t.Fatal(err)
	}
	want := ids(cs, base)
	for i := range 20 {
		got, err := Place(cs, r, rand.New(rand.NewPCG(42, 7)))
		if err != nil || !slices.Equal(ids(cs, got), want) {
			t.Fatalf("run %d: got %v, %v; want %v", i, ids(cs, got), err, want)
		}
		perm := slices.Clone(cs)
		rand.New(rand.NewPCG(uint64(i), 0)).Shuffle(len(perm), func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
		got, err = Place(perm, r, rand.New(rand.NewPCG(42, 7)))
		if err != nil || !slices.Equal(ids(perm, got), want) {
			t.Fatalf("permutation %d: got %v, %v; want %v", i, ids(perm, got), err, want)
		}
	}
}

// TestPlaceFavoursScore checks over many seeded draws that pick frequency rises with
// Score. Seeds are fixed, so the counts are the same on every run.
func TestPlaceFavoursScore(t *testing.T) {
	scores := []float64{0.2, 0.5, 0.9}
	cs := with(grid(30, 1), func(i int, c *Candidate) { c.Score = scores[i%3] })
	picks := map[float64]int{}
	for seed := range uint64(3000) {
		got, err := Place(cs, Rules{N: 5}, rand.New(rand.NewPCG(seed, 99)))
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range got {
			picks[cs[i].Score]++
		}
	}
	t.Logf("picks by score: %v", picks)
	// With two uniform draws a pick lands in the top third with p ~5/9, the middle ~3/9,
	// the bottom ~1/9 (uniform choice would give 1/3 each).
	if !(float64(picks[0.9]) > 1.4*float64(picks[0.5]) && float64(picks[0.5]) > 2*float64(picks[0.2])) {
		t.Errorf("picks by score %v: want strongly increasing in score", picks)
	}
}

// TestPlaceTieBreakFree checks that on equal Score the node with less free space loses.
func TestPlaceTieBreakFree(t *testing.T) {
	cs := []Candidate{{ID: "small", Free: mib, Score: 0.5}, {ID: "big", Free: 9 * mib, Score: 0.5}}
	wins := map[NodeID]int{}
	for seed := range uint64(2000) {
		got, err := Place(cs, Rules{N: 1}, rand.New(rand.NewPCG(seed, 3)))
		if err != nil {
			t.Fatal(err)
		}
		wins[cs[got[0]].ID]++
	}
	// "small" only wins when both draws hit it: ~1/4.
	if wins["big"] < 2*wins["small"] {
		t.Errorf("wins %v: want the node with more free space to win ~3/4", wins)
	}
}

func BenchmarkPlace(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	cs := make([]Candidate, 1000)
	for i := range cs {
		cs[i] = Candidate{
			ID:     NodeID(fmt.Sprintf("node-%04d", i)),
			Subnet: fmt.Sprintf("10.%d.%d.0/24", i%3, rng.IntN(100)), // ~300 subnets
			Free:   rng.Int64N(64 * mib),
			Score:  rng.Float64(),
		}
	}
	r := Rules{N: 80, ShardSize: 4 * mib, Exclude: []NodeID{"node-0001", "node-0500"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Place(cs, r, rng); err != nil {
			b.Fatal(err)
		}
	}
}
