package reputation

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// mixed returns subnets×(v+u) candidates, v vetted and u unvetted per subnet, with
// 8 MiB free and Score 1.
func mixed(subnets, v, u int) []Candidate {
	var cs []Candidate
	for s := range subnets {
		for n := range v + u {
			cs = append(cs, Candidate{
				ID:     NodeID(fmt.Sprintf("n%02d-%02d", s, n)),
				Subnet: fmt.Sprintf("10.0.%d.0/24", s),
				Free:   8 * mib,
				Score:  1,
				Vetted: n < v,
			})
		}
	}
	return cs
}

// placeMany runs Place with seeds 0..runs-1 and returns the chosen candidates' indices
// over all runs, failing the test on any error or invariant violation.
func placeMany(t *testing.T, cs []Candidate, r Rules, runs int) []int {
	t.Helper()
	var all []int
	for seed := range uint64(runs) {
		got, err := Place(cs, r, rand.New(rand.NewPCG(seed, 5)))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		checkResult(t, cs, r, got)
		if m := subnetCounts(cs, got); len(m) != min(r.N, len(subnetCounts(cs, allIdx(cs)))) {
			t.Fatalf("seed %d: subnets used %v, want min(N, subnets) distinct", seed, m)
		}
		all = append(all, got...)
	}
	return all
}

func allIdx(cs []Candidate) []int {
	out := make([]int, len(cs))
	for i := range out {
		out[i] = i
	}
	return out
}

func countUnvetted(cs []Candidate, idx []int) int {
	n := 0
	for _, i := range idx {
		if !cs[i].Vetted {
			n++
		}
	}
	return n
}

// TestPlaceUnvettedShare checks the newcomers' share over 20,000 slots. Every subnet
// holds both kinds and N is below the subnet count, so every slot sees both pools and
// the unvetted count is Binomial(20000, share). Seeds are fixed, so the counts are the
// same on every run; the bound (4.5 standard deviations, ±0.7 points at 5%) would
// reject a share off by a fifth.
func TestPlaceUnvettedShare(t *testing.T) {
	cs := mixed(50, 2, 2)
	for _, tt := range []struct {
		name        string
		share, want float64
	}{
		{"default", 0, DefaultUnvettedShare},
		{"explicit 5%", 0.05, 0.05},
		{"custom 20%", 0.2, 0.2},
		{"none", -1, 0},
		{"all", 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			picks := placeMany(t, cs, Rules{N: 10, ShardSize: mib, UnvettedShare: tt.share}, 2000)
			n, unv := float64(len(picks)), float64(countUnvetted(cs, picks))
			mean, sd := n*tt.want, math.Sqrt(n*tt.want*(1-tt.want))
			t.Logf("unvetted %v of %v slots (%.2f%%), want %.2f%% ± %.0f", unv, n, 100*unv/n, 100*tt.want, 4.5*sd)
			if math.Abs(unv-mean) > 4.5*sd {
				t.Errorf("unvetted slots = %v of %v, want %v ± %.0f", unv, n, mean, 4.5*sd)
			}
		})
	}
}

// TestPlaceOnePool checks that a network with only one kind of node fills every slot,
// whatever the share, and keeps subnet diversity.
func TestPlaceOnePool(t *testing.T) {
	for _, kind := range []struct {
		name   string
		cands  []Candidate
		unvett int // unvetted slots expected per placement
	}{
		{"no vetted nodes", mixed(10, 0, 2), 8},
		{"no unvetted nodes", mixed(10, 2, 0), 0},
	} {
		for _, share := range []float64{0, -1, 0.2, 1} {
			t.Run(fmt.Sprintf("%s share %v", kind.name, share), func(t *testing.T) {
				picks := placeMany(t, kind.cands, Rules{N: 8, ShardSize: mib, UnvettedShare: share}, 200)
				if got, want := countUnvetted(kind.cands, picks), 200*kind.unvett; got != want {
					t.Errorf("unvetted slots = %d, want %d", got, want)
				}
			})
		}
	}
}

// TestPlacePoolFallback pins down how pools and subnet rounds interact, with the share
// at its extremes so no coin decides.
func TestPlacePoolFallback(t *testing.T) {
	// 10 unvetted nodes each on its own subnet, and one vetted node on another.
	lone := append(mixed(10, 0, 1), Candidate{ID: "vet", Subnet: "10.9.9.0/24", Free: 8 * mib, Score: 1, Vetted: true})
	// Subnet 0 holds three vetted nodes, subnet 1 three unvetted ones.
	split := mixed(2, 3, 0)
	for i := 3; i < 6; i++ {
		split[i].Subnet, split[i].Vetted = split[0].Subnet, true
	}
	for i := range split[:3] {
		split[i].Subnet, split[i].Vetted = "10.0.1.0/24", false
	}
	tests := []struct {
		name       string
		cands      []Candidate
		rules      Rules
		wantVetted int // vetted nodes chosen in every placement
	}{
		{"no share: the one vetted node is always used", lone, Rules{N: 4, UnvettedShare: -1}, 1},
		{"full share: the vetted node only when needed", lone, Rules{N: 4, UnvettedShare: 1}, 0},
		{"full share, every node needed", lone, Rules{N: 11, UnvettedShare: 1}, 1},
		{"no share: diversity before vetting", split, Rules{N: 2, UnvettedShare: -1}, 1},
		{"no share: rounds alternate subnets", split, Rules{N: 4, UnvettedShare: -1}, 2},
		{"full share: diversity before vetting", split, Rules{N: 2, UnvettedShare: 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(100) {
				got, err := Place(tt.cands, tt.rules, rand.New(rand.NewPCG(seed, 1)))
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				checkResult(t, tt.cands, tt.rules, got)
				if v := len(got) - countUnvetted(tt.cands, got); v != tt.wantVetted {
					t.Fatalf("seed %d: chose %v, %d vetted; want %d", seed, ids(tt.cands, got), v, tt.wantVetted)
				}
			}
		})
	}
}

// TestPlaceZeroScoreNeverChosen: disqualified and suspended nodes (Score 0) get nothing,
// vetted or not, even when the share sends every slot to newcomers.
func TestPlaceZeroScoreNeverChosen(t *testing.T) {
	cs := with(mixed(10, 2, 2), func(i int, c *Candidate) {
		if i%2 == 0 {
			c.Score = 0
		}
	})
	for _, share := range []float64{-1, 0, 0.5, 1} {
		r := Rules{N: 20, UnvettedShare: share}
		for seed := range uint64(50) {
			got, err := Place(cs, r, rand.New(rand.NewPCG(seed, 2)))
			if err != nil {
				t.Fatalf("share %v seed %d: %v", share, seed, err)
			}
			checkResult(t, cs, r, got) // fails on a Score 0 node
		}
		var tf *TooFewError
		if _, err := Place(cs, Rules{N: 21, UnvettedShare: share}, rand.New(rand.NewPCG(1, 2))); !errors.As(err, &tf) || tf.Have != 20 {
			t.Fatalf("share %v, N above the scored nodes: err = %v, want TooFewError with Have 20", share, err)
		}
	}
}

// TestPlaceFavoursScoreInEachPool checks that within either pool higher scores win more
// often. Seeds are fixed, so the counts are the same on every run.
func TestPlaceFavoursScoreInEachPool(t *testing.T) {
	scores := []float64{0.2, 0.5, 0.9}
	cs := with(mixed(30, 1, 1), func(i int, c *Candidate) { c.Score = scores[(i/2)%3] })
	for _, share := range []float64{-1, 1} {
		picks := map[float64]int{}
		for _, i := range placeMany(t, cs, Rules{N: 5, UnvettedShare: share}, 3000) {
			picks[cs[i].Score]++
		}
		t.Logf("share %v: picks by score %v", share, picks)
		// As in TestPlaceFavoursScore: ~5/9, ~3/9, ~1/9 of the picks.
		if !(float64(picks[0.9]) > 1.4*float64(picks[0.5]) && float64(picks[0.5]) > 2*float64(picks[0.2])) {
			t.Errorf("share %v: picks by score %v, want strongly increasing in score", share, picks)
		}
	}
}

func TestPlaceInvalidShare(t *testing.T) {
	cs := mixed(4, 1, 1)
	for _, share := range []float64{math.NaN(), 1.0001, math.Inf(1)} {
		_, err := Place(cs, Rules{N: 2, UnvettedShare: share}, rand.New(rand.NewPCG(1, 1)))
		var tf *TooFewError
		if err == nil || errors.As(err, &tf) {
			t.Errorf("share %v: err = %v, want an invalid-share error", share, err)
		}
	}
	for _, share := range []float64{1, math.Inf(-1), math.SmallestNonzeroFloat64} {
		if _, err := Place(cs, Rules{N: 2, UnvettedShare: share}, rand.New(rand.NewPCG(1, 1))); err != nil {
			t.Errorf("share %v: %v", share, err)
		}
	}
}
