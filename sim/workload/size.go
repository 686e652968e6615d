package workload

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// File size distribution kinds.
const (
	Fixed       = "fixed"
	LogNormal   = "lognormal"
	Pareto      = "pareto"
	Exponential = "exponential"
)

// Default file sizes. File sizes are usually modelled as lognormal (Downey 2001; Agrawal et
// al., FAST 2007). Cairn stores backups and media rather than a file system's many tiny files,
// so the default centre is a few MiB: a lognormal with median 4 MiB (a quarter of the node's
// 16 MiB segment, so most files are one segment) and σ = 2, whose tail beyond 1 GiB (0.28 % of
// it) is cut so that no single draw dominates a run's bytes. Truncated to [1 B, 1 GiB] it has
// a median of 3.97 MiB, a mean of 23 MiB and a 99th percentile of 349 MiB
// (TestDefaultSizes).
const (
	DefaultMedian  int64   = 4 << 20
	DefaultSigma   float64 = 2
	DefaultMinSize int64   = 1
	DefaultMaxSize int64   = 1 << 30
	// MaxSize bounds Max: 1 TiB, far beyond any file a run should model, and small enough
	// that sums of many sizes stay exact in int64.
	MaxSize int64 = 1 << 40
)

// SizeDist is a distribution of file sizes in bytes, truncated to [Min, Max]: a draw is the
// distribution conditioned on landing in the range (inverse CDF over [F(Min), F(Max)]), not
// clamped to it, so no size piles up at the bounds.
//
// Fixed is one size, given as Median or Mean (they are equal). LogNormal takes Sigma (σ of
// the log) and Median (e^μ) or Mean (e^(μ+σ²/2)). Pareto takes Shape (α; below 2 the
// variance is infinite) and Median or Mean (α > 1 only) of the untruncated law; its scale
// x_m follows. Exponential takes Median or Mean. Exactly one of Median and Mean.
type SizeDist struct {
	Kind   string  `toml:"kind"`
	Median int64   `toml:"median,omitempty"`
	Mean   int64   `toml:"mean,omitempty"`
	Sigma  float64 `toml:"sigma,omitempty"`
	Shape  float64 `toml:"shape,omitempty"`
	Min    int64   `toml:"min,omitempty"`
	Max    int64   `toml:"max,omitempty"`
}

// DefaultSizeDist is the default: lognormal, median 4 MiB, σ 2, in [1 B, 1 GiB].
func DefaultSizeDist() SizeDist {
	return SizeDist{Kind: LogNormal, Median: DefaultMedian, Sigma: DefaultSigma, Min: DefaultMinSize, Max: DefaultMaxSize}
}

// Fill gives a distribution without a kind the default one, and zero bounds their defaults.
func (d *SizeDist) Fill() {
	if d.Kind == "" {
		*d = DefaultSizeDist()
		return
	}
	if d.Min == 0 {
		d.Min = DefaultMinSize
	}
	if d.Max == 0 {
		d.Max = DefaultMaxSize
	}
}

// Validate says what is wrong with d, if anything (field names as in TOML).
func (d SizeDist) Validate() error {
	switch d.Kind {
	case Fixed, LogNormal, Pareto, Exponential:
	case "":
		return errors.New("kind missing (fixed, lognormal, pareto or exponential)")
	default:
		return fmt.Errorf("unknown kind %q (fixed, lognormal, pareto or exponential)", d.Kind)
	}
	if d.Min < 1 || d.Max < d.Min || d.Max > MaxSize {
		return fmt.Errorf("min %d, max %d: want 1 <= min <= max <= %d", d.Min, d.Max, MaxSize)
	}
	if d.Median < 0 || d.Mean < 0 {
		return errors.New("median and mean must be positive")
	}
	if (d.Median != 0) == (d.Mean != 0) {
		return errors.New("give exactly one of median and mean")
	}
	switch d.Kind {
	case Fixed, Exponential:
		if d.Sigma != 0 || d.Shape != 0 {
			return fmt.Errorf("%s takes median or mean only (no sigma or shape)", d.Kind)
		}
		if v := d.Median + d.Mean; d.Kind == Fixed && (v < d.Min || v > d.Max) {
			return fmt.Errorf("fixed size %d outside [min %d, max %d]", v, d.Min, d.Max)
		}
	case LogNormal:
		if d.Shape != 0 {
			return errors.New("lognormal takes sigma, not shape")
		}
		if !(d.Sigma > 0 && d.Sigma <= 10) {
			return fmt.Errorf("lognormal sigma %v: want 0 < sigma <= 10", d.Sigma)
		}
	case Pareto:
		if d.Sigma != 0 {
			return errors.New("pareto takes shape, not sigma")
		}
		if !(d.Shape >= 0.05 && d.Shape <= 100) {
			return fmt.Errorf("pareto shape %v: want 0.05 <= shape <= 100", d.Shape)
		}
		if d.Mean != 0 && d.Shape <= 1 {
			return fmt.Errorf("pareto shape %v has no mean: give the median", d.Shape)
		}
	}
	if d.Kind != Fixed {
		if lo, hi := d.bounds(d.law()); !(hi-lo >= 1e-9) {
			return fmt.Errorf("%s has probability %.3g in [min %d, max %d]: nothing to draw", d.Kind, hi-lo, d.Min, d.Max)
		}
	}
	return nil
}

// law is the untruncated distribution; d is valid and not fixed.
type law interface {
	CDF(float64) float64
	Quantile(float64) float64
}

func (d SizeDist) law() law {
	switch d.Kind {
	case LogNormal:
		mu := math.Log(float64(d.Median))
		if d.Mean != 0 {
			mu = math.Log(float64(d.Mean)) - d.Sigma*d.Sigma/2
		}
		return distuv.LogNormal{Mu: mu, Sigma: d.Sigma}
	case Pareto:
		xm := float64(d.Median) / math.Pow(2, 1/d.Shape)
		if d.Mean != 0 {
			xm = float64(d.Mean) * (d.Shape - 1) / d.Shape
		}
		return distuv.Pareto{Xm: xm, Alpha: d.Shape}
	default: // Exponential
		rate := math.Ln2 / float64(d.Median)
		if d.Mean != 0 {
			rate = 1 / float64(d.Mean)
		}
		return distuv.Exponential{Rate: rate}
	}
}

// bounds is [F(Min), F(Max)] of the untruncated law.
func (d SizeDist) bounds(l law) (lo, hi float64) {
	return l.CDF(float64(d.Min)), l.CDF(float64(d.Max))
}

func (d SizeDist) String() string {
	switch d.Kind {
	case Fixed:
		return fmt.Sprintf("fixed(%d B)", d.Median+d.Mean)
	case LogNormal:
		return fmt.Sprintf("lognormal(median %d B, mean %d B, sigma %g, [%d, %d])", d.Median, d.Mean, d.Sigma, d.Min, d.Max)
	case Pareto:
		return fmt.Sprintf("pareto(shape %g, median %d B, mean %d B, [%d, %d])", d.Shape, d.Median, d.Mean, d.Min, d.Max)
	}
	return fmt.Sprintf("%s(median %d B, mean %d B, [%d, %d])", d.Kind, d.Median, d.Mean, d.Min, d.Max)
}

// Sizer draws sizes from a SizeDist: one uniform draw a size, mapped through the law's
// quantile function over [F(Min), F(Max)].
type Sizer struct {
	d      SizeDist
	l      law // nil for fixed
	lo, hi float64
	rng    *rand.Rand
}

// NewSizer returns a sampler of d drawing from src.
func NewSizer(d SizeDist, src rand.Source) (*Sizer, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if src == nil {
		return nil, errors.New("workload: sizer needs a seeded source")
	}
	s := &Sizer{d: d, rng: rand.New(src)}
	if d.Kind != Fixed {
		s.l = d.law()
		s.lo, s.hi = d.bounds(s.l)
	}
	return s, nil
}

// Sample draws one size in [Min, Max].
func (s *Sizer) Sample() int64 {
	if s.l == nil {
		return s.d.Median + s.d.Mean
	}
	x := s.l.Quantile(s.lo + s.rng.Float64()*(s.hi-s.lo))
	// Rounding (and quantile error at the ends) may step just outside the range.
	return min(max(int64(math.Round(x)), s.d.Min), s.d.Max)
}

// CDF is P(size <= x) of the truncated distribution (continuous: sizes are rounded draws).
func (s *Sizer) CDF(x float64) float64 {
	switch {
	case x < float64(s.d.Min):
		return 0
	case x >= float64(s.d.Max):
		return 1
	case s.l == nil:
		if x < float64(s.d.Median+s.d.Mean) {
			return 0
		}
		return 1
	}
	return (s.l.CDF(x) - s.lo) / (s.hi - s.lo)
}

// Quantile is the size below which a fraction p of draws fall.
func (s *Sizer) Quantile(p float64) float64 {
	if s.l == nil {
		return float64(s.d.Median + s.d.Mean)
	}
	p = min(max(p, 0), 1)
	return min(max(s.l.Quantile(s.lo+p*(s.hi-s.lo)), float64(s.d.Min)), float64(s.d.Max))
}
