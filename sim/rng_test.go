package sim

import "testing"

// TestStreamsPinned pins the (seed, id) → stream mapping: changing it silently
// changes every published result.
func TestStreamsPinned(t *testing.T) {
	s := NewStreams(1)
	got := [3]uint64{s.Rand(0).Uint64(), s.Rand(1).Uint64(), s.Named("churn/session").Uint64()}
	want := [3]uint64{0xa1099dd409ed649c, 0x1561e3c30d72b28c, 0x93484046583bde66}
	if got != want {
		t.Fatalf("streams changed: %#x, pinned %#x", got, want)
	}
}

func TestStreamsIndependent(t *testing.T) {
	s := NewStreams(7)
	// Stream 2 gives the same draws whether or not stream 1 was used before it.
	a := s.Rand(2)
	first := [4]uint64{a.Uint64(), a.Uint64(), a.Uint64(), a.Uint64()}
	b1 := s.Rand(1)
	for range 1000 {
		b1.Uint64()
	}
	b := s.Rand(2)
	for i := range first {
		if v := b.Uint64(); v != first[i] {
			t.Fatalf("draw %d of stream 2 moved: %#x vs %#x", i, v, first[i])
		}
	}
	// Nearby seeds, ids and names give unrelated first draws.
	seen := map[uint64]string{}
	note := func(v uint64, what string) {
		if prev, ok := seen[v]; ok {
			t.Fatalf("%s and %s start alike", what, prev)
		}
		seen[v] = what
	}
	for seed := range uint64(50) {
		for id := range uint64(50) {
			note(NewStreams(seed).Rand(id).Uint64(), "seed/id")
		}
	}
	for _, n := range []string{"churn/1", "churn/2", "churn/10", "latency", "kad"} {
		note(s.Named(n).Uint64(), n)
	}
	if s.Seed() != 7 {
		t.Fatal("seed lost")
	}
}

// TestStreamsUniform is a coarse check that the mixing leaves no obvious bias:
// the first draw of 20,000 consecutive streams spread over 16 buckets.
func TestStreamsUniform(t *testing.T) {
	s := NewStreams(3)
	const n, buckets = 20000, 16
	var c [buckets]int
	for id := range uint64(n) {
		c[s.Rand(id).Uint64()>>60]++
	}
	chi := 0.0
	exp := float64(n) / buckets
	for _, o := range c {
		d := float64(o) - exp
		chi += d * d / exp
	}
	// chi-square, 15 degrees of freedom: 30.58 at alpha 0.01.
	if chi > 30.58 {
		t.Fatalf("chi-square %.1f over %v", chi, c)
	}
}
