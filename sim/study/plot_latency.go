package study

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// plotLatency draws the CDF of lookup times over the whole run on a log time
// axis: to the lookup's end, and with the follow-up (what GetClosestPeers
// takes).
func (r *Result) plotLatency(path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: lookup latency (n = %d)", r.Scenario.Name, r.Scenario.Nodes)
	p.X.Label.Text = "lookup time (ms, log scale)"
	p.Y.Label.Text = "fraction of lookups"
	p.Y.Min, p.Y.Max = 0, 1
	drawn := 0
	for i, c := range []struct {
		name string
		h    *latencyHist
	}{{"to the end (β rule)", &r.tot.end}, {"with follow-up", &r.tot.time}} {
		ms, frac := c.h.cdf()
		if len(ms) == 0 { // no lookup took any time: nothing to draw on a log axis
			continue
		}
		xy := make(plotter.XYs, len(ms))
		for j := range ms {
			xy[j] = plotter.XY{X: ms[j], Y: frac[j]}
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		if i == 0 {
			l.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(c.name, l)
		drawn++
	}
	if drawn > 0 { // a log axis needs positive data
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Legend.Left = true
	p.Legend.Top = true
	return p.Save(plotW, plotH, path)
}
