package stattest

import (
	"math"
	"math/rand/v2"
	"testing"
)

// A uniform sample fits the uniform CDF and not a shifted one.
func TestKS(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, 5000)
	for i := range xs {
		xs[i] = rng.Float64()
	}
	uniform := func(x float64) float64 { return math.Min(1, math.Max(0, x)) }
	shifted := func(x float64) float64 { return math.Min(1, math.Max(0, x-0.05)) }
	crit := KSCritical01(len(xs))
	if d := KS(xs, uniform); d > crit {
		t.Errorf("uniform sample: D = %.4f > %.4f", d, crit)
	}
	if d := KS(xs, shifted); d <= crit {
		t.Errorf("against a shifted CDF: D = %.4f <= %.4f, want rejected", d, crit)
	}
	if c := KSCritical01(100); math.Abs(c-0.1608) > 0.001 {
		t.Errorf("critical value at n = 100: %.4f, want about 0.161", c)
	}
}
