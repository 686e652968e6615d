package kadcheck

import (
	"fmt"
	"image/color"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// WritePlot draws the three hop histograms as grouped bars (share of lookups
// at each hop count) to a PNG (or any format gonum/plot infers from path).
func (r *Report) WritePlot(path string) error {
	p := plot.New()
	c := r.Config
	p.Title.Text = fmt.Sprintf("Lookup hops, real kad-dht vs model: %d nodes, K = %d, α = %d, β = %d, %d lookups, links %v",
		c.Nodes, c.K, c.Alpha, c.Beta, c.Lookups, c.LinkLatency)
	p.X.Label.Text = "hops"
	p.Y.Label.Text = "fraction of lookups"
	series := []struct {
		name string
		hops []int
		col  color.Color
	}{
		{"real go-libp2p-kad-dht", r.RealHops, color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}},
		{"model, real tables (p = " + pText(r.Model.P) + ")", r.ModelHops, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}},
		{"model, ideal tables (p = " + pText(r.Ideal.P) + ")", r.IdealHops, color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}},
	}
	lo, hi := r.hopRange()
	w := vg.Points(14)
	for i, s := range series {
		h := Histogram(s.hops)
		vals := make(plotter.Values, hi-lo+1)
		for v := range vals {
			if v+lo < len(h) && len(s.hops) > 0 {
				vals[v] = float64(h[v+lo]) / float64(len(s.hops))
			}
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.Color = s.col
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(i-1) * w
		p.Add(bars)
		p.Legend.Add(s.name, bars)
	}
	names := make([]string, hi-lo+1)
	for v := range names {
		names[v] = strconv.Itoa(v + lo)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(hi-lo)+0.6 // room for the outer bars
	p.Legend.Top = true
	p.Y.Max = 1
	return p.Save(8*vg.Inch, 4.5*vg.Inch, path)
}

// pText prints a p-value: two decimals, or two significant digits below 0.01.
func pText(p float64) string {
	if p >= 0.01 {
		return fmt.Sprintf("%.2f", p)
	}
	return fmt.Sprintf("%.1e", p)
}
