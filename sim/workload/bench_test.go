package workload

import (
	"testing"

	"github.com/cairn-storage/cairn/sim"
)

// BenchmarkArrivals prices the workload per arrival: an upload (gap, size, tag) or a download
// (gap, one Zipf pick over 100,000 files), through the engine.
func BenchmarkArrivals(b *testing.B) {
	cfg := Config{UploadsPerHour: 1000, DownloadsPerHour: 1000, Partners: []PartnerMix{{"a", 1}, {"b", 2}}, UntaggedWeight: 3, DownloadSkew: 1}
	e, g := newGen(b, cfg, 1)
	g.OnDownload = func(_ sim.Time, pick Picker) { pick(100_000) }
	if err := g.Start(0); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		e.Step()
	}
}
