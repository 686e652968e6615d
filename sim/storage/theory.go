package storage

import (
	"fmt"
	"math"
	"math/big"
)

// SegmentLossProb is P(segment lost) for a k-of-n segment whose n shards are on
// distinct nodes, each lost independently with probability p: the binomial
// tail Σ_{i=n-k+1..n} C(n,i) p^i (1-p)^(n-i). It is computed exactly in
// rationals (a float64 p is a dyadic rational) and rounded once, so tails far
// below 1e-16 (29-of-80 at p = 0.3) keep their relative precision.
func SegmentLossProb(k, n int, p float64) (float64, error) {
	if k < 1 || n < k || n > 1024 {
		return 0, fmt.Errorf("storage: %d-of-%d, want 1 <= k <= n <= 1024", k, n)
	}
	if !(p >= 0 && p <= 1) {
		return 0, fmt.Errorf("storage: loss probability %v is not in [0, 1]", p)
	}
	pr := new(big.Rat).SetFloat64(p)
	qr := new(big.Rat).Sub(big.NewRat(1, 1), pr)
	sum := new(big.Rat)
	var c big.Int
	term, pi, qi := new(big.Rat), new(big.Rat), new(big.Rat)
	for i := n - k + 1; i <= n; i++ {
		pi.SetInt(new(big.Int).Exp(pr.Num(), big.NewInt(int64(i)), nil))
		pi.Quo(pi, new(big.Rat).SetInt(new(big.Int).Exp(pr.Denom(), big.NewInt(int64(i)), nil)))
		qi.SetInt(new(big.Int).Exp(qr.Num(), big.NewInt(int64(n-i)), nil))
		qi.Quo(qi, new(big.Rat).SetInt(new(big.Int).Exp(qr.Denom(), big.NewInt(int64(n-i)), nil)))
		term.Mul(pi, qi)
		term.Mul(term, new(big.Rat).SetInt(c.Binomial(int64(n), int64(i))))
		sum.Add(sum, term)
	}
	f, _ := sum.Float64()
	return f, nil
}

// Wilson is the Wilson score interval for a proportion phat observed over n
// trials, with z the normal (or Student) quantile of the confidence wanted. n
// may be an effective sample size (not an integer).
func Wilson(phat, n, z float64) (lo, hi float64) {
	z2n := z * z / n
	den := 1 + z2n
	center := (phat + z2n/2) / den
	half := z * math.Sqrt(phat*(1-phat)/n+z2n/(4*n)) / den
	return max(0, center-half), min(1, center+half)
}
