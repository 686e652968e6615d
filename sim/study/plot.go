package study

import (
	"fmt"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

const plotW, plotH = 6 * vg.Inch, 4 * vg.Inch

// plotHops draws the hop histogram: the share of lookups at each hop count.
func (r *Result) plotHops(path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: lookup hops (n = %d, %s)", r.Scenario.Name, r.Scenario.Nodes, r.Summary.Mode)
	p.X.Label.Text = "hops"
	p.Y.Label.Text = "fraction of lookups"
	vals := make(plotter.Values, len(r.Hops))
	names := make([]string, len(r.Hops))
	total := float64(r.Summary.Lookups)
	for h, c := range r.Hops {
		if total > 0 {
			vals[h] = float64(c) / total
		}
		names[h] = strconv.Itoa(h)
	}
	if len(vals) == 0 {
		vals, names = plotter.Values{0}, []string{"0"}
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(20))
	if err != nil {
		return err
	}
	p.Add(bars)
	p.NominalX(names...)
	return p.Save(plotW, plotH, path)
}

// plotLive draws the nodes up and the nodes not departed over virtual time.
func (r *Result) plotLive(path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: nodes over time", r.Scenario.Name)
	p.X.Label.Text = "virtual time (h)"
	p.Y.Label.Text = "nodes"
	up := make(plotter.XYs, len(r.Samples))
	live := make(plotter.XYs, len(r.Samples))
	for i, s := range r.Samples {
		up[i] = plotter.XY{X: s.At.Hours(), Y: float64(s.Up)}
		live[i] = plotter.XY{X: s.At.Hours(), Y: float64(s.Live)}
	}
	lu, err := plotter.NewLine(up)
	if err != nil {
		return err
	}
	ll, err := plotter.NewLine(live)
	if err != nil {
		return err
	}
	ll.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(lu, ll)
	p.Legend.Add("up", lu)
	p.Legend.Add("not departed", ll)
	p.Legend.Left = true // bottom left: clear of the lines, which sit near the top
	p.Y.Min = 0
	p.Y.Max = 1.05 * float64(max(1, r.Scenario.Nodes))
	return p.Save(plotW, plotH, path)
}

// plotDurability draws the fraction of segments lost over virtual time against
// the binomial theory at the fraction of nodes departed by then.
func (r *Result) plotDurability(path string) error {
	st := r.Scenario.Storage
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: segments lost (%d-of-%d, no repair)", r.Scenario.Name, st.K, st.N)
	p.X.Label.Text = "virtual time (h)"
	p.Y.Label.Text = "fraction of segments lost"
	segs := float64(st.Files * st.SegmentsPerFile)
	lost := make(plotter.XYs, len(r.Durability))
	theory := make(plotter.XYs, len(r.Durability))
	for i, s := range r.Durability {
		lost[i] = plotter.XY{X: s.At.Hours(), Y: float64(s.SegmentsLost) / segs}
		theory[i] = plotter.XY{X: s.At.Hours(), Y: s.Theory}
	}
	ll, err := plotter.NewLine(lost)
	if err != nil {
		return err
	}
	lt, err := plotter.NewLine(theory)
	if err != nil {
		return err
	}
	lt.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(ll, lt)
	p.Legend.Add("measured", ll)
	p.Legend.Add("binomial at departed fraction", lt)
	p.Legend.Left = true
	p.Legend.Top = true // losses start at 0 and rise: the top left is clear
	p.Y.Min = 0
	return p.Save(plotW, plotH, path)
}
