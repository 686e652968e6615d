package kadcheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Comparison tests one model's hop counts against the real ones.
type Comparison struct {
	Name      string  `json:"name"`
	ChiSquare float64 `json:"chi_square"` // homogeneity of the pooled hop histograms
	DF        int     `json:"df"`
	P         float64 `json:"p"`
	Cells     []Cell  `json:"cells"`
	KS        float64 `json:"ks"`   // two-sample Kolmogorov–Smirnov D
	KSP       float64 `json:"ks_p"` // its asymptotic p (conservative with ties)
	MeanReal  float64 `json:"mean_real"`
	MeanModel float64 `json:"mean_model"`
	// MeanDiff is MeanModel − MeanReal, CI its 95 % bootstrap interval.
	MeanDiff float64    `json:"mean_diff"`
	CI       [2]float64 `json:"ci"`
	// Agreement is the share of lookups (same initiator, same key) whose hop
	// counts are equal.
	Agreement float64 `json:"agreement"`
	// Messages and Followups are the model's means per lookup.
	Messages  float64 `json:"messages"`
	Followups float64 `json:"followups"`
}

// TableStats describes routing tables: mean entries a node, and the mean fill
// of bucket b (entries at CPL b over K), b = 0, 1, ...
type TableStats struct {
	MeanEntries float64   `json:"mean_entries"`
	BucketFill  []float64 `json:"bucket_fill"`
	// InDegreeCV is the coefficient of variation of how many tables hold
	// each node, InDegreeMax the most: how unevenly the tables pick peers.
	InDegreeCV  float64 `json:"in_degree_cv"`
	InDegreeMax int     `json:"in_degree_max"`
	// Bucket0PairCPL is the mean CPL of two peers in the same CPL-0 bucket
	// (nodes with more than one bucket): about 2 for peers drawn uniformly
	// from the far half of the space, more when a bucket is one cluster.
	Bucket0PairCPL float64 `json:"bucket0_pair_cpl"`
	// SeedsHoldTop is the share of lookups whose initiator's K closest
	// peers to the key (the seeds) include the Beta nodes closest to it:
	// the lookups that can end after one hop.
	SeedsHoldTop float64 `json:"seeds_hold_top"`
}

// Report is the outcome of Run.
type Report struct {
	Config Config `json:"config"`
	// Hop counts, lookup by lookup: the real DHT; the model (unit latency)
	// over the real tables; the model over the real tables replaying the
	// real order of answers; the model over kad.BuildIdeal tables.
	RealHops   []int `json:"real_hops"`
	ModelHops  []int `json:"model_hops"`
	ReplayHops []int `json:"replay_hops"`
	IdealHops  []int `json:"ideal_hops"`
	// Model, Replay and Ideal compare their hop counts with RealHops.
	Model  Comparison `json:"model"`
	Replay Comparison `json:"replay"`
	Ideal  Comparison `json:"ideal"`
	// ReplayExact is the share of lookups whose replay gave exactly the real
	// hop count, requests, follow-up requests and K closest (in order): the
	// lookup algorithm, timing aside, is kad-dht's.
	ReplayExact float64 `json:"replay_exact"`

	RealMessages  float64 `json:"real_messages"`  // requests before the lookup ended, per lookup
	RealFollowups float64 `json:"real_followups"` // follow-up requests, per lookup
	RealStarved   int     `json:"real_starved"`   // lookups that ran out of peers to ask
	// RealInverted is the share of pairs of answers (within a lookup) the
	// real lookups took in the other way round from their requests: 0 when
	// answers come back in the order asked, as the model's unit latency has it.
	RealInverted float64 `json:"real_inverted"`
	// ModelSameClosest is the share of lookups whose real result is the
	// model's (real tables, unit latency) Closest, in the same order.
	ModelSameClosest float64 `json:"model_same_closest"`
	// RealFound is the share of real lookups whose first result is the node
	// closest to the key (the initiator aside).
	RealFound float64 `json:"real_found"`
	// Answers is how many responses the real lookups took in, AnswersMatched
	// how many named exactly the peers the snapshot table gives (kad.Table.Nearest):
	// the check that both sides route over the same tables.
	Answers        int `json:"answers"`
	AnswersMatched int `json:"answers_matched"`
	// TableChanges counts real tables found changed between lookups (the
	// initiator keeps peers that answered it); the snapshot followed them.
	TableChanges int        `json:"table_changes"`
	RealTables   TableStats `json:"real_tables"`
	IdealTables  TableStats `json:"ideal_tables"`

	BuildSeconds  float64 `json:"build_seconds"`
	LookupSeconds float64 `json:"lookup_seconds"`
}

// Markdown renders the report as a table of the three hop samples and the
// tests, followed by the checks that both sides routed over the same tables.
func (r *Report) Markdown() string {
	var b strings.Builder
	c := r.Config
	lo, hi := r.hopRange()
	fmt.Fprintf(&b, "%d nodes, K = %d, α = %d, β = %d, %d lookups, seed %d, link latency %v.\n\n",
		c.Nodes, c.K, c.Alpha, c.Beta, c.Lookups, c.Seed, c.LinkLatency)
	b.WriteString("| lookups by | mean hops |")
	for h := lo; h <= hi; h++ {
		fmt.Fprintf(&b, " %d hops |", h)
	}
	b.WriteString(" messages | follow-ups | χ² (df) | p | KS D (p) | mean diff [95% CI] | same hops |\n|---|---:|")
	b.WriteString(strings.Repeat("---:|", hi-lo+1))
	b.WriteString("---:|---:|---:|---:|---:|---:|---:|\n")
	row := func(name string, hops []int, msgs, fups float64, cmp *Comparison) {
		fmt.Fprintf(&b, "| %s | %.3f |", name, Mean(hops))
		h := Histogram(hops)
		for v := lo; v <= hi; v++ {
			n := 0
			if v < len(h) {
				n = h[v]
			}
			fmt.Fprintf(&b, " %d |", n)
		}
		fmt.Fprintf(&b, " %.1f | %.1f |", msgs, fups)
		if cmp == nil {
			b.WriteString(" | | | | |\n")
			return
		}
		fmt.Fprintf(&b, " %.2f (%d) | %.3f | %.3f (%.2f) | %+.3f [%+.3f, %+.3f] | %.1f %% |\n",
			cmp.ChiSquare, cmp.DF, cmp.P, cmp.KS, cmp.KSP, cmp.MeanDiff, cmp.CI[0], cmp.CI[1], 100*cmp.Agreement)
	}
	row("real go-libp2p-kad-dht", r.RealHops, r.RealMessages, r.RealFollowups, nil)
	for _, cmp := range []*Comparison{&r.Model, &r.Replay, &r.Ideal} {
		hops := map[*Comparison][]int{&r.Model: r.ModelHops, &r.Replay: r.ReplayHops, &r.Ideal: r.IdealHops}[cmp]
		row(cmp.Name, hops, cmp.Messages, cmp.Followups, cmp)
	}
	b.WriteString("\nχ² cells (hops: real / model):")
	for _, cmp := range []*Comparison{&r.Model, &r.Ideal} {
		fmt.Fprintf(&b, " *%s*:", cmp.Name)
		for _, cl := range cmp.Cells {
			span := strconv.Itoa(cl.Lo)
			if cl.Hi > cl.Lo {
				span += "–" + strconv.Itoa(cl.Hi)
			}
			fmt.Fprintf(&b, " [%s: %d / %d]", span, cl.A, cl.B)
		}
		b.WriteString(";")
	}
	fmt.Fprintf(&b, "\n\nSame tables: %d of %d real answers (%.2f %%) named exactly the peers the snapshot table gives; "+
		"%d table changes followed between lookups; the replay of the real order of answers gave the real hops, requests, "+
		"follow-ups and K closest in %.1f %% of lookups (the unit-latency model the same K closest in %.1f %%); "+
		"real lookups found the closest node in %.1f %%; %d starved; %.1f %% of pairs of real answers came back "+
		"the other way round from their requests.\n",
		r.AnswersMatched, r.Answers, 100*float64(r.AnswersMatched)/float64(max(1, r.Answers)), r.TableChanges,
		100*r.ReplayExact, 100*r.ModelSameClosest, 100*r.RealFound, r.RealStarved, 100*r.RealInverted)
	for _, t := range []struct {
		name string
		st   TableStats
	}{{"real", r.RealTables}, {"ideal", r.IdealTables}} {
		fmt.Fprintf(&b, "\nTables, %s: %.1f entries a node; fill by CPL %s; in-degree CV %.2f, max %d; "+
			"mean CPL of two peers in a CPL-0 bucket %.2f; seeds hold the %d closest nodes to the key in %.1f %% of lookups.\n",
			t.name, t.st.MeanEntries, fills(t.st.BucketFill), t.st.InDegreeCV, t.st.InDegreeMax, t.st.Bucket0PairCPL,
			c.Beta, 100*t.st.SeedsHoldTop)
	}
	fmt.Fprintf(&b, "\nBuild %.1f s, lookups %.1f s.\n", r.BuildSeconds, r.LookupSeconds)
	return b.String()
}

// hopRange is the least and greatest hop count in any sample (0, 0 if none).
func (r *Report) hopRange() (lo, hi int) {
	first := true
	for _, hops := range [][]int{r.RealHops, r.ModelHops, r.ReplayHops, r.IdealHops} {
		for _, h := range hops {
			if first || h < lo {
				lo = h
			}
			if first || h > hi {
				hi = h
			}
			first = false
		}
	}
	return lo, hi
}

// fills lists the first bucket fills as percentages.
func fills(f []float64) string {
	var parts []string
	for b, x := range f {
		if b == 8 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%.0f", 100*x))
	}
	return "[" + strings.Join(parts, " ") + "] %"
}

// WriteFiles writes report.md, report.json and hops.png into dir.
func (r *Report) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.Markdown()), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return r.WritePlot(filepath.Join(dir, "hops.png"))
}
