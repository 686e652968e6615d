package kadcheck

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// MinExpected is the smallest expected count a chi-square cell may have;
// sparser hop counts are pooled with a neighbour.
const MinExpected = 5

// Cell is one column of the pooled 2×m table: hop counts Lo..Hi.
type Cell struct {
	Lo, Hi   int
	A, B     int     // observed in each sample
	ExpA     float64 // expected under homogeneity
	ExpB     float64
	Residual float64 // (A − ExpA)/√ExpA, the cell's signed contribution
}

// ChiSquare is Pearson's test of homogeneity of two samples of small
// integers: their histograms, adjacent values pooled until every expected
// count is at least MinExpected. DF is the number of pooled cells less one;
// with one cell the samples cannot differ and P is 1.
func ChiSquare(a, b []int) (chi2 float64, df int, p float64, cells []Cell, err error) {
	if len(a) == 0 || len(b) == 0 {
		return 0, 0, 0, nil, errors.New("kadcheck: chi-square of an empty sample")
	}
	lo := min(slices.Min(a), slices.Min(b))
	hi := max(slices.Max(a), slices.Max(b))
	for v := lo; v <= hi; v++ {
		cells = append(cells, Cell{Lo: v, Hi: v})
	}
	for _, x := range a {
		cells[x-lo].A++
	}
	for _, x := range b {
		cells[x-lo].B++
	}
	na, nb := float64(len(a)), float64(len(b))
	expect := func(c Cell) float64 { return float64(c.A+c.B) * min(na, nb) / (na + nb) }
	// Merge the sparsest cell into its sparser neighbour until none is short.
	for len(cells) > 1 {
		m := 0
		for i, c := range cells {
			if expect(c) < expect(cells[m]) {
				m = i
			}
		}
		if expect(cells[m]) >= MinExpected {
			break
		}
		n := m + 1
		if m == len(cells)-1 || m > 0 && expect(cells[m-1]) <= expect(cells[m+1]) {
			n = m - 1
		}
		i, j := min(m, n), max(m, n)
		cells[i] = Cell{Lo: cells[i].Lo, Hi: cells[j].Hi, A: cells[i].A + cells[j].A, B: cells[i].B + cells[j].B}
		cells = slices.Delete(cells, j, j+1)
	}
	for i := range cells {
		c := &cells[i]
		t := float64(c.A + c.B)
		c.ExpA, c.ExpB = t*na/(na+nb), t*nb/(na+nb)
		c.Residual = (float64(c.A) - c.ExpA) / math.Sqrt(c.ExpA)
		chi2 += sq(float64(c.A)-c.ExpA)/c.ExpA + sq(float64(c.B)-c.ExpB)/c.ExpB
	}
	df = len(cells) - 1
	if df == 0 {
		return 0, 0, 1, cells, nil
	}
	return chi2, df, distuv.ChiSquared{K: float64(df)}.Survival(chi2), cells, nil
}

func sq(x float64) float64 { return x * x }

// KS is the two-sample Kolmogorov–Smirnov statistic D (the largest gap
// between the empirical CDFs) and its asymptotic p-value. For integer data
// with many ties the p-value is conservative (too large).
func KS(a, b []int) (d, p float64) {
	if len(a) == 0 || len(b) == 0 {
		return 0, 1
	}
	sa, sb := slices.Clone(a), slices.Clone(b)
	slices.Sort(sa)
	slices.Sort(sb)
	i, j := 0, 0
	for i < len(sa) && j < len(sb) {
		v := min(sa[i], sb[j])
		for i < len(sa) && sa[i] == v {
			i++
		}
		for j < len(sb) && sb[j] == v {
			j++
		}
		d = max(d, math.Abs(float64(i)/float64(len(sa))-float64(j)/float64(len(sb))))
	}
	ne := float64(len(a)) * float64(len(b)) / float64(len(a)+len(b))
	return d, kolmogorovQ((math.Sqrt(ne) + 0.12 + 0.11/math.Sqrt(ne)) * d)
}

// kolmogorovQ is P(K > λ) for the Kolmogorov distribution, by the series
// that converges fast on each side of λ ≈ 1.18.
func kolmogorovQ(l float64) float64 {
	switch {
	case l <= 0:
		return 1
	case l < 1.18:
		y := math.Exp(-math.Pi * math.Pi / (8 * l * l))
		s := 0.0
		for k := 1; k < 40; k += 2 {
			s += math.Pow(y, float64(k*k))
		}
		return min(1, max(0, 1-math.Sqrt(2*math.Pi)/l*s))
	default:
		x := math.Exp(-2 * l * l)
		s, sign := 0.0, 1.0
		for j := 1; j < 100; j++ {
			s += sign * math.Pow(x, float64(j*j))
			sign = -sign
		}
		return min(1, max(0, 2*s))
	}
}

// Mean is the mean of a sample (0 if empty).
func Mean(a []int) float64 {
	if len(a) == 0 {
		return 0
	}
	s := 0
	for _, x := range a {
		s += x
	}
	return float64(s) / float64(len(a))
}

// MeanDiffCI is a percentile bootstrap interval for mean(b) − mean(a) at
// the given level, resampling each sample on its own (reps times, from rng).
// The samples here are paired (same lookups), so treating them as
// independent makes the interval wider, not narrower.
func MeanDiffCI(a, b []int, level float64, reps int, rng *rand.Rand) (lo, hi float64) {
	if len(a) == 0 || len(b) == 0 || reps < 2 {
		return math.NaN(), math.NaN()
	}
	diffs := make([]float64, reps)
	for r := range diffs {
		diffs[r] = resampledMean(b, rng) - resampledMean(a, rng)
	}
	slices.Sort(diffs)
	at := func(q float64) float64 { return diffs[min(reps-1, max(0, int(math.Floor(q*float64(reps)))))] }
	return at((1 - level) / 2), at((1 + level) / 2)
}

func resampledMean(a []int, rng *rand.Rand) float64 {
	s := 0
	for range a {
		s += a[rng.IntN(len(a))]
	}
	return float64(s) / float64(len(a))
}

// Agreement is the share of positions where a and b are equal (paired samples).
func Agreement(a, b []int) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.NaN()
	}
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	return float64(same) / float64(len(a))
}

// Histogram counts the values of a sample: h[v] is how many equal v (values
// below zero are not expected here and are not counted).
func Histogram(a []int) []int {
	var h []int
	for _, x := range a {
		if x < 0 {
			continue
		}
		for len(h) <= x {
			h = append(h, 0)
		}
		h[x]++
	}
	return h
}
