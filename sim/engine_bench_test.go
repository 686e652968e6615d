package sim

import (
	"runtime"
	"testing"
)

// benchHold is the classic hold model: n events pending; each event run
// schedules one more a uniform delay later, so the queue stays at n.
func benchHold(b *testing.B, n int) {
	rng := NewStreams(1).Named("bench")
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	e := New()
	var k Kind
	k, _ = e.Register("hold", func(e *Engine, ev Event) {
		if err := e.After(Duration(rng.Int64N(int64(Second))), k, ev.Node, ev.Arg); err != nil {
			b.Fatal(err)
		}
	})
	e.Reserve(n)
	for i := 0; i < n; i++ {
		if err := e.Schedule(Time(rng.Int64N(int64(Second))), k, int32(i), 0); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	bytes := float64(ms1.HeapAlloc-ms0.HeapAlloc) / float64(n)
	b.ResetTimer()
	for b.Loop() {
		e.Step()
	}
	b.ReportMetric(bytes, "B/pending")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if e.Pending() != n {
		b.Fatalf("pending %d", e.Pending())
	}
}

func BenchmarkEngineHold1K(b *testing.B) { benchHold(b, 1_000) }
func BenchmarkEngineHold1M(b *testing.B) { benchHold(b, 1_000_000) }
