// Package study runs a scenario on the simulator and writes what it measured:
// summary.json (deterministic: same scenario and seed, same bytes), run.json
// (wall time and memory, which are not), lookups.csv (one row per sample) and
// PNG plots. Two studies share churn over the engine: the Kademlia lookup
// study (every sample_every of virtual time a batch of lookups from random up
// nodes to random keys, with the dead being the nodes churn has down) and the
// durability study (segments placed at time 0, lost as their holders depart;
// storage.csv).
package study

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
	"github.com/cairn-storage/cairn/sim/kad"
	"github.com/cairn-storage/cairn/sim/scenario"
)

// Stream names this study draws from (see sim.Streams).
const (
	StreamIDs     = "kad/ids"
	StreamTables  = "kad/tables"
	StreamLookups = "study/lookups"
)

// Options are a run's knobs that do not change its result.
type Options struct {
	// Progress, if set, is called after each sample with how many of the
	// total are done, and once with (0, total) before the first.
	Progress func(done, total int64)
}

// Sample is what one batch of lookups measured: a row of lookups.csv.
type Sample struct {
	At       sim.Time
	Up       int // nodes up (the ones that answer)
	Live     int // nodes not departed
	Lookups  int // lookups run (0 when no node was up)
	MeanHops float64
	P95Hops  int
	MeanMsgs float64 // requests per lookup, follow-up included
	MeanTO   float64 // requests to dead peers per lookup
	MeanTime float64 // lookup time in rounds (unit latency and timeout)
	Found    float64 // fraction whose closest answer is the closest up node
}

// Result is a finished run.
type Result struct {
	Scenario scenario.Scenario
	Samples  []Sample
	// Hops[h] counts lookups of h hops, over the whole run.
	Hops []uint64
	// Durability is the storage study's samples (nil without [storage]).
	Durability []StorageSample
	Summary    Summary
	Run        RunStats

	tot totals // over every sample, exact
}

type totals struct{ lookups, hops, msgs, timeouts, found int64 }

// Run plays sc and measures it. It stops early, with ctx's error, when ctx
// ends.
func Run(ctx context.Context, sc scenario.Scenario, opt Options) (*Result, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	var mem memWatch
	start := time.Now()
	streams := sim.NewStreams(sc.Seed)
	var (
		space  *kad.Space
		looker *kad.Looker
		table  *kad.Table
		err    error
	)
	if sc.Kademlia != nil {
		kc := *sc.Kademlia
		if space, err = kad.RandomSpace(sc.Nodes, streams.Named(StreamIDs)); err != nil {
			return nil, err
		}
		if kc.Mode == scenario.ModeLookup {
			if table, err = kad.BuildIdeal(space, kc.K, streams.Named(StreamTables)); err != nil {
				return nil, err
			}
			cfg := kad.DefaultConfig()
			cfg.Alpha, cfg.Beta = kc.Alpha, kc.Beta
			if looker, err = kad.NewLooker(table, cfg); err != nil {
				return nil, err
			}
		}
	}
	var dur *durability
	if sc.Storage != nil {
		if dur, err = newDurability(*sc.Storage, sc.Nodes, streams); err != nil {
			return nil, err
		}
	}
	built := time.Now()
	mem.sample()
	eng := sim.New()
	drv, err := churn.New(eng, sc.Churn, streams, sc.Nodes)
	if err != nil {
		return nil, err
	}
	r := &Result{Scenario: sc}
	total := sc.Samples()
	end := sim.Time(sc.Duration)
	var runErr error
	// every runs fn at 0, period, 2·period, ... up to end, with the
	// cancellation check and progress report each sample shares.
	every := func(name string, period sim.Duration, fn func(at sim.Time)) error {
		var kind sim.Kind
		kind, err := eng.Register(name, func(e *sim.Engine, ev sim.Event) {
			if runErr = ctx.Err(); runErr != nil {
				e.Stop()
				return
			}
			fn(ev.At)
			mem.sample()
			if opt.Progress != nil {
				opt.Progress(int64(len(r.Samples)+len(r.Durability)), total)
			}
			if next, ok := ev.At.Add(period); ok && next <= end {
				if err := e.Schedule(next, kind, -1, 0); err != nil && runErr == nil {
					runErr = err
					e.Stop()
				}
			}
		})
		if err != nil {
			return err
		}
		return eng.Schedule(0, kind, -1, 0)
	}
	if sc.Kademlia != nil {
		st := &sampler{
			kc: *sc.Kademlia, space: space, looker: looker, drv: drv,
			rng: streams.Named(StreamLookups), res: r,
		}
		if err := every("study.sample", sc.Kademlia.SampleEvery, st.sample); err != nil {
			return nil, err
		}
	}
	if dur != nil {
		dur.attach(drv, 0)
		if err := every("study.storage", sc.Storage.SampleEvery, func(at sim.Time) {
			r.Durability = append(r.Durability, dur.sample(at, drv))
		}); err != nil {
			return nil, err
		}
	}
	if opt.Progress != nil {
		opt.Progress(0, total)
	}
	eng.Run(end)
	if runErr != nil {
		return nil, runErr
	}
	if err := drv.Err(); err != nil {
		return nil, err
	}
	if int64(len(r.Samples)) != sc.LookupSamples() || int64(len(r.Durability)) != sc.StorageSamples() {
		return nil, fmt.Errorf("study: %d+%d samples run, %d+%d expected",
			len(r.Samples), len(r.Durability), sc.LookupSamples(), sc.StorageSamples())
	}
	finished := time.Now()
	mem.sample()
	r.Summary = summarize(r, eng, drv)
	if dur != nil {
		r.Summary.Storage = dur.summary(r.Durability)
	}
	r.Run = RunStats{
		WallSeconds:  finished.Sub(start).Seconds(),
		BuildSeconds: built.Sub(start).Seconds(),
		RunSeconds:   finished.Sub(built).Seconds(),
		PeakHeap:     mem.peakHeap,
		PeakRSS:      peakRSS(),
		StateBytes:   int64(len(drv.State)) * 9,
	}
	if space != nil {
		r.Run.StateBytes += int64(space.Bytes())
	}
	if table != nil {
		r.Run.StateBytes += int64(table.Bytes()) + 4*int64(sc.Nodes) // + the Looker's scratch
	}
	if dur != nil {
		r.Run.StateBytes += dur.stateB
	}
	if s := r.Run.RunSeconds; s > 0 {
		r.Run.EventsPerSecond = float64(eng.Processed()) / s
		r.Run.LookupsPerSecond = float64(r.Summary.Lookups) / s
	}
	r.Run.BytesPerNode = float64(r.Run.StateBytes) / float64(sc.Nodes)
	return r, nil
}

// sampler runs the lookups of one sample.
type sampler struct {
	kc      scenario.Kademlia
	space   *kad.Space
	looker  *kad.Looker
	drv     *churn.Driver
	rng     *rand.Rand
	res     *Result
	hist    []uint64 // this sample's hops
	closest []int32
}

func (s *sampler) sample(at sim.Time) {
	smp := Sample{At: at, Up: s.drv.UpCount(), Live: s.drv.LiveCount()}
	if smp.Up == 0 {
		s.res.Samples = append(s.res.Samples, smp)
		return
	}
	clear(s.hist)
	alive := s.drv.IsUp
	var hops, msgs, tos, found int64
	var rounds float64
	for range s.kc.Lookups {
		from := s.randomUp()
		key := s.rng.Uint64()
		if s.looker == nil { // exact mode: the true closest up node, no route
			s.closest = s.space.Closest(s.closest[:0], key, s.kc.K, func(p int32) bool { return p != from && alive(p) })
			if len(s.closest) > 0 {
				found++
			}
			s.hist = count(s.hist, 0)
			continue
		}
		res := s.looker.Lookup(from, key, alive)
		hops += int64(res.Hops)
		msgs += int64(res.Messages + res.Followups)
		tos += int64(res.Timeouts)
		rounds += res.Time
		if res.Found {
			found++
		}
		s.hist = count(s.hist, res.Hops)
	}
	t := &s.res.tot
	t.lookups += int64(s.kc.Lookups)
	t.hops, t.msgs, t.timeouts, t.found = t.hops+hops, t.msgs+msgs, t.timeouts+tos, t.found+found
	n := float64(s.kc.Lookups)
	smp.Lookups = s.kc.Lookups
	smp.MeanHops = float64(hops) / n
	smp.P95Hops = quantile(s.hist, 0.95)
	smp.MeanMsgs = float64(msgs) / n
	smp.MeanTO = float64(tos) / n
	smp.MeanTime = rounds / n
	smp.Found = float64(found) / n
	for len(s.res.Hops) < len(s.hist) {
		s.res.Hops = append(s.res.Hops, 0)
	}
	for h, c := range s.hist {
		s.res.Hops[h] += c
	}
	s.res.Samples = append(s.res.Samples, smp)
}

// randomUp draws a node uniformly among those up (there is at least one).
// Rejection keeps the draw independent of how the driver stores state.
func (s *sampler) randomUp() int32 {
	n := len(s.drv.State)
	for {
		if i := int32(s.rng.IntN(n)); s.drv.IsUp(i) {
			return i
		}
	}
}

// count adds one to h[v], growing h as needed.
func count(h []uint64, v int) []uint64 {
	for len(h) <= v {
		h = append(h, 0)
	}
	h[v]++
	return h
}

// quantile is the smallest value v with at least q of the counts at or below it.
func quantile(h []uint64, q float64) int {
	var total uint64
	for _, c := range h {
		total += c
	}
	if total == 0 {
		return 0
	}
	var acc uint64
	for v, c := range h {
		acc += c
		if float64(acc) >= q*float64(total) {
			return v
		}
	}
	return len(h) - 1
}
