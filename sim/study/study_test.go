package study

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
	"github.com/cairn-storage/cairn/sim/scenario"
)

func load(t *testing.T, name string) scenario.Scenario {
	t.Helper()
	s, err := scenario.Load(filepath.Join("..", "scenarios", name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func runWrite(t *testing.T, sc scenario.Scenario) (string, *Result) {
	t.Helper()
	r, err := Run(context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir, r
}

// run plays sc without writing files (plots are slow under -race).
func run(t *testing.T, sc scenario.Scenario) *Result {
	t.Helper()
	r, err := Run(context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Same scenario and seed: the deterministic files are the same bytes; another
// seed changes them.
func TestStudyDeterministic(t *testing.T) {
	sc := load(t, "lookup-1k.toml")
	a, ra := runWrite(t, sc)
	b, _ := runWrite(t, sc)
	for _, f := range []string{FileSummary, FileLookups, FileScenario} {
		if x, y := read(t, a, f), read(t, b, f); !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs of the same scenario:\n%s\n---\n%s", f, x, y)
		}
	}
	seed := sc.Seed + 1
	other, err := sc.Apply(scenario.Overrides{Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(read(t, a, FileLookups), run(t, other).CSV()) {
		t.Error("another seed wrote the same lookups.csv")
	}

	// The files say what the run did.
	if got := len(ra.Samples); got != 13 || ra.Summary.Lookups != 13*200 {
		t.Fatalf("%d samples, %d lookups; want 13, 2600", got, ra.Summary.Lookups)
	}
	lines := strings.Split(strings.TrimSpace(string(read(t, a, FileLookups))), "\n")
	if len(lines) != 14 || lines[0]+"\n" != csvHeader || len(strings.Split(lines[1], ",")) != strings.Count(csvHeader, ",")+1 {
		t.Fatalf("lookups.csv:\n%s", strings.Join(lines, "\n"))
	}
	var sum map[string]any
	if err := json.Unmarshal(read(t, a, FileSummary), &sum); err != nil {
		t.Fatal(err)
	}
	if sum["nodes"] != 1000.0 || sum["scenario"].(map[string]any)["kademlia"].(map[string]any)["k"] != 20.0 {
		t.Fatalf("summary.json: %v", sum)
	}
	var run RunStats
	if err := json.Unmarshal(read(t, a, FileRun), &run); err != nil || run.PeakHeap == 0 || run.WallSeconds <= 0 {
		t.Fatalf("run.json: %+v, %v", run, err)
	}
	for _, f := range []string{FileHopsPNG, FileLivePNG, FileLatencyPNG} {
		if _, err := png.Decode(bytes.NewReader(read(t, a, f))); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// Lookup times: every sample's percentiles ordered, and the run's in
	// summary.json's lookup section, with the network model's RTTs.
	for _, x := range ra.Samples {
		if tm := x.Time; !(0 < x.P50EndMs && x.P50EndMs <= tm.P50 && tm.P50 <= tm.P95 && tm.P95 <= tm.P99 && tm.P99 <= tm.Max) {
			t.Fatalf("sample at %v: times %+v, median to the end %v", x.At, tm, x.P50EndMs)
		}
	}
	lk := sum["lookup"].(map[string]any)
	lat, rtt := lk["latency_ms"].(map[string]any), lk["rtt_ms"].(map[string]any)
	if lat["p50"].(float64) <= 0 || lat["p99"].(float64) < lat["p50"].(float64) || rtt["p50"].(float64) < 50 || rtt["p50"].(float64) > 250 {
		t.Fatalf("summary.json lookup: %v", lk)
	}
	// scenario.toml is the scenario as run: it loads back to the same thing.
	back, err := scenario.Load(filepath.Join(a, FileScenario))
	if err != nil || back.Seed != sc.Seed || back.Nodes != sc.Nodes || *back.Kademlia != *sc.Kademlia || back.Churn != sc.Churn ||
		back.Network == nil || *back.Network != *sc.Network {
		t.Fatalf("scenario.toml reads back as %+v, %v", back, err)
	}
}

// Maintenance against stale tables on the same churn: fewer dead entries,
// more of the true closest found, fewer requests to the dead, and lookups
// that end sooner (dead peers among the closest hold the Beta rule for a dial
// timeout each).
func TestStudyMaintenance(t *testing.T) {
	sc := load(t, "lookup-1k.toml")
	if sc.Kademlia.Maintenance != scenario.MaintenanceOn {
		t.Fatalf("lookup-1k has churn: maintenance %q, want on by default", sc.Kademlia.Maintenance)
	}
	on := run(t, sc)
	k := *sc.Kademlia
	k.Maintenance = scenario.MaintenanceOff
	sc.Kademlia = &k
	off := run(t, sc)
	a, b := on.Summary, off.Summary
	t.Logf("on: dead entries %.3f, overlap %.3f, found %.4f, dead requests %.2f, end p50 %.0f ms, GetClosestPeers p50 %.0f ms, %+v",
		a.Lookup.DeadEntries, a.Lookup.MeanOverlap, a.FoundRate, a.MeanTimeouts, a.Lookup.EndLatency.P50, a.Lookup.Latency.P50, *a.Lookup.Maintenance)
	t.Logf("off: dead entries %.3f, overlap %.3f, found %.4f, dead requests %.2f, end p50 %.0f ms, GetClosestPeers p50 %.0f ms",
		b.Lookup.DeadEntries, b.Lookup.MeanOverlap, b.FoundRate, b.MeanTimeouts, b.Lookup.EndLatency.P50, b.Lookup.Latency.P50)
	switch {
	case b.Lookup.Maintenance != nil || a.Lookup.Maintenance == nil || a.Lookup.Maintenance.Refreshes == 0:
		t.Fatalf("maintenance summaries: on %+v, off %+v", a.Lookup.Maintenance, b.Lookup.Maintenance)
	case a.Lookup.DeadEntries > 0.1 || b.Lookup.DeadEntries < 0.15:
		t.Errorf("dead entries %.3f maintained, %.3f stale (about 20%% of nodes are down)", a.Lookup.DeadEntries, b.Lookup.DeadEntries)
	case a.Lookup.MeanOverlap < b.Lookup.MeanOverlap+0.05 || a.FoundRate < b.FoundRate-0.005:
		t.Errorf("overlap %.3f vs %.3f, found %.4f vs %.4f", a.Lookup.MeanOverlap, b.Lookup.MeanOverlap, a.FoundRate, b.FoundRate)
	case a.MeanTimeouts > b.MeanTimeouts/1.5 || a.Lookup.EndLatency.P50 >= b.Lookup.EndLatency.P50:
		t.Errorf("dead requests %.2f vs %.2f, median time to the end %.0f vs %.0f ms",
			a.MeanTimeouts, b.MeanTimeouts, a.Lookup.EndLatency.P50, b.Lookup.EndLatency.P50)
	}
}

// Arrivals join and stay reachable; the run is deterministic.
func TestStudyArrivals(t *testing.T) {
	sc := load(t, "lookup-arrivals.toml")
	sc.Duration = 12 * sim.Hour
	if testing.Short() || raceBuild {
		sc.Nodes, sc.Duration, sc.Kademlia.Lookups = 2000, 6*sim.Hour, 200
	}
	r, again := run(t, sc), run(t, sc)
	sa, err := r.SummaryJSON()
	if err != nil {
		t.Fatal(err)
	}
	sb, err := again.SummaryJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sa, sb) || !bytes.Equal(r.CSV(), again.CSV()) {
		t.Error("summary.json or lookups.csv differs between two runs with arrivals")
	}
	s := r.Summary
	m := s.Lookup.Maintenance
	t.Logf("%d joins (%d arrivals), %d departures, found %.4f, overlap %.3f, dead entries %.3f, %+v",
		m.Joins, s.Churn.Arrivals, s.Churn.Departures, s.FoundRate, s.Lookup.MeanOverlap, s.Lookup.DeadEntries, *m)
	if m.Joins == 0 || m.Joins != s.Churn.Arrivals || s.FoundRate < 0.99 || s.Lookup.MeanOverlap < 0.8 {
		t.Fatalf("arrivals: %+v, lookup %+v", s, *s.Lookup)
	}
	if last := r.Samples[len(r.Samples)-1]; last.Live <= sc.Nodes-int(s.Churn.Departures) {
		t.Fatalf("last sample %+v: arrivals not counted live", last)
	}
}

// Under churn, with tables never repaired, lookups meet dead peers but still
// find the closest live node almost always (K = 20 redundancy); with no churn
// there are no timeouts.
func TestStudyChurnAndSummary(t *testing.T) {
	sc := load(t, "lookup-1k.toml")
	r := run(t, sc)
	s := r.Summary
	if s.MeanTimeouts <= 0 || s.FoundRate < 0.95 || s.Churn.Availability != 0.8 {
		t.Fatalf("summary %+v", s)
	}
	for _, x := range r.Samples {
		if x.Up < 700 || x.Up > 900 || x.Live != 1000 {
			t.Fatalf("sample %+v: expected about 80%% of 1000 up", x)
		}
	}
	var n uint64
	for _, c := range s.Hops.Histogram {
		n += c
	}
	if int64(n) != s.Lookups || s.Hops.P50 > s.Hops.P95 || s.Hops.P95 > s.Hops.Max {
		t.Fatalf("hops %+v over %d lookups", s.Hops, s.Lookups)
	}
	if s.Events <= uint64(s.Samples) {
		t.Fatalf("%d events for %d samples: churn did not run", s.Events, s.Samples)
	}

	still := sc
	still.Churn = churn.Model{}
	r = run(t, still)
	if r.Summary.MeanTimeouts != 0 || r.Summary.FoundRate < 0.99 || r.Summary.Events != uint64(r.Summary.Samples) {
		t.Fatalf("no churn: %+v", r.Summary)
	}
}

func TestStudyExactMode(t *testing.T) {
	sc := load(t, "lookup-1k.toml")
	k := *sc.Kademlia
	k.Mode, k.Maintenance = scenario.ModeExact, scenario.MaintenanceOff
	sc.Kademlia = &k
	_, r := runWrite(t, sc)
	if r.Summary.Lookups != 2600 || r.Summary.FoundRate != 1 || r.Summary.Hops.Mean != 0 || r.Summary.MeanMessages != 0 {
		t.Fatalf("exact mode: %+v", r.Summary)
	}
}

func TestStudyCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := Run(ctx, load(t, "lookup-1k.toml"), Options{Progress: func(done, total int64) {
		if total != 13 {
			t.Errorf("progress total %d, want 13", total)
		}
		if calls++; done == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || calls != 4 { // (0, 13), samples 1..3; the 4th sees ctx done
		t.Fatalf("err %v after %d progress calls", err, calls)
	}
}

// Validation (b): lookup hops grow like log n. Mean hops must rise with n and
// stay between the declared bounds log2(n)/8 ≤ hops ≤ 1 + log2(n)/4, and the
// least-squares fit a + b·log2(n) must have a positive slope and match each
// size within 0.25 hops. The table for 1k…1M in sim/README.md comes from the
// same scenario at full lookup count (see there for the commands).
func TestStudyHopScaling(t *testing.T) {
	sizes := []int{1000, 10000}
	if !testing.Short() && !raceBuild {
		sizes = append(sizes, 100000)
	}
	base := load(t, "lookup-1m.toml")
	base.Kademlia.Lookups = 3000
	rows, err := HopScaling(context.Background(), base, sizes)
	if err != nil {
		t.Fatal(err)
	}
	a, b := FitLog2(rows)
	t.Logf("fit: hops = %.3f + %.4f·log2(n)", a, b)
	for i, r := range rows {
		l := math.Log2(float64(r.Nodes))
		t.Logf("n=%d: hops mean %.3f p50 %d p95 %d, messages %.1f, found %.4f", r.Nodes, r.MeanHops, r.P50, r.P95, r.MeanMessages, r.FoundRate)
		if r.MeanHops < l/8 || r.MeanHops > 1+l/4 {
			t.Errorf("n=%d: mean hops %.3f outside [%.3f, %.3f]", r.Nodes, r.MeanHops, l/8, 1+l/4)
		}
		if i > 0 && r.MeanHops <= rows[i-1].MeanHops {
			t.Errorf("n=%d: mean hops %.3f not above %.3f at n=%d", r.Nodes, r.MeanHops, rows[i-1].MeanHops, rows[i-1].Nodes)
		}
		if d := math.Abs(a + b*l - r.MeanHops); d > 0.25 {
			t.Errorf("n=%d: fit off by %.3f hops", r.Nodes, d)
		}
		if r.FoundRate < 0.99 {
			t.Errorf("n=%d: found rate %.4f in ideal tables", r.Nodes, r.FoundRate)
		}
	}
	if !(b > 0) {
		t.Errorf("fitted slope %.4f: hops do not grow with n", b)
	}
}

func TestStudyRefusesInvalid(t *testing.T) {
	sc := load(t, "lookup-1k.toml")
	sc.Nodes = 0
	if _, err := Run(context.Background(), sc, Options{}); err == nil {
		t.Fatal("ran a scenario of 0 nodes")
	}
	sc = load(t, "lookup-1k.toml")
	sc.Duration = sim.Duration(-1)
	if _, err := Run(context.Background(), sc, Options{}); err == nil {
		t.Fatal("ran a negative duration")
	}
}
