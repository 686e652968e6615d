package storage

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/cairn-storage/cairn/sim"
)

// Case is one validation point: k-of-n segments, nodes lost with probability P.
type Case struct {
	K, N int
	P    float64
}

// DefaultCases are the rows of sim/README.md: 4-of-8 (Cairn's default) at
// three loss rates, 2-of-5, and Storj's 29-of-80 at a realistic rate (loss far
// below what any run can see) and at one where it shows.
func DefaultCases() []Case {
	return []Case{
		{4, 8, 0.1}, {4, 8, 0.2}, {4, 8, 0.3},
		{2, 5, 0.2}, {2, 5, 0.4},
		{29, 80, 0.3}, {29, 80, 0.5},
	}
}

// ValidationConfig sizes a validation run.
type ValidationConfig struct {
	Nodes           int // population (DefaultNodeConfig)
	Segments        int // segments placed per (k, n)
	SegmentsPerFile int
	Replicates      int     // independent loss draws over the same placement
	Confidence      float64 // of the intervals, e.g. 0.99
	Seed            uint64
}

// DefaultValidationConfig is 10,000 nodes, 20,000 segments of 10 per file, 50
// loss draws each (a million segment trials a case), 99% intervals.
func DefaultValidationConfig() ValidationConfig {
	return ValidationConfig{Nodes: 10000, Segments: 20000, SegmentsPerFile: 10, Replicates: 50, Confidence: 0.99, Seed: 1}
}

// Row is the outcome of one Case.
type Row struct {
	Case
	Theory   float64 // SegmentLossProb(K, N, P)
	Measured float64 // segments lost / segment trials, over all replicates
	Low      float64 // confidence interval on Measured
	High     float64
	Inside   bool // Low <= Theory <= High
	// Trials is Segments·Replicates; DesignEffect is how much the variance
	// across replicates exceeds a binomial one over Trials (see Validate).
	Trials       int
	DesignEffect float64
	FileLoss     float64 // files lost / file trials (no closed form: segments of a file share candidates)
}

// Validate measures segment loss for each case: it places cfg.Segments k-of-n
// segments over cfg.Nodes nodes with reputation.Place (once per distinct
// (k, n)), then draws cfg.Replicates independent losses of each node with
// probability P, counting segments left with fewer than k live shards.
//
// The interval is a Wilson score interval on the pooled proportion with an
// effective sample size. Segments are not independent trials: about
// Segments·N/Nodes shards share each node, so one node's loss moves many
// segments together and the pooled count varies more than a binomial one (the
// design effect). Its expectation is still exact — each segment's n shards are
// on distinct nodes, so each segment is lost with exactly the binomial
// probability — and replicates are independent given the placement, so the
// variance of the pooled proportion is estimated from the spread across
// replicates: n_eff = p̂(1−p̂)/Var(p̂), at most Trials, and z is Student's t
// with Replicates−1 degrees of freedom.
func Validate(cases []Case, cfg ValidationConfig) ([]Row, error) {
	if cfg.Segments < 1 || cfg.SegmentsPerFile < 1 || cfg.Segments%cfg.SegmentsPerFile != 0 {
		return nil, fmt.Errorf("storage: %d segments in files of %d", cfg.Segments, cfg.SegmentsPerFile)
	}
	if cfg.Replicates < 2 || !(cfg.Confidence > 0 && cfg.Confidence < 1) {
		return nil, fmt.Errorf("storage: want >= 2 replicates and a confidence in (0, 1), got %d, %v", cfg.Replicates, cfg.Confidence)
	}
	streams := sim.NewStreams(cfg.Seed)
	z := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(cfg.Replicates - 1)}.Quantile((1 + cfg.Confidence) / 2)
	rows := make([]Row, 0, len(cases))
	var st *Store
	for _, c := range cases {
		theory, err := SegmentLossProb(c.K, c.N, c.P)
		if err != nil {
			return nil, err
		}
		if st == nil || st.K != c.K || st.N != c.N {
			ns, err := NewNodes(DefaultNodeConfig(cfg.Nodes), streams)
			if err != nil {
				return nil, err
			}
			l := Layout{Files: cfg.Segments / cfg.SegmentsPerFile, SegmentsPerFile: cfg.SegmentsPerFile, K: c.K, N: c.N, ShardSize: 1 << 20}
			// Each (k, n) gets its own placement streams, derived from the seed.
			if st, err = Place(ns, l, sim.NewStreams(cfg.Seed^uint64(c.K)<<32^uint64(c.N))); err != nil {
				return nil, err
			}
		}
		rng := streams.Named(fmt.Sprintf("storage/loss/%d-of-%d/%g", c.K, c.N, c.P))
		gone := make([]bool, cfg.Nodes)
		var sum, sumSq, files float64
		for range cfg.Replicates {
			clear(gone)
			LoseIndependently(gone, c.P, rng)
			s, f := st.CountLost(gone)
			x := float64(s) / float64(cfg.Segments)
			sum += x
			sumSq += x * x
			files += float64(f)
		}
		r := float64(cfg.Replicates)
		trials := float64(cfg.Segments) * r
		phat := sum / r
		varMean := max(0, sumSq-sum*sum/r) / (r - 1) / r
		neff := trials
		if varMean > 0 {
			neff = min(trials, phat*(1-phat)/varMean)
		}
		lo, hi := Wilson(phat, neff, z)
		rows = append(rows, Row{
			Case: c, Theory: theory, Measured: phat, Low: lo, High: hi,
			Inside: lo <= theory && theory <= hi,
			Trials: int(trials), DesignEffect: trials / neff,
			FileLoss: files / (float64(st.Files) * r),
		})
	}
	return rows, nil
}

// Table renders rows as the Markdown table of sim/README.md.
func Table(rows []Row, confidence float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| k-of-n | p | theory | measured | %g%% CI | inside | trials | design effect | files lost |\n", confidence*100)
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d-of-%d | %g | %s | %s | [%s, %s] | %v | %d | %.1f | %s |\n",
			r.K, r.N, r.P, num(r.Theory), num(r.Measured), num(r.Low), num(r.High), r.Inside, r.Trials, r.DesignEffect, num(r.FileLoss))
	}
	return b.String()
}

func num(x float64) string {
	if x != 0 && math.Abs(x) < 1e-4 {
		return fmt.Sprintf("%.3g", x)
	}
	return fmt.Sprintf("%.5f", x)
}
