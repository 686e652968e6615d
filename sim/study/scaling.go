package study

import (
	"context"
	"math"

	"github.com/cairn-storage/cairn/sim/scenario"
)

// HopRow is one network size of the hop-scaling study.
type HopRow struct {
	Nodes        int     `json:"nodes"`
	MeanHops     float64 `json:"mean_hops"`
	P50          int     `json:"p50"`
	P95          int     `json:"p95"`
	MeanMessages float64 `json:"mean_messages"`
	FoundRate    float64 `json:"found_rate"`
}

// HopScaling runs base at each of sizes (its seed and everything else kept)
// and reports the hops of each: the check that lookup hops grow like log n.
func HopScaling(ctx context.Context, base scenario.Scenario, sizes []int) ([]HopRow, error) {
	rows := make([]HopRow, 0, len(sizes))
	for _, n := range sizes {
		sc, err := base.Apply(scenario.Overrides{Nodes: &n})
		if err != nil {
			return nil, err
		}
		r, err := Run(ctx, sc, Options{})
		if err != nil {
			return nil, err
		}
		s := r.Summary
		rows = append(rows, HopRow{Nodes: n, MeanHops: s.Hops.Mean, P50: s.Hops.P50, P95: s.Hops.P95,
			MeanMessages: s.MeanMessages, FoundRate: s.FoundRate})
	}
	return rows, nil
}

// FitLog2 fits mean hops = a + b·log2(n) by least squares (needs two sizes).
func FitLog2(rows []HopRow) (a, b float64) {
	var sx, sy, sxx, sxy float64
	m := float64(len(rows))
	for _, r := range rows {
		x := math.Log2(float64(r.Nodes))
		sx, sy, sxx, sxy = sx+x, sy+r.MeanHops, sxx+x*x, sxy+x*r.MeanHops
	}
	b = (m*sxy - sx*sy) / (m*sxx - sx*sx)
	a = (sy - b*sx) / m
	return a, b
}
