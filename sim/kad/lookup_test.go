package kad

import (
	"cmp"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// study is the outcome of many lookups on one network.
type study struct {
	n, alpha     int
	dead         float64
	lookups      int
	hops, msgs   float64 // means
	closestHops  float64
	hopsMax      int
	found        float64 // fraction of lookups that found the closest live node
	overlap      float64 // mean fraction of the true K closest found
	timeouts     float64
	followups    float64
	hopHistogram [16]int
}

func (s study) String() string {
	return fmt.Sprintf("n=%d α=%d dead=%.0f%%: hops %.2f (max %d, to closest %.2f), msgs %.1f, timeouts %.1f, follow-ups %.1f, found %.4f, top-K overlap %.3f, hops histogram %v",
		s.n, s.alpha, 100*s.dead, s.hops, s.hopsMax, s.closestHops, s.msgs, s.timeouts, s.followups, s.found, s.overlap, s.hopHistogram[:s.hopsMax+1])
}

// network builds an ideal table of n nodes with K = 20 and marks a fraction
// dead of them dead (the tables still list them: stale entries).
func network(t testing.TB, n int, dead float64, seed uint64) (*Table, []bool) {
	t.Helper()
	s, err := RandomSpace(n, seeded(seed))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := BuildIdeal(s, DefaultK, seeded(seed+1))
	if err != nil {
		t.Fatal(err)
	}
	return tab, liveMask(n, dead, seed+2)
}

// liveMask marks each of n nodes dead with probability dead.
func liveMask(n int, dead float64, seed uint64) []bool {
	live := make([]bool, n)
	rng := seeded(seed)
	for i := range live {
		live[i] = rng.Float64() >= dead
	}
	return live
}

func runStudy(t testing.TB, tab *Table, live []bool, alpha, lookups int, seed uint64) study {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Alpha = alpha
	l, err := NewLooker(tab, cfg)
	if err != nil {
		t.Fatal(err)
	}
	alive := func(i int32) bool { return live[i] }
	rng := seeded(seed)
	st := study{n: tab.Space().Len(), alpha: alpha, lookups: lookups}
	for _, ok := range live {
		if !ok {
			st.dead++
		}
	}
	st.dead /= float64(len(live))
	for range lookups {
		from := int32(rng.IntN(len(live)))
		for !live[from] {
			from = int32(rng.IntN(len(live)))
		}
		key := rng.Uint64()
		r := l.Lookup(from, key, alive)
		checkResult(t, tab, r, from, key, live)
		st.hops += float64(r.Hops)
		st.closestHops += float64(r.ClosestHops)
		st.hopsMax = max(st.hopsMax, r.Hops)
		st.hopHistogram[min(r.Hops, 15)]++
		st.msgs += float64(r.Messages)
		st.timeouts += float64(r.Timeouts)
		st.followups += float64(r.Followups)
		if r.Found {
			st.found++
		}
		st.overlap += float64(r.Overlap) / float64(min(tab.K(), liveCount(live)-1))
	}
	f := float64(lookups)
	st.hops /= f
	st.closestHops /= f
	st.msgs /= f
	st.timeouts /= f
	st.followups /= f
	st.found /= f
	st.overlap /= f
	return st
}

func liveCount(live []bool) int {
	c := 0
	for _, ok := range live {
		if ok {
			c++
		}
	}
	return c
}

type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// checkResult checks what must hold of every lookup.
func checkResult(t fataler, tab *Table, r Result, from int32, key uint64, live []bool) {
	t.Helper()
	if len(r.Closest) > tab.K() || r.Timeouts > r.Messages || r.Hops > r.Messages {
		t.Fatalf("bad result %+v", r)
	}
	for i, p := range r.Closest {
		if p == from || !live[p] || slices.Contains(r.Closest[i+1:], p) {
			t.Fatalf("Closest %v: %d is the initiator, dead or repeated", r.Closest, p)
		}
	}
	if !slices.IsSortedFunc(r.Closest, func(a, b int32) int {
		return cmp.Compare(tab.Space().ID(a)^key, tab.Space().ID(b)^key)
	}) {
		t.Fatalf("Closest %v not sorted by distance", r.Closest)
	}
}

// Hop counts grow like log n and ideal-table lookups find the closest node.
func TestLookupHopsGrowLogarithmically(t *testing.T) {
	sizes := []int{1000, 10000, 100000}
	if testing.Short() || raceBuild {
		sizes = sizes[:2]
	}
	mean := map[[2]int]float64{}
	for _, n := range sizes {
		tab, live := network(t, n, 0, uint64(n))
		for _, alpha := range []int{DefaultAlpha, 3} {
			st := runStudy(t, tab, live, alpha, 1000, 42)
			t.Logf("%v (hops/log2 n = %.2f)", st, st.hops/math.Log2(float64(n)))
			mean[[2]int{n, alpha}] = st.hops
			if st.found < 0.99 || st.overlap < 0.99 {
				t.Errorf("n=%d α=%d: found the closest in %.3f of lookups, top-K overlap %.3f", n, alpha, st.found, st.overlap)
			}
			if limit := map[int]float64{DefaultAlpha: 5, 3: 6}[alpha]; st.hops >= limit {
				t.Errorf("n=%d α=%d: mean hops %.2f, want < %.0f", n, alpha, st.hops, limit)
			}
		}
	}
	for _, alpha := range []int{DefaultAlpha, 3} {
		small, large := mean[[2]int{sizes[0], alpha}], mean[[2]int{sizes[len(sizes)-1], alpha}]
		for i := 1; i < len(sizes); i++ {
			if a, b := mean[[2]int{sizes[i-1], alpha}], mean[[2]int{sizes[i], alpha}]; b <= a {
				t.Errorf("α=%d: mean hops %.2f at n=%d, not above %.2f at n=%d", alpha, b, sizes[i], a, sizes[i-1])
			}
		}
		if large >= small+3 {
			t.Errorf("α=%d: mean hops %.2f at n=%d against %.2f at n=%d", alpha, large, sizes[len(sizes)-1], small, sizes[0])
		}
	}
}

// With a fifth of the nodes dead but still in everyone's tables, lookups still
// find the closest live node, at the cost of timeouts and a little depth.
func TestLookupWithDeadNodes(t *testing.T) {
	n := 10000
	if !testing.Short() && !raceBuild {
		n = 100000
	}
	tab, all := network(t, n, 0, 7)
	live := liveMask(n, 0.2, 9)
	base := runStudy(t, tab, all, DefaultAlpha, 1000, 8)
	for _, alpha := range []int{DefaultAlpha, 3} {
		st := runStudy(t, tab, live, alpha, 1000, 8)
		t.Log(st)
		if st.found < 0.97 {
			t.Errorf("α=%d: found the closest live node in %.3f of lookups", alpha, st.found)
		}
		if st.hops > base.hops+1 || st.timeouts == 0 {
			t.Errorf("α=%d: mean hops %.2f with dead nodes, %.2f without; %.1f timeouts", alpha, st.hops, base.hops, st.timeouts)
		}
	}
}

// A network no larger than K+1: everyone knows everyone, and a lookup returns
// all the others, nearest first.
func TestLookupSmallNetworkFindsEveryone(t *testing.T) {
	for n := 2; n <= DefaultK+1; n++ {
		tab, live := network(t, n, 0, uint64(n))
		l, _ := NewLooker(tab, DefaultConfig())
		rng := seeded(uint64(n))
		for range 20 {
			from, key := int32(rng.IntN(n)), rng.Uint64()
			r := l.Lookup(from, key, nil)
			checkResult(t, tab, r, from, key, live)
			if len(r.Closest) != n-1 || !r.Found || r.Overlap != n-1 {
				t.Fatalf("n=%d: %+v", n, r)
			}
		}
	}
}

func TestLookupAllOthersDead(t *testing.T) {
	tab, _ := network(t, 500, 0, 3)
	l, _ := NewLooker(tab, DefaultConfig())
	r := l.Lookup(0, 12345, func(i int32) bool { return i == 0 })
	if len(r.Closest) != 0 || r.Found || !r.Starved || r.Timeouts != r.Messages || r.Messages == 0 || r.Hops != 0 {
		t.Fatalf("%+v", r)
	}
}

// Requests in flight overlap: with a constant latency c, time advances in
// whole rounds of c and covers at least the longest chain of answers.
func TestLookupTime(t *testing.T) {
	tab, live := network(t, 5000, 0.2, 4)
	cfg := DefaultConfig()
	cfg.Latency = func(int32, int32) float64 { return 2.5 }
	cfg.Timeout = 5
	l, _ := NewLooker(tab, cfg)
	rng := seeded(5)
	for range 200 {
		r := l.Lookup(int32(rng.IntN(5000)), rng.Uint64(), func(i int32) bool { return live[i] })
		if r.Time < 2.5*float64(r.Hops) || math.Mod(r.Time, 2.5) != 0 || r.Time > 5*float64(r.Messages+1) {
			t.Fatalf("time %v for %+v", r.Time, r)
		}
	}
}

// Same seeds, same everything; nil alive is everyone alive.
func TestLookupDeterministic(t *testing.T) {
	run := func(nilAlive bool) []Result {
		tab, live := network(t, 20000, 0, 99)
		cfg := DefaultConfig()
		cfg.Latency = func(from, to int32) float64 { return float64(uint32(from)*2654435761^uint32(to)*40503) / 1e9 }
		l, _ := NewLooker(tab, cfg)
		alive := func(i int32) bool { return live[i] }
		if nilAlive {
			alive = nil
		}
		rng := seeded(100)
		var out []Result
		for range 300 {
			r := l.Lookup(int32(rng.IntN(20000)), rng.Uint64(), alive)
			r.Closest = slices.Clone(r.Closest)
			out = append(out, r)
		}
		return out
	}
	a, b := run(false), run(true)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs from the same seeds differ")
	}
}

// Invariants on random small networks with random parameters.
func TestLookupInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 300).Draw(t, "n")
		k := rapid.IntRange(1, 12).Draw(t, "k")
		s, err := RandomSpace(n, seeded(rapid.Uint64().Draw(t, "idSeed")))
		if err != nil {
			t.Fatal(err)
		}
		tab, _ := BuildIdeal(s, k, seeded(rapid.Uint64().Draw(t, "tableSeed")))
		cfg := Config{
			Alpha:   rapid.IntRange(1, 12).Draw(t, "alpha"),
			Beta:    rapid.IntRange(1, k).Draw(t, "beta"),
			Timeout: rapid.Float64Range(0, 3).Draw(t, "timeout"),
		}
		l, err := NewLooker(tab, cfg)
		if err != nil {
			t.Fatal(err)
		}
		live := rapid.SliceOfN(rapid.Bool(), n, n).Draw(t, "live")
		for range 5 {
			from := int32(rapid.IntRange(0, n-1).Draw(t, "from"))
			key := rapid.Uint64().Draw(t, "key")
			r := l.Lookup(from, key, func(i int32) bool { return live[i] })
			checkResult(t, tab, r, from, key, live)
			truth := s.Closest(nil, key, k, func(i int32) bool { return i != from && live[i] })
			if r.Found != (len(r.Closest) > 0 && r.Closest[0] == truth[0]) || r.Overlap > len(r.Closest) {
				t.Fatalf("Found/Overlap wrong: %+v, truth %v", r, truth)
			}
		}
	})
}

func TestNewLookerRejects(t *testing.T) {
	tab, _ := network(t, 100, 0, 1)
	for _, cfg := range []Config{{Alpha: 0, Beta: 3}, {Alpha: 3, Beta: 0}, {Alpha: 3, Beta: 21}, {Alpha: 3, Beta: 3, Timeout: -1}, {Alpha: 3, Beta: 3, Timeout: math.NaN()}} {
		if _, err := NewLooker(tab, cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// State bytes per node, K = 20.
func TestMemoryPerNode(t *testing.T) {
	sizes := []int{10000}
	if !testing.Short() && !raceBuild {
		sizes = append(sizes, 100000)
	}
	for _, n := range sizes {
		tab, _ := network(t, n, 0, 1)
		l, _ := NewLooker(tab, DefaultConfig())
		per := float64(tab.Bytes()+tab.Space().Bytes()+4*len(l.seen)) / float64(n)
		t.Logf("n=%d: table %d B, space %d B, looker %d B: %.0f B per node", n, tab.Bytes(), tab.Space().Bytes(), 4*len(l.seen), per)
		if per > 2048 {
			t.Errorf("n=%d: %.0f B per node", n, per)
		}
	}
}
