package network

import (
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/sim"
)

// BenchmarkNetwork100k runs the whole model: 100,000 nodes (NETWORK_BENCH_NODES) for 30
// simulated days (NETWORK_BENCH_DAYS) under durability-10k's Weibull churn (0.4% of session
// ends depart, 35 arrivals an hour to make up for them), 2% data-dropping and 1% audit-cheating
// nodes, audits every 6 hours (NETWORK_BENCH_AUDIT; the node's default is 1h), repair every
// 10 minutes (the node's default), and a Poisson workload of 100 uploads and 200 downloads an
// hour (lognormal sizes, median 4 MiB, σ = 1). Run it once:
//
//	go test ./sim/network -run '^$' -bench Network100k -benchtime 1x -timeout 60m
func BenchmarkNetwork100k(b *testing.B) {
	nodes, days := envInt("NETWORK_BENCH_NODES", 100_000), envInt("NETWORK_BENCH_DAYS", 30)
	cfg := DefaultConfig()
	cfg.AuditInterval = 6 * sim.Hour
	if s := os.Getenv("NETWORK_BENCH_AUDIT"); s != "" {
		d, err := sim.ParseDuration(s)
		if err != nil {
			b.Fatal(err)
		}
		cfg.AuditInterval = d
	}
	cfg.Behaviours.DataDropping, cfg.Behaviours.AuditCheating = 0.02, 0.01
	for range b.N {
		start := time.Now()
		m := durabilityChurn(0.004)
		m.ArrivalsPerHour = 35
		w := newWorld(b, cfg, nodes, 1, &m)
		w.startWorkload(b, 1, 100, 200, 4<<20)
		built := time.Since(start)
		w.eng.Run(sim.Time(sim.Duration(days) * sim.Day))
		if err := w.net.Err(); err != nil {
			b.Fatal(err)
		}
		wall := time.Since(start)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s := w.net.Summary()
		b.ReportMetric(wall.Seconds(), "wall_s")
		b.ReportMetric(built.Seconds(), "build_s")
		b.ReportMetric(float64(w.eng.Processed())/wall.Seconds(), "events/s")
		b.ReportMetric(float64(w.eng.Processed()), "events")
		b.ReportMetric(float64(ms.HeapAlloc)/float64(w.net.Len()), "heap_B/node")
		b.ReportMetric(float64(w.net.StateBytes())/float64(w.net.Len()), "state_B/node")
		b.ReportMetric(float64(s.AuditPass+s.AuditFail+s.AuditMiss), "audits")
		b.ReportMetric(float64(s.Files), "files")
		b.ReportMetric(float64(s.AuditPass+s.AuditFail+s.AuditMiss)/wall.Seconds(), "audits/s")
		b.Logf("summary: %+v", s)
		runtime.KeepAlive(w)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
