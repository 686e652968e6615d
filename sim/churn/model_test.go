package churn

import (
	"github.com/cairn-storage/cairn/sim/internal/stattest"
	"math"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/cairn-storage/cairn/sim"
)

var (
	expo8h   = Dist{Kind: Exponential, Mean: 8 * sim.Hour}
	expo4h   = Dist{Kind: Exponential, Mean: 4 * sim.Hour}
	weib06   = Dist{Kind: Weibull, Shape: 0.6, Mean: 8 * sim.Hour}  // heavy-tailed sessions
	weib15   = Dist{Kind: Weibull, Shape: 1.5, Scale: 4 * sim.Hour} // downtimes with a mode
	weib05s  = Dist{Kind: Weibull, Shape: 0.5, Scale: sim.Hour}
	allDists = []Dist{expo8h, expo4h, weib06, weib15, weib05s}
)

func TestValidate(t *testing.T) {
	good := []Model{
		{},
		{ArrivalsPerHour: 3},
		{Session: expo8h, Downtime: weib15, DepartProb: 0.01, ArrivalsPerHour: 0.5},
		{Session: weib06, Downtime: expo4h, DepartProb: 1},
	}
	for _, m := range good {
		if err := m.Validate(); err != nil {
			t.Errorf("%+v: %v", m, err)
		}
	}
	bad := []struct {
		m    Model
		want string
	}{
		{Model{Session: expo8h}, "churn.downtime: kind missing"},
		{Model{Downtime: expo8h}, "churn.session: kind missing"},
		{Model{Session: Dist{Kind: "pareto", Mean: sim.Hour}, Downtime: expo4h}, `unknown kind "pareto"`},
		{Model{Session: Dist{Kind: Exponential}, Downtime: expo4h}, "positive mean"},
		{Model{Session: Dist{Kind: Exponential, Mean: sim.Hour, Shape: 2}, Downtime: expo4h}, "mean only"},
		{Model{Session: Dist{Kind: Weibull, Mean: sim.Hour}, Downtime: expo4h}, "positive shape"},
		{Model{Session: Dist{Kind: Weibull, Mean: sim.Hour, Shape: math.NaN()}, Downtime: expo4h}, "positive shape"},
		{Model{Session: Dist{Kind: Weibull, Shape: 1}, Downtime: expo4h}, "exactly one of mean and scale"},
		{Model{Session: Dist{Kind: Weibull, Shape: 1, Mean: sim.Hour, Scale: sim.Hour}, Downtime: expo4h}, "exactly one"},
		{Model{Session: Dist{Kind: Weibull, Shape: 1, Mean: -sim.Hour}, Downtime: expo4h}, "positive"},
		{Model{Session: Dist{Kind: Weibull, Shape: 0.01, Scale: sim.Hour}, Downtime: expo4h}, "beyond what a run can span"},
		{Model{Session: Dist{Kind: Weibull, Shape: 0.05, Mean: sim.Hour}, Downtime: expo4h}, "too small"},
		{Model{Session: expo8h, Downtime: expo4h, DepartProb: 1.5}, "churn.depart_prob"},
		{Model{Session: expo8h, Downtime: expo4h, DepartProb: math.NaN()}, "churn.depart_prob"},
		{Model{DepartProb: 0.1}, "set session and downtime"},
		{Model{ArrivalsPerHour: -1}, "churn.arrivals_per_hour"},
		{Model{ArrivalsPerHour: math.Inf(1)}, "churn.arrivals_per_hour"},
	}
	for _, b := range bad {
		err := b.m.Validate()
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: got %v, want %q", b.m, err, b.want)
		}
	}
}

func TestModelTOML(t *testing.T) {
	const doc = `
[churn]
depart_prob = 0.02
arrivals_per_hour = 4.5
session = { kind = "weibull", shape = 0.6, mean = "8h" }
downtime = { kind = "exponential", mean = "1.5d" }
`
	var sc struct {
		Churn Model `toml:"churn"`
	}
	dec := toml.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		t.Fatal(err)
	}
	want := Model{Session: weib06, Downtime: Dist{Kind: Exponential, Mean: 36 * sim.Hour}, DepartProb: 0.02, ArrivalsPerHour: 4.5}
	if sc.Churn != want {
		t.Fatalf("got %+v", sc.Churn)
	}
	if err := sc.Churn.Validate(); err != nil {
		t.Fatal(err)
	}
	if a := sc.Churn.Availability(); math.Abs(a-8.0/44) > 1e-9 {
		t.Fatalf("availability %v", a)
	}
	out, err := toml.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Churn Model `toml:"churn"`
	}
	if err := toml.Unmarshal(out, &back); err != nil || back != sc {
		t.Fatalf("round trip: %v\n%s", err, out)
	}
}

func TestSamplerNeedsSource(t *testing.T) {
	if _, err := NewSampler(expo8h, nil); err == nil {
		t.Fatal("sampler without a source accepted")
	}
}

func TestMeans(t *testing.T) {
	if m := weib15.MeanDuration(); math.Abs(float64(m)/float64(sim.Hour)-4*math.Gamma(1+1/1.5)) > 1e-9 {
		t.Fatalf("weibull mean from scale: %v", m)
	}
	if m := weib06.MeanDuration(); m != 8*sim.Hour {
		t.Fatalf("weibull mean: %v", m)
	}
	if (Model{}).Availability() != 1 {
		t.Fatal("no churn must mean always up")
	}
}

// TestSamplesMatchDistribution draws 20,000 durations from each distribution
// and checks them against its CDF with a one-sample KS test at alpha 0.01 —
// and checks the test has power: heavy-tailed Weibull samples fail against an
// exponential of the same mean.
func TestSamplesMatchDistribution(t *testing.T) {
	const n = 20000
	streams := sim.NewStreams(11)
	for i, d := range allDists {
		s, err := NewSampler(d, streams.PCG(uint64(i)))
		if err != nil {
			t.Fatal(err)
		}
		xs := make([]float64, n)
		sum := 0.0
		for j := range xs {
			v := s.Sample()
			xs[j] = float64(v)
			sum += float64(v)
		}
		D := stattest.KS(xs, func(x float64) float64 { return s.CDF(sim.Duration(x)) })
		if crit := stattest.KSCritical01(n); D > crit {
			t.Errorf("%v: KS D %.4f > %.4f", d, D, crit)
		}
		mean := sum / n / float64(sim.Hour)
		t.Logf("%v: KS D %.4f (crit %.4f), sample mean %.3f h", d, D, stattest.KSCritical01(n), mean)
		if d == weib06 {
			wrong := distuv.Exponential{Rate: 1 / float64(d.Mean)}
			if D := stattest.KS(xs, wrong.CDF); D < stattest.KSCritical01(n) {
				t.Errorf("KS cannot tell weibull(0.6) from exponential: D %.4f", D)
			}
		}
	}
}

// TestResiduals checks the steady-state start: the residual of a period seen
// at a random instant has CDF F_e(x) = (1/mean)·∫₀ˣ (1−F(t)) dt. The sampler
// draws it as λ·G^(1/k) with G ~ Gamma(1/k, 1); here F_e is integrated
// numerically instead, so the test does not lean on that identity.
func TestResiduals(t *testing.T) {
	const n = 20000
	streams := sim.NewStreams(12)
	for i, d := range allDists {
		s, err := NewSampler(d, streams.PCG(uint64(i)))
		if err != nil {
			t.Fatal(err)
		}
		xs := make([]float64, n)
		for j := range xs {
			xs[j] = float64(s.Residual())
		}
		fe := equilibriumCDF(s, float64(d.MeanDuration()))
		D := stattest.KS(xs, fe)
		if crit := stattest.KSCritical01(n); D > crit {
			t.Errorf("%v residual: KS D %.4f > %.4f", d, D, crit)
		}
		t.Logf("%v residual: KS D %.4f", d, D)
	}
}

// equilibriumCDF tabulates (1/mean)·∫₀ˣ (1−F(t)) dt on a grid fine near zero
// (where a shape below 1 puts a cusp) and interpolates linearly.
func equilibriumCDF(s *Sampler, mean float64) func(float64) float64 {
	const steps = 200000
	top := 2000 * mean
	grid := make([]float64, steps+1)
	val := make([]float64, steps+1)
	for i := 1; i <= steps; i++ {
		u := float64(i) / steps
		grid[i] = top * u * u * u // cubic spacing: dense near zero
		a, b := grid[i-1], grid[i]
		m := (a + b) / 2
		sa, sm, sb := 1-s.CDF(sim.Duration(a)), 1-s.CDF(sim.Duration(m)), 1-s.CDF(sim.Duration(b))
		val[i] = val[i-1] + (b-a)*(sa+4*sm+sb)/6/mean
	}
	return func(x float64) float64 {
		if x >= top {
			return 1
		}
		i := int(math.Cbrt(x/top) * steps)
		if i >= steps {
			return val[steps]
		}
		for i > 0 && grid[i] > x {
			i--
		}
		for i < steps && grid[i+1] < x {
			i++
		}
		f := (x - grid[i]) / (grid[i+1] - grid[i])
		return val[i] + f*(val[i+1]-val[i])
	}
}
