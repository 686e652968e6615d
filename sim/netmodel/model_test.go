package netmodel

import (
	"github.com/cairn-storage/cairn/sim/internal/stattest"
	"math"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/cairn-storage/cairn/sim"
)

func model(t *testing.T, cfg Config, seed uint64, n int) *Model {
	t.Helper()
	m, err := New(cfg, sim.NewStreams(seed), n)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func quantile(x []float64, q float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// The default world: random pairs have round trips of tens to a couple of
// hundred milliseconds, pairs within a region much less, and a path as long
// as London–New York takes what is measured on it.
func TestRTTDistribution(t *testing.T) {
	const n = 20000
	m := model(t, DefaultConfig(), 1, n)
	rng := sim.NewStreams(2).Named("pairs")
	var all, intra, inter []float64
	for range 100000 {
		a, b := int32(rng.IntN(n)), int32(rng.IntN(n))
		if a == b {
			continue
		}
		r := m.RTT(a, b)
		if r != m.RTT(b, a) || r <= m.Propagation(a, b) {
			t.Fatalf("RTT(%d,%d) = %v, RTT(%d,%d) = %v, propagation %v", a, b, r, b, a, m.RTT(b, a), m.Propagation(a, b))
		}
		all = append(all, 1000*r)
		if m.Region(a) == m.Region(b) {
			intra = append(intra, 1000*r)
		} else {
			inter = append(inter, 1000*r)
		}
	}
	if m.RTT(5, 5) != 0 {
		t.Fatal("a node's RTT to itself is not 0")
	}
	p10, p50, p99 := quantile(all, 0.1), quantile(all, 0.5), quantile(all, 0.99)
	in50, out50 := quantile(intra, 0.5), quantile(inter, 0.5)
	t.Logf("RTT ms: p10 %.1f, p50 %.1f, p99 %.1f; median within a region %.1f, across %.1f", p10, p50, p99, in50, out50)
	switch {
	case p50 < 100 || p50 > 200:
		t.Errorf("median RTT %.1f ms, want 100..200", p50)
	case p10 < 15 || p99 > 500:
		t.Errorf("RTT p10 %.1f ms, p99 %.1f ms: want p10 ≥ 15, p99 ≤ 500", p10, p99)
	case in50 > 70 || in50 > out50/2:
		t.Errorf("median RTT within a region %.1f ms, across %.1f ms", in50, out50)
	}

	// London and New York, exactly placed, no jitter: 5,570 km of great
	// circle, 70–80 ms measured between well-connected hosts.
	cfg := DefaultConfig()
	cfg.Regions = []Region{{Name: "london", Weight: 1, Lat: 51.51, Lon: -0.13}, {Name: "new-york", Weight: 1, Lat: 40.71, Lon: -74.01}}
	cfg.Jitter = 0
	two := model(t, cfg, 3, 200)
	var ln, ny int32 = -1, -1
	for i := range int32(200) {
		if two.Region(i) == 0 {
			ln = i
		} else {
			ny = i
		}
	}
	km, p := two.DistanceKm(ln, ny), 1000*two.Propagation(ln, ny)
	if math.Abs(km-GreatCircleKm(51.51, -0.13, 40.71, -74.01)) > 1 || km < 5500 || km > 5650 || p < 65 || p > 85 {
		t.Fatalf("London–New York: %.0f km, %.1f ms propagation", km, p)
	}
}

// Great circles are a metric, so propagation without jitter obeys the
// triangle inequality (up to the float32 coordinates' rounding, 1e-6
// relative); jitter breaks it for some triples (about 8% of random ones, the
// order of what measured latency matrices show), never by more than its factor.
func TestPropagationTriangle(t *testing.T) {
	const n = 5000
	for _, jitter := range []float64{0, 0.3} {
		cfg := DefaultConfig()
		cfg.Jitter = jitter
		m := model(t, cfg, 4, n)
		rng := sim.NewStreams(5).Named("triples")
		violations := 0
		const triples = 50000
		for range triples {
			a, b, c := int32(rng.IntN(n)), int32(rng.IntN(n)), int32(rng.IntN(n))
			ac, via := m.Propagation(a, c), m.Propagation(a, b)+m.Propagation(b, c)
			if ac > via*(1+1e-6) {
				violations++
			}
			if ac > (1+jitter)*via*(1+1e-6) {
				t.Fatalf("jitter %v: %d→%d %v s, via %d %v s", jitter, a, c, ac, b, via)
			}
		}
		frac := float64(violations) / triples
		t.Logf("jitter %v: %.2f%% of triples violate the triangle inequality", jitter, 100*frac)
		if jitter == 0 && violations > 0 || jitter > 0 && (frac == 0 || frac > 0.15) {
			t.Errorf("jitter %v: %d violations in %d triples", jitter, violations, triples)
		}
	}
}

// ksLogNormal is the Kolmogorov–Smirnov statistic of x against a lognormal.
func ksLogNormal(x []float64, median, sigma float64) float64 {
	d := distuv.LogNormal{Mu: math.Log(median), Sigma: sigma}
	return stattest.KS(slices.Clone(x), d.CDF)
}

// Access delays, upload and download rates are the configured lognormals
// (Kolmogorov–Smirnov at the 1% level, fixed seed), and up and down are
// correlated as configured.
func TestLogNormalAttributes(t *testing.T) {
	const n = 20000
	cfg := DefaultConfig()
	m := model(t, cfg, 6, n)
	var acc, up, down, lu, ld []float64
	for i := range int32(n) {
		acc = append(acc, m.Access(i))
		up, down = append(up, m.Up(i)), append(down, m.Down(i))
		lu, ld = append(lu, math.Log(m.Up(i))), append(ld, math.Log(m.Down(i)))
	}
	crit := 1.63 / math.Sqrt(n) // Kolmogorov's 1% critical value
	for _, c := range []struct {
		name          string
		x             []float64
		median, sigma float64
	}{
		{"access", acc, 0.010, cfg.AccessSigma},
		{"up", up, cfg.UpMedian, cfg.BandwidthSigma},
		{"down", down, cfg.DownMedian, cfg.BandwidthSigma},
	} {
		d := ksLogNormal(c.x, c.median, c.sigma)
		t.Logf("%s: KS D = %.4f (1%% critical %.4f), median %.4g", c.name, d, crit, quantile(c.x, 0.5))
		if d > crit {
			t.Errorf("%s: KS D = %.4f > %.4f against lognormal(median %v, σ %v)", c.name, d, crit, c.median, c.sigma)
		}
		if wrong := ksLogNormal(c.x, c.median, 1.2*c.sigma); wrong <= crit { // the test can tell
			t.Errorf("%s: a 20%% wider lognormal also passes (D = %.4f)", c.name, wrong)
		}
	}
	if r := stat.Correlation(lu, ld, nil); math.Abs(r-cfg.Correlation) > 0.03 {
		t.Errorf("log up/down correlation %.3f, want %.2f", r, cfg.Correlation)
	}
	if 8*quantile(up, 0.5)/1e6 < 45 || 8*quantile(up, 0.5)/1e6 > 55 {
		t.Errorf("median upload %.1f Mbit/s, want about 50", 8*quantile(up, 0.5)/1e6)
	}
}

func TestRegionShares(t *testing.T) {
	const n = 50000
	cfg := DefaultConfig()
	m := model(t, cfg, 7, n)
	counts := make([]int, len(cfg.Regions))
	for i := range int32(n) {
		counts[m.Region(i)]++
	}
	for r, reg := range cfg.Regions {
		if share := float64(counts[r]) / n; math.Abs(share-reg.Weight) > 0.01 { // weights sum to 1
			t.Errorf("%s: %.3f of nodes, weight %.2f", reg.Name, share, reg.Weight)
		}
	}
}

// Same seed, same model; growing for arrivals gives what a bigger New gives;
// another seed differs.
func TestDeterministicAndGrow(t *testing.T) {
	a := model(t, DefaultConfig(), 8, 1000)
	if err := a.Grow(3000); err != nil {
		t.Fatal(err)
	}
	b := model(t, DefaultConfig(), 8, 3000)
	c := model(t, DefaultConfig(), 9, 3000)
	if a.Len() != 3000 {
		t.Fatalf("Len %d after Grow(3000)", a.Len())
	}
	same := true
	for i := range int32(3000) {
		j := (i*7 + 11) % 3000
		if a.RTT(i, j) != b.RTT(i, j) || a.Up(i) != b.Up(i) || a.Down(i) != b.Down(i) || a.Region(i) != b.Region(i) {
			t.Fatalf("node %d differs between New(1000)+Grow(3000) and New(3000)", i)
		}
		same = same && a.RTT(i, j) == c.RTT(i, j)
	}
	if same {
		t.Fatal("another seed gave the same RTTs")
	}
	if err := a.Grow(-1); err == nil {
		t.Fatal("Grow(-1) accepted")
	}
}

func TestTransferTime(t *testing.T) {
	m := model(t, DefaultConfig(), 10, 100)
	from, to := int32(3), int32(4)
	bytes := int64(16 << 20)
	want := m.RTT(from, to) + float64(bytes)/min(m.Up(from), m.Down(to))
	if got := m.TransferTime(from, to, bytes); got != want || got <= m.RTT(from, to) {
		t.Fatalf("TransferTime %v, want %v", got, want)
	}
	if m.TransferTime(from, to, 0) != m.RTT(from, to) || m.TransferTime(from, to, -5) != m.RTT(from, to) {
		t.Fatal("an empty transfer is not one round trip")
	}
	// 16 MiB at 50 Mbit/s is 2.7 s: the bandwidth term dominates a shard's transfer.
	slow := DefaultConfig()
	slow.BandwidthSigma = 0
	s := model(t, slow, 10, 2)
	if got := s.TransferTime(0, 1, bytes) - s.RTT(0, 1); math.Abs(got-float64(bytes)/(50*Mbit)) > 1e-6 {
		t.Fatalf("16 MiB at 50 Mbit/s: %v s", got)
	}
}

func TestBytesPerNode(t *testing.T) {
	m := model(t, DefaultConfig(), 11, 10000)
	if per := float64(m.Bytes()) / 10000; per > 25 {
		t.Fatalf("%.1f bytes per node", per)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Regions = nil }, "no regions"},
		{func(c *Config) { c.Regions[0].Weight = -1 }, "weight"},
		{func(c *Config) { c.Regions[0].Lat = 91 }, "latitude"},
		{func(c *Config) { c.Regions[0].Lon = math.NaN() }, "longitude"},
		{func(c *Config) { c.Regions[0].Radius = -3 }, "radius"},
		{func(c *Config) {
			for i := range c.Regions {
				c.Regions[i].Weight = 0
			}
		}, "sum to 0"},
		{func(c *Config) { c.Stretch = 0.5 }, "stretch"},
		{func(c *Config) { c.Jitter = -0.1 }, "jitter"},
		{func(c *Config) { c.AccessMedian = 0 }, "access median"},
		{func(c *Config) { c.AccessSigma = math.Inf(1) }, "access sigma"},
		{func(c *Config) { c.UpMedian = 0 }, "up median"},
		{func(c *Config) { c.DownMedian = -1 }, "down median"},
		{func(c *Config) { c.BandwidthSigma = 4 }, "bandwidth sigma"},
		{func(c *Config) { c.Correlation = 1.5 }, "correlation"},
	} {
		cfg := DefaultConfig()
		c.mod(&cfg)
		if _, err := New(cfg, sim.NewStreams(1), 10); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
	if _, err := New(DefaultConfig(), sim.NewStreams(1), -1); err == nil {
		t.Error("-1 nodes accepted")
	}
}
