// Package stattest holds the goodness-of-fit checks the simulator's statistical tests share.
package stattest

import (
	"math"
	"slices"
)

// KS is the one-sample Kolmogorov–Smirnov statistic of xs against cdf: the largest gap between
// the empirical and the model CDF. It sorts xs.
func KS(xs []float64, cdf func(float64) float64) float64 {
	slices.Sort(xs)
	n := float64(len(xs))
	d := 0.0
	for i, x := range xs {
		f := cdf(x)
		d = max(d, f-float64(i)/n, float64(i+1)/n-f)
	}
	return d
}

// KSCritical01 is the KS critical value at alpha 0.01 for n samples (Stephens' finite-n form
// of 1.628/√n).
func KSCritical01(n int) float64 {
	s := math.Sqrt(float64(n))
	return 1.628 / (s + 0.12 + 0.11/s)
}
