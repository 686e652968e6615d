package workload

import (
	"math"
	"math/rand/v2"
)

// zipf draws ranks 1..n with P(k) ∝ k^-s for any s > 0 and any n, which may change from
// draw to draw (the set of files grows): rejection-inversion sampling (Hörmann and
// Derflinger, "Rejection-inversion to generate variates from monotone discrete
// distributions", 1996), as in Apache Commons' RejectionInversionZipfSampler. Each draw costs
// O(1) expected time (under 1.1 uniform draws on average) and no table, so n can be millions.
// math/rand/v2's Zipf needs s > 1 and a fixed n; popularity exponents are often below 1.
type zipf struct {
	s         float64
	hX1       float64 // hIntegral(1.5) - 1
	threshold float64 // 2 - hIntegralInverse(hIntegral(2.5) - h(2))
	lastN     int
	hN        float64 // hIntegral(lastN + 0.5)
	rng       *rand.Rand
	attempts  uint64 // uniform draws so far, to check the rejection rate
}

func newZipf(s float64, rng *rand.Rand) *zipf {
	z := &zipf{s: s, rng: rng}
	z.hX1 = z.hIntegral(1.5) - 1
	z.threshold = 2 - z.hIntegralInverse(z.hIntegral(2.5)-z.h(2))
	return z
}

// rank draws a rank in 1..n; n must be at least 1.
func (z *zipf) rank(n int) int {
	if n == 1 {
		return 1
	}
	if n != z.lastN {
		z.lastN, z.hN = n, z.hIntegral(float64(n)+0.5)
	}
	for {
		z.attempts++
		// u is uniform in (hX1, hN]: the integral of h over the ranks' cells.
		u := z.hN + z.rng.Float64()*(z.hX1-z.hN)
		x := z.hIntegralInverse(u)
		k := int(x + 0.5)
		k = min(max(k, 1), n)
		if float64(k)-x <= z.threshold || u >= z.hIntegral(float64(k)+0.5)-z.h(float64(k)) {
			return k
		}
	}
}

// h is the unnormalized density x^-s.
func (z *zipf) h(x float64) float64 { return math.Exp(-z.s * math.Log(x)) }

// hIntegral is ∫₁ˣ t^-s dt = (x^(1-s) - 1)/(1-s), log x at s = 1, computed stably near s = 1.
func (z *zipf) hIntegral(x float64) float64 {
	lx := math.Log(x)
	return helper2((1-z.s)*lx) * lx
}

// hIntegralInverse inverts hIntegral.
func (z *zipf) hIntegralInverse(x float64) float64 {
	t := x * (1 - z.s)
	if t < -1 {
		t = -1 // rounding can step past the pole; -1 maps to x = 0, clamped to rank 1
	}
	return math.Exp(helper1(t) * x)
}

// helper1 is log1p(x)/x, continuous at 0.
func helper1(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Log1p(x) / x
	}
	return 1 - x*(0.5-x*(1.0/3-0.25*x))
}

// helper2 is expm1(x)/x, continuous at 0.
func helper2(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Expm1(x) / x
	}
	return 1 + x*0.5*(1+x*(1.0/3)*(1+0.25*x))
}
