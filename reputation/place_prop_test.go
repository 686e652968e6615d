package reputation

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// genInput draws a small candidate pool (some exact duplicates, unknown subnets,
// unusable scores and sizes) and rules that sometimes cannot be met.
func genInput(t *rapid.T) ([]Candidate, Rules) {
	n := rapid.IntRange(0, 30).Draw(t, "nodes")
	// Vetted: none, all, or each node at random, so one-pool networks come up often.
	vetMode := rapid.IntRange(0, 2).Draw(t, "vetMode")
	subnets := []string{"", "a/24", "b/24", "c/24", "d/24", "e/24"}
	subnets = subnets[:rapid.IntRange(1, len(subnets)).Draw(t, "nsub")]
	cs := make([]Candidate, n)
	for i := range cs {
		cs[i] = Candidate{
			ID:     NodeID(fmt.Sprintf("n%02d", i)),
			Subnet: rapid.SampledFrom(subnets).Draw(t, "subnet"),
			Free:   rapid.Int64Range(0, 10).Draw(t, "free"),
			Score:  rapid.SampledFrom([]float64{math.NaN(), -1, 0, 0.01, 0.3, 0.7, 1}).Draw(t, "score"),
			Vetted: vetMode == 1 || vetMode == 2 && rapid.Bool().Draw(t, "vetted"),
		}
	}
	if n > 0 {
		for _, i := range rapid.SliceOfN(rapid.IntRange(0, n-1), 0, 3).Draw(t, "dups") {
			cs = append(cs, cs[i]) // exact copies: the same node listed twice
		}
	}
	r := Rules{N: rapid.IntRange(0, 16).Draw(t, "N"), ShardSize: rapid.Int64Range(0, 8).Draw(t, "shard"),
		UnvettedShare: rapid.SampledFrom([]float64{0, -1, 0.05, 0.5, 1}).Draw(t, "share")}
	for _, i := range rapid.SliceOfN(rapid.IntRange(0, 40), 0, 5).Draw(t, "exclude") {
		r.Exclude = append(r.Exclude, NodeID(fmt.Sprintf("n%02d", i)))
	}
	return cs, r
}

// domainKey is an independent statement of the diversity domain of a candidate.
func domainKey(c Candidate) string {
	if c.Subnet == "" {
		return "id:" + string(c.ID)
	}
	return "net:" + c.Subnet
}

func TestPlaceProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cs, r := genInput(t)
		seed := rapid.Uint64().Draw(t, "seed")

		// Oracle: eligible distinct nodes and the capacity of each domain.
		elig := map[NodeID]bool{}
		capacity := map[string]int{}
		for _, c := range cs { // duplicates are exact copies, so the first entry will do
			if c.Score > 0 && c.Free >= r.ShardSize && !slices.Contains(r.Exclude, c.ID) && !elig[c.ID] {
				elig[c.ID] = true
				capacity[domainKey(c)]++
			}
		}

		got, err := Place(cs, r, rand.New(rand.NewPCG(seed, 0)))
		if len(elig) < r.N {
			var tf *TooFewError
			if !errors.As(err, &tf) || tf.Need != r.N || tf.Have != len(elig) {
				t.Fatalf("eligible %d < N %d: got %v, %v; want TooFewError", len(elig), r.N, got, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("eligible %d >= N %d: unexpected error %v", len(elig), r.N, err)
		}
		if len(got) != r.N {
			t.Fatalf("len = %d, want %d", len(got), r.N)
		}
		seen := map[NodeID]bool{}
		count := map[string]int{}
		top := 0
		for _, i := range got {
			c := cs[i]
			if !elig[c.ID] || seen[c.ID] {
				t.Fatalf("chose %+v: eligible=%v, already chosen=%v", c, elig[c.ID], seen[c.ID])
			}
			seen[c.ID] = true
			count[domainKey(c)]++
			top = max(top, count[domainKey(c)])
		}
		if want := min(r.N, len(capacity)); len(count) != want {
			t.Fatalf("distinct domains = %d, want min(N=%d, eligible domains=%d)", len(count), r.N, len(capacity))
		}
		// Balanced fill: no domain falls two shards behind the fullest unless it ran out of nodes.
		for d, c := range capacity {
			if count[d] < min(c, top-1) {
				t.Fatalf("domain %s got %d shards (capacity %d) while another got %d", d, count[d], c, top)
			}
		}

		checkRounds(t, cs, r, got)

		// Order independence: any permutation, same seed, same chosen IDs in the same order.
		perm := rapid.Permutation(cs).Draw(t, "perm")
		got2, err := Place(perm, r, rand.New(rand.NewPCG(seed, 0)))
		if err != nil || !slices.Equal(ids(perm, got2), ids(cs, got)) {
			t.Fatalf("permuted input: got %v, %v; want %v", ids(perm, got2), err, ids(cs, got))
		}
	})
}

// checkRounds replays got against the documented rule: slots are filled in rounds in
// which every domain with eligible nodes left gives one node before any gives a second,
// and a slot goes to the pool the share excludes only if no open domain of the round
// has a node of the other pool. Which pool wins when the share is strictly between 0
// and 1 is the coin's business; TestPlaceUnvettedShare checks its rate.
func checkRounds(t *rapid.T, cs []Candidate, r Rules, got []int) {
	left := map[string][2]int{} // eligible nodes per domain not yet chosen: [vetted, unvetted]
	seen := map[NodeID]bool{}
	for _, c := range cs {
		if c.Score > 0 && c.Free >= r.ShardSize && !slices.Contains(r.Exclude, c.ID) && !seen[c.ID] {
			seen[c.ID] = true
			l := left[domainKey(c)]
			l[vetIdx(c)]++
			left[domainKey(c)] = l
		}
	}
	open := map[string]bool{}
	for slot, i := range got {
		if len(open) == 0 {
			for d, l := range left {
				if l[0]+l[1] > 0 {
					open[d] = true
				}
			}
		}
		c := cs[i]
		d := domainKey(c)
		if !open[d] {
			t.Fatalf("slot %d: %s's domain %s used twice in one round (open %v)", slot, c.ID, d, open)
		}
		var has [2]bool
		for o := range open {
			has[0] = has[0] || left[o][0] > 0
			has[1] = has[1] || left[o][1] > 0
		}
		switch {
		case r.UnvettedShare < 0 && !c.Vetted && has[0]:
			t.Fatalf("slot %d: share none, unvetted %s chosen while an open domain has a vetted node", slot, c.ID)
		case r.UnvettedShare == 1 && c.Vetted && has[1]:
			t.Fatalf("slot %d: share 1, vetted %s chosen while an open domain has an unvetted node", slot, c.ID)
		}
		l := left[d]
		l[vetIdx(c)]--
		left[d] = l
		delete(open, d)
	}
}

func vetIdx(c Candidate) int {
	if c.Vetted {
		return 0
	}
	return 1
}
