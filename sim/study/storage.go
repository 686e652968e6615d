package study

import (
	"math"
	"strconv"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
	"github.com/cairn-storage/cairn/sim/scenario"
	"github.com/cairn-storage/cairn/sim/storage"
)

// StorageSample is one row of storage.csv: the durability state at At.
type StorageSample struct {
	At           sim.Time
	Live         int // nodes not departed (arrivals included)
	Departed     int // initial nodes departed for good: the ones holding shards
	SegmentsLost int // segments below k live shards so far
	FilesLost    int // files with such a segment
	// Theory is storage.SegmentLossProb(k, n, Departed/nodes): the expected
	// lost fraction were the same share of nodes lost independently.
	Theory float64
}

// StorageSummary is summary.json's "storage": the layout and the losses at the
// end of the run.
type StorageSummary struct {
	Files           int   `json:"files"`
	SegmentsPerFile int   `json:"segments_per_file"`
	Segments        int   `json:"segments"`
	K               int   `json:"k"`
	N               int   `json:"n"`
	ShardSize       int64 `json:"shard_size"`
	Samples         int   `json:"samples"`
	// DepartedAtEnd counts initial nodes departed; DepartedFraction divides by
	// the initial nodes.
	DepartedAtEnd    int     `json:"departed_at_end"`
	DepartedFraction float64 `json:"departed_fraction"`
	SegmentsLost     int     `json:"segments_lost"`
	FilesLost        int     `json:"files_lost"`
	SegmentLoss      float64 `json:"segment_loss"` // SegmentsLost / Segments
	FileLoss         float64 `json:"file_loss"`    // FilesLost / Files
	// TheorySegmentLoss is the binomial tail at DepartedFraction.
	TheorySegmentLoss float64 `json:"theory_segment_loss"`
}

// durability is the storage study's state over a run: where the shards are and
// which holders departed.
type durability struct {
	cfg      scenario.Storage
	nodes    int
	store    *storage.Store
	tracker  *storage.Tracker
	departed int
	stateB   int64 // bytes of its arrays, for run.json
}

// newDurability places cfg's layout over a fresh population of nodes at time
// 0, drawing from streams (the storage/* streams, apart from churn's and kad's).
func newDurability(cfg scenario.Storage, nodes int, streams sim.Streams) (*durability, error) {
	ns, err := storage.NewNodes(storage.DefaultNodeConfig(nodes), streams)
	if err != nil {
		return nil, err
	}
	st, err := storage.Place(ns, cfg.Layout(), streams)
	if err != nil {
		return nil, err
	}
	tr, err := storage.NewTracker(st, nodes)
	if err != nil {
		return nil, err
	}
	shards, segs := int64(len(st.Holder)), int64(st.Segments())
	return &durability{cfg: cfg, nodes: nodes, store: st, tracker: tr,
		// Holder and reverse index 4+4 a shard, live count a segment, lost flag
		// a file, offsets and gone flag a node (the Nodes are dropped after Place).
		stateB: 8*shards + segs + int64(st.Files) + 5*int64(nodes)}, nil
}

// attach makes drv's permanent departures of initial nodes lose their shards.
func (d *durability) attach(drv *churn.Driver, now sim.Time) {
	prev := drv.OnDown
	drv.OnDown = func(node int32, at sim.Time, departed bool) {
		if prev != nil {
			prev(node, at, departed)
		}
		if departed && int(node) < d.nodes {
			d.departed++
		}
	}
	d.tracker.Attach(drv, now)
}

func (d *durability) sample(at sim.Time, drv *churn.Driver) StorageSample {
	s := StorageSample{At: at, Live: drv.LiveCount(), Departed: d.departed,
		SegmentsLost: d.tracker.SegmentsLost(), FilesLost: d.tracker.FilesLost()}
	// k, n and the fraction were validated, so this cannot fail.
	s.Theory, _ = storage.SegmentLossProb(d.cfg.K, d.cfg.N, float64(d.departed)/float64(d.nodes))
	return s
}

func (d *durability) summary(samples []StorageSample) *StorageSummary {
	st := d.store
	s := &StorageSummary{
		Files: st.Files, SegmentsPerFile: st.SegmentsPerFile, Segments: st.Segments(),
		K: st.K, N: st.N, ShardSize: st.ShardSize, Samples: len(samples),
	}
	if len(samples) == 0 {
		return s
	}
	last := samples[len(samples)-1]
	s.DepartedAtEnd = last.Departed
	s.DepartedFraction = round(float64(last.Departed) / float64(d.nodes))
	s.SegmentsLost, s.FilesLost = last.SegmentsLost, last.FilesLost
	s.SegmentLoss = sig6(float64(last.SegmentsLost) / float64(s.Segments))
	s.FileLoss = sig6(float64(last.FilesLost) / float64(s.Files))
	s.TheorySegmentLoss = sig6(last.Theory)
	return s
}

// sig6 keeps 6 significant digits: loss probabilities span many decades, so
// round's fixed 6 decimals would print the small ones as 0.
func sig6(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	y, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 6, 64), 64)
	return y
}

// storageHeader names storage.csv's columns: time in hours, nodes not
// departed, initial nodes departed, segments and files lost so far, the
// fraction of segments lost and the binomial theory at the departed fraction.
const storageHeader = "time_h,live,departed,segments_lost,files_lost,segment_loss,theory_segment_loss\n"

// StorageCSV is storage.csv's bytes (nil when the scenario has no [storage]).
func (r *Result) StorageCSV() []byte {
	if r.Scenario.Storage == nil {
		return nil
	}
	b := []byte(storageHeader)
	segs := float64(r.Scenario.Storage.Files * r.Scenario.Storage.SegmentsPerFile)
	for _, s := range r.Durability {
		b = strconv.AppendFloat(b, s.At.Hours(), 'f', -1, 64)
		for _, v := range []int{s.Live, s.Departed, s.SegmentsLost, s.FilesLost} {
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(v), 10)
		}
		b = append(b, ',')
		b = strconv.AppendFloat(b, float64(s.SegmentsLost)/segs, 'g', 6, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, s.Theory, 'g', 6, 64)
		b = append(b, '\n')
	}
	return b
}

// StorageLine is the one-line durability summary `cairn sim` prints, or ""
// when the scenario has no [storage].
func (r *Result) StorageLine() string {
	s := r.Summary.Storage
	if s == nil {
		return ""
	}
	return "storage: " + strconv.Itoa(s.Files) + " files × " + strconv.Itoa(s.SegmentsPerFile) +
		" segments, " + strconv.Itoa(s.K) + "-of-" + strconv.Itoa(s.N) + "; " +
		strconv.Itoa(s.DepartedAtEnd) + " nodes departed (" + pct(s.DepartedFraction) + "); segments lost " +
		strconv.Itoa(s.SegmentsLost) + " (" + pct(s.SegmentLoss) + ", theory " + pct(s.TheorySegmentLoss) +
		"), files lost " + strconv.Itoa(s.FilesLost) + " (" + pct(s.FileLoss) + ")"
}

func pct(x float64) string { return strconv.FormatFloat(100*x, 'g', 3, 64) + "%" }
