package kad

import (
	"os"
	"strconv"
	"testing"
)

// benchN is the network size of the benchmarks: 100,000, or KAD_BENCH_N.
// KAD_BENCH_N=1000000 go test ./sim/kad -run '^$' -bench . -benchtime 20000x
func benchN(b *testing.B) int {
	if v := os.Getenv("KAD_BENCH_N"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 100000
}

var benchNet struct {
	n   int
	tab *Table
}

func benchTable(b *testing.B) *Table {
	n := benchN(b)
	if benchNet.n != n {
		benchNet.tab, _ = network(b, n, 0, 1)
		benchNet.n = n
	}
	return benchNet.tab
}

// BenchmarkLookup reports lookups per second (K = 20, α = 10, β = 3, no dead
// nodes), mean hops and messages, and state bytes per node.
func BenchmarkLookup(b *testing.B) {
	tab := benchTable(b)
	n := tab.Space().Len()
	l, err := NewLooker(tab, DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	rng := seeded(2)
	hops, msgs := 0, 0
	b.ResetTimer()
	for range b.N {
		r := l.Lookup(int32(rng.IntN(n)), rng.Uint64(), nil)
		hops += r.Hops
		msgs += r.Messages + r.Followups
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	b.ReportMetric(float64(hops)/float64(b.N), "hops")
	b.ReportMetric(float64(msgs)/float64(b.N), "msgs")
	b.ReportMetric(float64(tab.Bytes()+tab.Space().Bytes()+4*n)/float64(n), "B/node")
}

// BenchmarkClosest is the exact mode: the true K closest to a random key.
func BenchmarkClosest(b *testing.B) {
	s := benchTable(b).Space()
	rng := seeded(3)
	var dst []int32
	b.ResetTimer()
	for range b.N {
		dst = s.Closest(dst[:0], rng.Uint64(), DefaultK, nil)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkBuildIdeal builds the IDs and the ideal tables of benchN nodes.
func BenchmarkBuildIdeal(b *testing.B) {
	n := benchN(b)
	for i := range b.N {
		s, err := RandomSpace(n, seeded(uint64(i)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := BuildIdeal(s, DefaultK, seeded(uint64(i)+1)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/node")
}
