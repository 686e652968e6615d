package workload

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/cairn-storage/cairn/sim"
)

// Stream names the Generator draws from, one per kind of draw, so that a model picking more
// or fewer files (or a scenario adding partners) never moves the arrival times.
const (
	StreamUploads   = "workload/uploads"   // upload inter-arrival times
	StreamDownloads = "workload/downloads" // download inter-arrival times
	StreamSizes     = "workload/sizes"     // file sizes
	StreamPartners  = "workload/partners"  // partner tags
	StreamPicks     = "workload/picks"     // files downloads read (Picker)
)

// Picker resolves a download to a file: given the n files the model can serve (in upload
// order), it returns the index, in 0..n-1, of the one read; -1 if n < 1. It draws from the
// workload's own stream, so the model's other choices stay its own. It is an alias, so a
// callback written with func(int) int fits OnDownload.
type Picker = func(n int) int

// Generator plays a Config on an engine: uploads and downloads arrive as two Poisson
// processes, each event scheduling the next, so the workload holds two pending events
// whatever the run's length. What an upload stores and who downloads what are the model's:
// the callbacks say when, how big and which partner, and Pick which file.
type Generator struct {
	// OnUpload is called at each upload with its size and partner tag ("" = none).
	OnUpload func(at sim.Time, size int64, partner string)
	// OnDownload is called at each download with the picker for its file: the model chooses
	// the downloader and calls pick(n) with the number of files it can serve.
	OnDownload func(at sim.Time, pick Picker)

	cfg                Config
	eng                *sim.Engine
	kUpload, kDown     sim.Kind
	upGap, downGap     distuv.Exponential
	sizes              *Sizer
	tagRng             *rand.Rand
	tags               []string  // partner IDs, then "" for untagged
	cum                []float64 // cumulative weights of tags
	pickRng            *rand.Rand
	zipf               *zipf // nil for uniform picks
	pick               Picker
	started            bool
	uploads, downloads uint64
	picks              uint64
	err                error
}

// New validates cfg and registers the generator's event kinds ("workload.upload",
// "workload.download") on eng. Nothing happens until Start.
func New(eng *sim.Engine, cfg Config, streams sim.Streams) (*Generator, error) {
	if eng == nil {
		return nil, errors.New("workload: nil engine")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Generator{cfg: cfg, eng: eng}
	var err error
	if g.kUpload, err = eng.Register("workload.upload", g.handleUpload); err != nil {
		return nil, err
	}
	if g.kDown, err = eng.Register("workload.download", g.handleDownload); err != nil {
		return nil, err
	}
	if g.sizes, err = NewSizer(cfg.FileSize, streams.NamedPCG(StreamSizes)); err != nil {
		return nil, fmt.Errorf("workload.file_size: %w", err)
	}
	g.upGap = distuv.Exponential{Rate: cfg.UploadsPerHour / float64(sim.Hour), Src: streams.NamedPCG(StreamUploads)}
	g.downGap = distuv.Exponential{Rate: cfg.DownloadsPerHour / float64(sim.Hour), Src: streams.NamedPCG(StreamDownloads)}
	g.tagRng = streams.Named(StreamPartners)
	total := 0.0
	for _, p := range cfg.Partners {
		total += p.Weight
		g.tags, g.cum = append(g.tags, p.ID), append(g.cum, total)
	}
	g.tags, g.cum = append(g.tags, ""), append(g.cum, total+cfg.UntaggedWeight)
	g.pickRng = streams.Named(StreamPicks)
	if cfg.DownloadSkew > 0 {
		g.zipf = newZipf(cfg.DownloadSkew, g.pickRng)
	}
	g.pick = g.Pick
	return g, nil
}

// Start schedules the first upload and download after now (not before the engine's clock).
// A generator starts once.
func (g *Generator) Start(now sim.Time) error {
	if g.started {
		return errors.New("workload: already started")
	}
	if now < g.eng.Now() {
		return fmt.Errorf("workload: start at %v, before the engine's clock %v", now, g.eng.Now())
	}
	g.started = true
	if g.cfg.UploadsPerHour > 0 {
		g.schedule(now, &g.upGap, g.kUpload)
	}
	if g.cfg.DownloadsPerHour > 0 {
		g.schedule(now, &g.downGap, g.kDown)
	}
	return g.err
}

// schedule queues the next arrival of kind after from. A refusal means virtual time ran out:
// the first is kept in Err and the run stopped, as the churn driver does.
func (g *Generator) schedule(from sim.Time, gap *distuv.Exponential, kind sim.Kind) {
	var err error
	if at, ok := from.Add(toDuration(gap.Rand())); ok {
		err = g.eng.Schedule(at, kind, -1, 0)
	} else {
		err = fmt.Errorf("workload: arrivals ran past the end of virtual time after %v", from)
	}
	if err != nil && g.err == nil {
		g.err = err
		g.eng.Stop()
	}
}

// toDuration rounds a gap in nanoseconds; a gap past virtual time saturates (and then fails
// to schedule).
func toDuration(ns float64) sim.Duration {
	if !(ns < float64(math.MaxInt64)) {
		return sim.Duration(math.MaxInt64)
	}
	return sim.Duration(math.Round(max(ns, 0)))
}

func (g *Generator) handleUpload(e *sim.Engine, ev sim.Event) {
	g.uploads++
	size := g.sizes.Sample()
	tag := g.tag()
	g.schedule(ev.At, &g.upGap, g.kUpload)
	if g.OnUpload != nil {
		g.OnUpload(ev.At, size, tag)
	}
}

func (g *Generator) handleDownload(e *sim.Engine, ev sim.Event) {
	g.downloads++
	g.schedule(ev.At, &g.downGap, g.kDown)
	if g.OnDownload != nil {
		g.OnDownload(ev.At, g.pick)
	}
}

// tag draws an upload's partner tag. Without partners it draws nothing.
func (g *Generator) tag() string {
	if len(g.tags) == 1 {
		return ""
	}
	u := g.tagRng.Float64() * g.cum[len(g.cum)-1]
	for i, c := range g.cum {
		if u < c {
			return g.tags[i]
		}
	}
	// u rounded up to the total: the last tag with weight.
	for i := len(g.tags) - 1; i > 0; i-- {
		if g.cum[i] > g.cum[i-1] {
			return g.tags[i]
		}
	}
	return g.tags[0]
}

// Pick draws the index, in 0..n-1, of the file a download reads among n files in upload order:
// uniform, or Zipf with exponent DownloadSkew over ranks counted from the latest upload
// (index n-1 is rank 1). It returns -1 if n < 1.
func (g *Generator) Pick(n int) int {
	if n < 1 {
		return -1
	}
	g.picks++
	if g.zipf == nil {
		return g.pickRng.IntN(n)
	}
	return n - g.zipf.rank(n)
}

// Config is the workload being played.
func (g *Generator) Config() Config { return g.cfg }

// Uploads and Downloads count the arrivals so far; Picks the files picked.
func (g *Generator) Uploads() uint64   { return g.uploads }
func (g *Generator) Downloads() uint64 { return g.downloads }
func (g *Generator) Picks() uint64     { return g.picks }

// Err is the first scheduling failure, which stopped the run (nil normally).
func (g *Generator) Err() error { return g.err }
