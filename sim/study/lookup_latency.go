package study

import "math"

// Lookup times are kept in a log histogram, so a run of any length keeps
// constant memory and its percentiles stay deterministic.
const (
	latBinsPerDecade = 1000
	latMinLog        = -2 // 0.01 ms, the lowest bin's lower edge
	latDecades       = 9  // up to 10^7 ms (almost 3 h)
)

// latencyHist counts times in ms: bin i holds [10^(i/1000-2), 10^((i+1)/1000-2)),
// the first bin everything below, the last everything above; zeros apart.
type latencyHist struct {
	bins      []uint64
	n, zeros  uint64
	sum, most float64
}

func (h *latencyHist) add(ms float64) {
	if h.bins == nil {
		h.bins = make([]uint64, latBinsPerDecade*latDecades)
	}
	h.n++
	h.sum += ms
	h.most = max(h.most, ms)
	if !(ms > 0) {
		h.zeros++
		return
	}
	i := int(math.Floor((math.Log10(ms) - latMinLog) * latBinsPerDecade))
	h.bins[max(0, min(i, len(h.bins)-1))]++
}

// quantile is the smallest bin's geometric centre with at least q of the
// counts at or below it (0 if that is a zero).
func (h *latencyHist) quantile(q float64) float64 {
	need := uint64(math.Ceil(q * float64(h.n)))
	acc := h.zeros
	if acc >= need {
		return 0
	}
	for i, c := range h.bins {
		if acc += c; acc >= need {
			return math.Pow(10, (float64(i)+0.5)/latBinsPerDecade+latMinLog)
		}
	}
	return h.most
}

// stats rounds to µs: more digits would only be the histogram's.
func (h *latencyHist) stats() *LatencyStats {
	us := func(x float64) float64 { return math.Round(x*1000) / 1000 }
	return &LatencyStats{Mean: us(h.sum / float64(h.n)), P50: us(h.quantile(0.5)), P95: us(h.quantile(0.95)),
		P99: us(h.quantile(0.99)), Max: us(h.most)}
}

// cdf is the fraction of times at or below each bin's upper edge, for the bins
// that hold any, as (ms, fraction) pairs.
func (h *latencyHist) cdf() (ms, frac []float64) {
	acc := h.zeros
	for i, c := range h.bins {
		if c == 0 {
			continue
		}
		acc += c
		ms = append(ms, math.Pow(10, float64(i+1)/latBinsPerDecade+latMinLog))
		frac = append(frac, float64(acc)/float64(h.n))
	}
	return ms, frac
}
