package study

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/cairn-storage/cairn/sim/network"
)

// classColors tells the node classes apart in every protocol plot.
var classColors = [network.NumClasses]color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // honest: blue
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // data dropping: red
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // audit cheating: orange
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, // sybil: purple
}

// addLine adds a line of pts to p with a legend entry; dashed lines tell a second series of
// the same colour apart.
func addLine(p *plot.Plot, name string, pts plotter.XYs, c color.Color, dashed bool) error {
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.LineStyle.Color = c
	if dashed {
		l.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

// plotRepair draws repair traffic per hour of virtual time, read and written, over time.
func (r *Result) plotRepair(path string) error {
	ss := r.protocol.net.Samples()
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: repair traffic (%d-of-%d)", r.Scenario.Name, r.Scenario.Protocol.K, r.Scenario.Protocol.N)
	p.X.Label.Text = "virtual time (h)"
	p.Y.Label.Text = "GiB per hour"
	read := make(plotter.XYs, 0, len(ss))
	wrote := make(plotter.XYs, 0, len(ss))
	for i, s := range ss {
		if i == 0 {
			continue // the sample at 0 covers no time
		}
		h := s.At.Sub(ss[i-1].At).Hours()
		read = append(read, plotter.XY{X: s.At.Hours(), Y: float64(s.RepairBytesRead) / (1 << 30) / h})
		wrote = append(wrote, plotter.XY{X: s.At.Hours(), Y: float64(s.RepairBytesWritten) / (1 << 30) / h})
	}
	if len(read) == 0 {
		read, wrote = plotter.XYs{{}}, plotter.XYs{{}}
	}
	if err := addLine(p, "read (k shards per rebuilt segment)", read, classColors[0], false); err != nil {
		return err
	}
	if err := addLine(p, "written (rebuilt shards)", wrote, classColors[1], true); err != nil {
		return err
	}
	p.Legend.Top = true
	p.Y.Min = 0
	return p.Save(plotW, plotH, path)
}

// plotLost draws the fraction of segments and of files lost for good over time.
func (r *Result) plotLost(path string) error {
	ss := r.protocol.net.Samples()
	p := plot.New()
	repair := "with repair"
	if r.Scenario.Protocol.DisableRepair {
		repair = "no repair"
	}
	p.Title.Text = fmt.Sprintf("%s: data lost (%d-of-%d, %s)", r.Scenario.Name, r.Scenario.Protocol.K, r.Scenario.Protocol.N, repair)
	p.X.Label.Text = "virtual time (h)"
	p.Y.Label.Text = "fraction lost"
	segs := make(plotter.XYs, len(ss))
	files := make(plotter.XYs, len(ss))
	for i, s := range ss {
		segs[i] = plotter.XY{X: s.At.Hours(), Y: frac(s.SegmentsLost, s.Segments)}
		files[i] = plotter.XY{X: s.At.Hours(), Y: frac(s.FilesLost, s.Files)}
	}
	if err := addLine(p, "segments", segs, classColors[0], false); err != nil {
		return err
	}
	if err := addLine(p, "files", files, classColors[1], true); err != nil {
		return err
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Y.Min = 0
	return p.Save(plotW, plotH, path)
}

func frac(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// plotStored draws the histogram of bytes stored per live node at the end, with the Gini.
func (r *Result) plotStored(path string) error {
	used := r.protocol.net.StoredBytes(nil)
	vals := make(plotter.Values, len(used))
	for i, u := range used {
		vals[i] = float64(u) / (1 << 30)
	}
	if len(vals) == 0 {
		vals = plotter.Values{0}
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: stored per live node at the end (Gini %.3f)", r.Scenario.Name, network.Gini(used))
	p.X.Label.Text = "GiB stored"
	p.Y.Label.Text = "nodes"
	h, err := plotter.NewHist(vals, 40)
	if err != nil {
		return err
	}
	h.FillColor = classColors[0]
	p.Add(h)
	return p.Save(plotW, plotH, path)
}

// plotReputation draws each class's mean audit score over time (the classes present).
func (r *Result) plotReputation(path string) error {
	ss := r.protocol.net.Samples()
	sum := r.Summary.Protocol.Network
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: mean audit score by node class", r.Scenario.Name)
	p.X.Label.Text = "virtual time (h)"
	p.Y.Label.Text = "mean score R (live nodes)"
	for c := range network.NumClasses {
		if c < len(sum.Classes) && sum.Classes[c].Nodes == 0 {
			continue
		}
		pts := make(plotter.XYs, 0, len(ss))
		for _, s := range ss {
			if s.Nodes[c] > 0 {
				pts = append(pts, plotter.XY{X: s.At.Hours(), Y: s.MeanScore[c]})
			}
		}
		if len(pts) == 0 {
			continue
		}
		name := network.Class(c).String()
		if c < len(sum.Classes) && sum.Classes[c].TurnedBad > 0 {
			name += fmt.Sprintf(" (detected %d/%d, median %v)", sum.Classes[c].Detected, sum.Classes[c].TurnedBad, sum.Classes[c].TTDMedian)
		}
		if err := addLine(p, name, pts, classColors[c], c != 0); err != nil {
			return err
		}
	}
	p.Legend.Left = true
	p.Y.Max = 1.01
	return p.Save(plotW, plotH, path)
}

// plotPayouts draws, per settled epoch, what operators, partners and the network received.
func (r *Result) plotPayouts(path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: settlement per epoch", r.Scenario.Name)
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "units (10^6 micro-units)"
	eps := r.protocol.epochs
	series := []struct {
		name string
		get  func(EpochRow) float64
	}{
		{"operators, honest", func(e EpochRow) float64 { return float64(e.PayoutsByClass[network.Honest]) }},
		{"operators, misbehaving", func(e EpochRow) float64 {
			return float64(e.PayoutsByClass[network.DataDropping] + e.PayoutsByClass[network.AuditCheating] + e.PayoutsByClass[network.Sybil])
		}},
		{"partners", func(e EpochRow) float64 { return float64(e.PartnerShares) }},
		{"network fee", func(e EpochRow) float64 { return float64(e.Fee) }},
	}
	for i, s := range series {
		pts := make(plotter.XYs, len(eps))
		for j, e := range eps {
			pts[j] = plotter.XY{X: float64(e.Epoch), Y: s.get(e) / 1e6}
		}
		if len(pts) == 0 {
			pts = plotter.XYs{{}}
		}
		if err := addLine(p, s.name, pts, classColors[i], i%2 == 1); err != nil {
			return err
		}
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Y.Min = 0
	return p.Save(plotW, plotH, path)
}
