package kadcheck

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

var (
	flagNodes   = flag.Int("kadcheck.nodes", 0, "real DHT nodes (0: 100, or 32 with -short or -race)")
	flagLookups = flag.Int("kadcheck.lookups", 0, "lookups (0: 250, or 150 with -short or -race)")
	flagLatency = flag.Duration("kadcheck.latency", 5*time.Millisecond, "one-way mocknet link latency during the lookups")
	flagSeed    = flag.Uint64("kadcheck.seed", 1, "seed")
	flagOut     = flag.String("kadcheck.out", "", "directory for report.md, report.json and hops.png")
)

// The model, routing over the real tables, gives the real DHT's hop-count
// distribution (χ² p > 0.01), and replaying the real order of answers it
// gives each lookup's exact hops and requests. The checks on the measurement
// fail if the events are misread: hops outside 1..6, no lookup past the
// initiator's own table, or answers that are not the snapshot tables'.
//
// Full size: go test ./sim/kadcheck -run TestHopsMatchRealDHT -v -timeout 30m \
// -kadcheck.nodes=300 -kadcheck.lookups=500 -kadcheck.latency=10ms -kadcheck.out=/tmp/kadcheck
func TestHopsMatchRealDHT(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Nodes, cfg.Lookups, cfg.Seed, cfg.LinkLatency = 100, 250, *flagSeed, *flagLatency
	if testing.Short() || raceEnabled {
		// A small network, and buckets small enough for it to need more
		// than one hop: K = 8, α = 3 (both sides alike, as always).
		cfg.Nodes, cfg.Lookups, cfg.K, cfg.Alpha = 32, 150, 8, 3
	}
	if *flagNodes > 0 {
		cfg.Nodes = *flagNodes
	}
	if *flagLookups > 0 {
		cfg.Lookups = *flagLookups
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	before := runtime.NumGoroutine()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Run closed every node: their goroutines wind down.
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before+2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("%d goroutines before Run, %d after", before, runtime.NumGoroutine())
			break
		}
	}
	t.Logf("\n%s", rep.Markdown())
	if *flagOut != "" {
		if err := rep.WriteFiles(*flagOut); err != nil {
			t.Fatal(err)
		}
	}
	if len(rep.RealHops) != cfg.Lookups || len(rep.ModelHops) != cfg.Lookups || len(rep.ReplayHops) != cfg.Lookups || len(rep.IdealHops) != cfg.Lookups {
		t.Fatalf("hop samples of %d, %d, %d, %d for %d lookups", len(rep.RealHops), len(rep.ModelHops), len(rep.ReplayHops), len(rep.IdealHops), cfg.Lookups)
	}
	for i, h := range rep.RealHops {
		if h < 1 || h > 6 {
			t.Fatalf("lookup %d: %d real hops, want 1..6", i, h)
		}
	}
	if m := Mean(rep.RealHops); m <= 1 {
		t.Errorf("real mean hops %.3f: no lookup went past the initiator's own table", m)
	}
	if rep.Answers < cfg.Lookups || float64(rep.AnswersMatched) < 0.99*float64(rep.Answers) {
		t.Errorf("%d of %d real answers match the snapshot tables", rep.AnswersMatched, rep.Answers)
	}
	if rep.ReplayExact < 0.99 {
		t.Errorf("the replay of the real order gave the real hops and requests in %.1f %% of lookups", 100*rep.ReplayExact)
	}
	if rep.Model.P <= 0.01 {
		t.Errorf("model over the real tables: χ² = %.2f (df %d), p = %.4f", rep.Model.ChiSquare, rep.Model.DF, rep.Model.P)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, edit := range map[string]func(*Config){
		"Nodes":       func(c *Config) { c.Nodes = 1 },
		"Beta":        func(c *Config) { c.Beta = c.K + 1 },
		"Lookups":     func(c *Config) { c.Lookups = 0 },
		"LinkLatency": func(c *Config) { c.LinkLatency = -1 },
	} {
		cfg := DefaultConfig()
		edit(&cfg)
		if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

// The report renders and plots without a network.
func TestReportOutputs(t *testing.T) {
	rep := &Report{Config: DefaultConfig(), RealHops: []int{1, 2, 2, 3}, ModelHops: []int{1, 2, 2, 2},
		ReplayHops: []int{1, 2, 2, 3}, IdealHops: []int{2, 2, 2, 2}}
	rep.Model.Name, rep.Replay.Name, rep.Ideal.Name = "a", "b", "c"
	md := rep.Markdown()
	if !strings.Contains(md, "| real go-libp2p-kad-dht | 2.000 | 1 | 2 | 1 |") || !strings.Contains(md, "| 1 hops | 2 hops | 3 hops |") {
		t.Fatalf("markdown:\n%s", md)
	}
	dir := t.TempDir()
	if err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.md", "report.json", "hops.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
}
