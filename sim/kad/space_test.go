package kad

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// bruteClosest is Closest by sorting everyone.
func bruteClosest(s *Space, key uint64, k int, ok func(int32) bool) []int32 {
	var all []int32
	for i := range s.Len() {
		if ok == nil || ok(int32(i)) {
			all = append(all, int32(i))
		}
	}
	slices.SortFunc(all, func(a, b int32) int { return cmp.Compare(s.ID(a)^key, s.ID(b)^key) })
	return all[:min(k, len(all))]
}

// clusteredIDs draws IDs that share long prefixes (the trie's hard cases):
// each is a random one of a few stems with its low bits randomised.
func clusteredIDs(t *rapid.T, label string) []uint64 {
	n := rapid.IntRange(1, 300).Draw(t, label+"n")
	stems := rapid.SliceOfN(rapid.Uint64(), 1, 4).Draw(t, label+"stems")
	low := rapid.IntRange(1, 64).Draw(t, label+"lowbits")
	mask := ^uint64(0) >> (64 - low)
	seen := map[uint64]bool{}
	var ids []uint64
	for range n {
		stem := stems[rapid.IntRange(0, len(stems)-1).Draw(t, "stem")]
		x := stem&^mask | rapid.Uint64().Draw(t, "low")&mask
		if !seen[x] {
			seen[x] = true
			ids = append(ids, x)
		}
	}
	return ids
}

func TestClosestMatchesBruteForce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ids := clusteredIDs(t, "")
		s, err := NewSpace(ids)
		if err != nil {
			t.Fatal(err)
		}
		key := rapid.Uint64().Draw(t, "key")
		if rapid.Bool().Draw(t, "keyIsNode") {
			key = ids[rapid.IntRange(0, len(ids)-1).Draw(t, "keyNode")]
		}
		k := rapid.IntRange(0, 40).Draw(t, "k")
		var ok func(int32) bool
		if rapid.Bool().Draw(t, "filter") {
			live := rapid.SliceOfN(rapid.Bool(), len(ids), len(ids)).Draw(t, "live")
			ok = func(i int32) bool { return live[i] }
		}
		got := s.Closest([]int32{-7}, key, k, ok) // appends after what dst holds
		want := append([]int32{-7}, bruteClosest(s, key, k, ok)...)
		if !slices.Equal(got, want) {
			t.Fatalf("Closest = %v, brute force %v", got, want)
		}
	})
}

func TestNewSpaceRejects(t *testing.T) {
	if _, err := NewSpace(nil); err == nil {
		t.Error("empty space accepted")
	}
	if _, err := NewSpace([]uint64{5, 9, 5}); err == nil {
		t.Error("duplicate IDs accepted")
	}
}

func TestRandomSpaceDistinctAndSeeded(t *testing.T) {
	a, err := RandomSpace(5000, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := RandomSpace(5000, rand.New(rand.NewPCG(1, 2)))
	if !slices.Equal(a.id, b.id) {
		t.Fatal("same seed, different IDs")
	}
	if len(duplicates(a.id)) != 0 {
		t.Fatal("duplicate IDs")
	}
	if _, err := RandomSpace(0, rand.New(rand.NewPCG(1, 2))); err == nil {
		t.Error("0 nodes accepted")
	}
}

// A source with a tiny range forces RandomSpace to redraw duplicates.
type smallSource struct{ r *rand.PCG }

func (s smallSource) Uint64() uint64 { return s.r.Uint64() % 64 }

func TestRandomSpaceRedrawsDuplicates(t *testing.T) {
	s, err := RandomSpace(50, rand.New(smallSource{rand.NewPCG(3, 4)}))
	if err != nil {
		t.Fatal(err)
	}
	if len(duplicates(s.id)) != 0 {
		t.Fatal("duplicate IDs")
	}
}
