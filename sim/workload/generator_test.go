package workload

import (
	"github.com/cairn-storage/cairn/sim/internal/stattest"
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/cairn-storage/cairn/sim"
)

func newGen(t testing.TB, cfg Config, seed uint64) (*sim.Engine, *Generator) {
	t.Helper()
	e := sim.New()
	cfg.Fill()
	g, err := New(e, cfg, sim.NewStreams(seed))
	if err != nil {
		t.Fatal(err)
	}
	return e, g
}

// arrivals runs cfg for hours and returns the upload and download times.
func arrivals(t *testing.T, cfg Config, seed uint64, hours int) (ups, downs []sim.Time) {
	e, g := newGen(t, cfg, seed)
	g.OnUpload = func(at sim.Time, _ int64, _ string) { ups = append(ups, at) }
	g.OnDownload = func(at sim.Time, _ Picker) { downs = append(downs, at) }
	if err := g.Start(0); err != nil {
		t.Fatal(err)
	}
	e.Run(sim.Time(hours) * sim.Time(sim.Hour))
	if g.Err() != nil {
		t.Fatal(g.Err())
	}
	if g.Uploads() != uint64(len(ups)) || g.Downloads() != uint64(len(downs)) {
		t.Fatalf("counters %d, %d; callbacks %d, %d", g.Uploads(), g.Downloads(), len(ups), len(downs))
	}
	return ups, downs
}

// TestPoissonArrivals runs 40 uploads and 120 downloads an hour for 500 hours: each count is
// within the 99.9 % interval of its Poisson mean (normal approximation: mean λT, variance
// λT), the inter-arrival gaps pass a KS test against the exponential at α = 0.01, and the
// test has power: the same gaps fail against a rate 5 % off.
func TestPoissonArrivals(t *testing.T) {
	const hours = 500
	cfg := Config{UploadsPerHour: 40, DownloadsPerHour: 120}
	ups, downs := arrivals(t, cfg, 11, hours)
	for _, c := range []struct {
		name  string
		times []sim.Time
		rate  float64
	}{{"uploads", ups, cfg.UploadsPerHour}, {"downloads", downs, cfg.DownloadsPerHour}} {
		mean := c.rate * hours
		if d := math.Abs(float64(len(c.times)) - mean); d > z999*math.Sqrt(mean) {
			t.Errorf("%s: %d arrivals in %d h, want %.0f ± %.0f", c.name, len(c.times), hours, mean, z999*math.Sqrt(mean))
		}
		gaps := make([]float64, len(c.times))
		prev := sim.Time(0)
		for i, at := range c.times {
			gaps[i] = float64(at-prev) / float64(sim.Hour)
			prev = at
		}
		exp := distuv.Exponential{Rate: c.rate}
		d := stattest.KS(gaps, exp.CDF)
		crit := stattest.KSCritical01(len(gaps))
		if d > crit {
			t.Errorf("%s: KS %.4f against exponential(%g/h), critical %.4f", c.name, d, c.rate, crit)
		}
		off := distuv.Exponential{Rate: c.rate * 1.05}
		if d := stattest.KS(gaps, off.CDF); d <= crit {
			t.Errorf("%s: KS %.4f against a rate 5%% off passes (critical %.4f): the test has no power", c.name, d, crit)
		}
		t.Logf("%s: %d arrivals (mean %.0f), KS %.4f (critical %.4f)", c.name, len(c.times), mean, d, crit)
	}
}

// TestSizes draws 20,000 sizes of each kind and checks them against the truncated law: all in
// [Min, Max], KS at α = 0.01, and the 10/50/90/99 % quantiles inside the distribution-free
// 99.9 % order-statistic intervals. A law 10 % larger (a Pareto's shape 10 % larger) fails the same KS test.
func TestSizes(t *testing.T) {
	const n = 20000
	dists := []SizeDist{
		DefaultSizeDist(),
		{Kind: LogNormal, Mean: 30 << 20, Sigma: 1.2, Min: 64 << 10, Max: 256 << 20},
		{Kind: Pareto, Shape: 1.1, Median: 1 << 20, Min: 1, Max: 1 << 30},
		{Kind: Pareto, Shape: 2.5, Mean: 8 << 20, Min: 6 << 20, Max: 64 << 20},
		{Kind: Exponential, Mean: 16 << 20, Min: 1, Max: 32 << 20},
		{Kind: Exponential, Median: 1 << 20, Min: 1 << 20, Max: MaxSize},
	}
	streams := sim.NewStreams(3)
	for i, d := range dists {
		s, err := NewSizer(d, streams.PCG(uint64(i)))
		if err != nil {
			t.Fatal(err)
		}
		xs := make([]float64, n)
		for j := range xs {
			v := s.Sample()
			if v < d.Min || v > d.Max {
				t.Fatalf("%v: drew %d", d, v)
			}
			xs[j] = float64(v)
		}
		ks := stattest.KS(xs, s.CDF) // sorts xs
		crit := stattest.KSCritical01(n)
		if ks > crit {
			t.Errorf("%v: KS %.4f, critical %.4f", d, ks, crit)
		}
		for _, p := range []float64{0.1, 0.5, 0.9, 0.99} {
			half := z999 * math.Sqrt(n*p*(1-p))
			lo, hi := int(math.Floor(n*p-half)), int(math.Ceil(n*p+half))
			if q := s.Quantile(p); q < xs[max(lo, 0)]-1 || q > xs[min(hi, n-1)]+1 {
				t.Errorf("%v: quantile %g is %.0f, sample order statistics %d..%d are %.0f..%.0f", d, p, q, lo, hi, xs[lo], xs[hi])
			}
		}
		shifted := d
		if d.Kind == Pareto {
			// Above x_m a Pareto conditioned on X > Min forgets its scale: change the shape.
			shifted.Shape *= 1.1
		} else if shifted.Median != 0 {
			shifted.Median = shifted.Median * 11 / 10
		} else {
			shifted.Mean = shifted.Mean * 11 / 10
		}
		off, err := NewSizer(shifted, streams.PCG(99))
		if err != nil {
			t.Fatal(err)
		}
		if ks := stattest.KS(xs, off.CDF); ks <= crit {
			t.Errorf("%v: KS %.4f against a law 10%% off passes: no power", d, ks)
		}
		t.Logf("%v: KS %.4f (critical %.4f), median %.0f, p99 %.0f", d, ks, crit, s.Quantile(0.5), s.Quantile(0.99))
	}
	fixed, err := NewSizer(SizeDist{Kind: Fixed, Median: 12345, Min: 1, Max: 1 << 20}, streams.PCG(7))
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if v := fixed.Sample(); v != 12345 {
			t.Fatalf("fixed drew %d", v)
		}
	}
	if _, err := NewSizer(DefaultSizeDist(), nil); err == nil {
		t.Error("a sizer without a source was accepted")
	}
}

// TestDefaultSizes pins what DefaultSizeDist documents: after truncation to [1 B, 1 GiB], a
// median of 3.97 MiB, a mean of 23 MiB (exactly e^(μ+σ²/2)·Φ((ln max−μ−σ²)/σ)/Φ((ln max−μ)/σ)
// for the truncated lognormal) and a 99th percentile of 349 MiB, with 0.28 % of the
// lognormal's mass above the cap.
func TestDefaultSizes(t *testing.T) {
	d := DefaultSizeDist()
	s, err := NewSizer(d, sim.NewStreams(1).PCG(1))
	if err != nil {
		t.Fatal(err)
	}
	const mib = 1 << 20
	if q := s.Quantile(0.5) / mib; q < 3.96 || q > 3.98 {
		t.Errorf("median %.3f MiB", q)
	}
	if q := s.Quantile(0.99) / mib; q < 345 || q > 352 {
		t.Errorf("p99 %.1f MiB", q)
	}
	l := distuv.LogNormal{Mu: math.Log(4 * mib), Sigma: 2}
	if tail := 1 - l.CDF(1<<30); tail < 0.0027 || tail > 0.0029 {
		t.Errorf("mass above 1 GiB %.5f", tail)
	}
	norm := distuv.UnitNormal
	a := (math.Log(1<<30) - l.Mu) / l.Sigma
	mean := math.Exp(l.Mu+l.Sigma*l.Sigma/2) * norm.CDF(a-l.Sigma) / norm.CDF(a)
	if m := mean / mib; m < 22.9 || m > 23.2 {
		t.Errorf("truncated mean %.2f MiB", m)
	}
	// The sample mean of 200,000 draws, within 4 standard errors of it.
	const n = 200000
	var sum, sq float64
	for range n {
		v := float64(s.Sample())
		sum += v
		sq += v * v
	}
	m := sum / n
	se := math.Sqrt((sq/n - m*m) / n)
	if math.Abs(m-mean) > 4*se {
		t.Errorf("sample mean %.2f MiB, truncated mean %.2f MiB (standard error %.2f)", m/mib, mean/mib, se/mib)
	}
	t.Logf("default sizes: median %.2f MiB, mean %.2f MiB (sample %.2f ± %.2f), p99 %.1f MiB",
		s.Quantile(0.5)/mib, mean/mib, m/mib, se/mib, s.Quantile(0.99)/mib)
}

// TestPartnerShares draws 20,000 uploads over weights debian 3, arch 1, gentoo 0 and untagged
// 1: each tag's count is within its 99.9 % binomial interval, the zero weight never appears.
func TestPartnerShares(t *testing.T) {
	cfg := Config{UploadsPerHour: 100, Partners: []PartnerMix{{"debian", 3}, {"arch", 1}, {"gentoo", 0}}, UntaggedWeight: 1}
	e, g := newGen(t, cfg, 5)
	counts := map[string]int{}
	g.OnUpload = func(_ sim.Time, _ int64, p string) { counts[p]++ }
	if err := g.Start(0); err != nil {
		t.Fatal(err)
	}
	for g.Uploads() < 20000 && e.Step() {
	}
	n := int(g.Uploads())
	for _, tag := range []string{"debian", "arch", "gentoo", ""} {
		p := cfg.PartnerShare(tag)
		if !binomialOK(counts[tag], n, p) {
			t.Errorf("tag %q: %d of %d, want p = %.3f", tag, counts[tag], n, p)
		}
	}
	if counts["gentoo"] != 0 {
		t.Errorf("zero-weight tag drawn %d times", counts["gentoo"])
	}
	// Without partners nothing is tagged and nothing is drawn from the tag stream.
	e, g = newGen(t, Config{UploadsPerHour: 100}, 5)
	g.OnUpload = func(_ sim.Time, _ int64, p string) {
		if p != "" {
			t.Fatalf("tag %q without partners", p)
		}
	}
	_ = g.Start(0)
	e.Run(sim.Time(10 * sim.Hour))
}

// zipfPMF is P(index i) among n files under skew s: index n-1 has rank 1.
func zipfPMF(n int, s float64) []float64 {
	p := make([]float64, n)
	total := 0.0
	for r := 1; r <= n; r++ {
		w := math.Pow(float64(r), -s)
		p[n-r] = w
		total += w
	}
	for i := range p {
		p[i] /= total
	}
	return p
}

// TestPickFrequencies draws 100,000 picks over 50 files for several skews and compares the
// counts with the exact law by a chi-square test at 99.9 %; the draws for skew s also fail
// against skew s + 0.1 (power). Picks over 10 files interleaved with picks over 1,000 files
// follow the 10-file law: the sampler adapts to n changing between calls.
func TestPickFrequencies(t *testing.T) {
	const n, draws = 50, 100000
	for _, s := range []float64{0, 0.5, 0.8, 1, 1.5, 3} {
		_, g := newGen(t, Config{DownloadSkew: s}, 9)
		counts := make([]int, n)
		for range draws {
			i := g.Pick(n)
			if i < 0 || i >= n {
				t.Fatalf("skew %g: pick %d of %d", s, i, n)
			}
			counts[i]++
		}
		stat, crit := chiSquare(counts, zipfPMF(n, s))
		if stat > crit {
			t.Errorf("skew %g: chi-square %.1f, critical %.1f", s, stat, crit)
		}
		if off, _ := chiSquare(counts, zipfPMF(n, s+0.1)); off <= crit {
			t.Errorf("skew %g: chi-square %.1f against skew %g passes: no power", s, off, s+0.1)
		}
		if g.zipf != nil {
			if r := float64(g.zipf.attempts) / draws; r > 1.2 {
				t.Errorf("skew %g: %.3f uniform draws a pick", s, r)
			}
		}
		t.Logf("skew %g: chi-square %.1f (critical %.1f), latest file %.4f of picks", s, stat, crit, float64(counts[n-1])/draws)
	}
	_, g := newGen(t, Config{DownloadSkew: 1.2}, 4)
	small := make([]int, 10)
	for range draws {
		small[g.Pick(10)]++
		if i := g.Pick(1000); i < 0 || i >= 1000 {
			t.Fatalf("pick %d of 1000", i)
		}
		if g.Pick(1) != 0 || g.Pick(0) != -1 {
			t.Fatal("pick of 1 or 0 files")
		}
	}
	if stat, crit := chiSquare(small, zipfPMF(10, 1.2)); stat > crit {
		t.Errorf("interleaved n: chi-square %.1f, critical %.1f", stat, crit)
	}
}

// event is one callback, for comparing runs.
type event struct {
	at     sim.Time
	size   int64
	tag    string
	picked int
}

func record(t *testing.T, seed uint64, picks bool) []event {
	cfg := Config{UploadsPerHour: 30, DownloadsPerHour: 90, Partners: []PartnerMix{{"x", 1}}, UntaggedWeight: 1, DownloadSkew: 1}
	e, g := newGen(t, cfg, seed)
	var out []event
	files := 0
	g.OnUpload = func(at sim.Time, size int64, tag string) {
		files++
		out = append(out, event{at, size, tag, -1})
	}
	g.OnDownload = func(at sim.Time, pick Picker) {
		i := -2
		if picks {
			i = pick(files)
		}
		out = append(out, event{at: at, picked: i})
	}
	if err := g.Start(sim.Time(sim.Hour)); err != nil {
		t.Fatal(err)
	}
	e.Run(sim.Time(48 * sim.Hour))
	return out
}

// TestDeterminism: the same seed gives the same workload; another seed another one; and
// whether the model picks files or not does not move any arrival, size or tag.
func TestDeterminism(t *testing.T) {
	a, b := record(t, 1, true), record(t, 1, true)
	if !slices.Equal(a, b) {
		t.Fatal("same seed, different workloads")
	}
	if a[0].at < sim.Time(sim.Hour) {
		t.Errorf("first arrival %v before the start", a[0].at)
	}
	if c := record(t, 2, true); slices.Equal(a, c) {
		t.Fatal("seeds 1 and 2 gave the same workload")
	}
	nop := record(t, 1, false)
	for i := range a {
		x, y := a[i], nop[i]
		x.picked, y.picked = 0, 0
		if x != y {
			t.Fatalf("event %d: %+v with picks, %+v without", i, a[i], nop[i])
		}
	}
}

func TestStart(t *testing.T) {
	e, g := newGen(t, Config{UploadsPerHour: 1}, 1)
	e.Run(sim.Time(sim.Hour))
	if err := g.Start(0); err == nil {
		t.Error("started before the engine's clock")
	}
	if err := g.Start(e.Now()); err != nil {
		t.Fatal(err)
	}
	if err := g.Start(e.Now()); err == nil {
		t.Error("started twice")
	}
	if e.Pending() != 1 {
		t.Errorf("%d pending events, want 1 (no downloads configured)", e.Pending())
	}
	if _, err := New(e, Config{UploadsPerHour: 1, FileSize: DefaultSizeDist()}, sim.NewStreams(1)); err == nil {
		t.Error("a second generator registered the same kinds")
	}
	if _, err := New(sim.New(), Config{UploadsPerHour: -1, FileSize: DefaultSizeDist()}, sim.NewStreams(1)); err == nil {
		t.Error("invalid config accepted")
	}
	// Arrivals that run past virtual time stop the run with an error, not a panic.
	e2, g2 := newGen(t, Config{UploadsPerHour: 1}, 1)
	if err := g2.Start(sim.MaxTime - 10); err == nil && g2.Err() == nil {
		e2.Run(sim.MaxTime)
		if g2.Err() == nil {
			t.Error("no error at the end of virtual time")
		}
	}
}
