package workload

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// z999 is the two-sided 99.9 % normal quantile: fixed-seed checks fail by chance once in a
// thousand seeds, not once in a hundred.
const z999 = 3.2905

// binomialOK reports whether k successes in n trials are within the 99.9 % normal interval
// around n·p.
func binomialOK(k, n int, p float64) bool {
	mean := float64(n) * p
	return math.Abs(float64(k)-mean) <= z999*math.Sqrt(float64(n)*p*(1-p))+0.5
}

// chiSquare is Pearson's statistic of counts against the probabilities p, and the 99.9 %
// critical value for len(p)-1 degrees of freedom.
func chiSquare(counts []int, p []float64) (stat, critical float64) {
	n := 0
	for _, c := range counts {
		n += c
	}
	for i, c := range counts {
		e := float64(n) * p[i]
		stat += (float64(c) - e) * (float64(c) - e) / e
	}
	return stat, distuv.ChiSquared{K: float64(len(p) - 1)}.Quantile(0.999)
}
