package study

import (
	"context"
	"fmt"
	"time"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
	"github.com/cairn-storage/cairn/sim/network"
	"github.com/cairn-storage/cairn/sim/scenario"
)

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
		lk  *lookupModel
		err error
	)
	if sc.Kademlia != nil {
		if lk, err = newLookupModel(sc, streams); err != nil {
			return nil, err
		}
	}
	var dur *durability
	if sc.Storage != nil {
		if dur, err = newDurability(*sc.Storage, sc.Nodes, streams); err != nil {
			return nil, err
		}
	}
	eng := sim.New()
	drv, err := churn.New(eng, sc.Churn, streams, sc.Nodes)
	if err != nil {
		return nil, err
	}
	r := &Result{Scenario: sc}
	if sc.Protocol != nil {
		if r.protocol, err = newProtocolStudy(eng, sc, streams); err != nil {
			return nil, err
		}
	}
	built := time.Now()
	mem.sample()
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
				opt.Progress(r.samplesTaken(), total)
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
	if lk != nil {
		if err := lk.attach(eng, drv, streams); err != nil {
			return nil, err
		}
		st := &sampler{lk: lk, kc: *sc.Kademlia, drv: drv, rng: streams.Named(StreamLookups), res: r}
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
	if ps := r.protocol; ps != nil {
		// The network takes its own samples; the run checks for cancellation and reports
		// progress at each.
		ps.net.OnSample = func(network.Sample) {
			if runErr = ctx.Err(); runErr != nil {
				eng.Stop()
				return
			}
			mem.sample()
			if opt.Progress != nil {
				opt.Progress(r.samplesTaken(), total)
			}
		}
		if err := ps.start(eng, drv, end); err != nil {
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
	if lk != nil && lk.err != nil {
		return nil, lk.err
	}
	if ps := r.protocol; ps != nil {
		if err := ps.Err(); err != nil {
			return nil, err
		}
		if got := int64(len(ps.net.Samples())); got != sc.ProtocolSamples() {
			return nil, fmt.Errorf("study: %d protocol samples run, %d expected", got, sc.ProtocolSamples())
		}
		if got := int64(len(ps.epochs)); got != sc.Epochs() {
			return nil, fmt.Errorf("study: %d epochs settled, %d expected", got, sc.Epochs())
		}
	}
	if int64(len(r.Samples)) != sc.LookupSamples() || int64(len(r.Durability)) != sc.StorageSamples() {
		return nil, fmt.Errorf("study: %d+%d samples run, %d+%d expected",
			len(r.Samples), len(r.Durability), sc.LookupSamples(), sc.StorageSamples())
	}
	finished := time.Now()
	mem.sample()
	r.Summary = summarize(r, eng, drv)
	if lk != nil {
		r.Summary.Lookup = lk.summary(r, streams)
	}
	if dur != nil {
		r.Summary.Storage = dur.summary(r.Durability)
	}
	if ps := r.protocol; ps != nil {
		r.Summary.Protocol = ps.summary(sc.Economy.Partners)
	}
	r.Run = RunStats{
		WallSeconds:  finished.Sub(start).Seconds(),
		BuildSeconds: built.Sub(start).Seconds(),
		RunSeconds:   finished.Sub(built).Seconds(),
		PeakHeap:     mem.peakHeap,
		PeakRSS:      peakRSS(),
		StateBytes:   int64(len(drv.State)) * 9,
	}
	if lk != nil {
		r.Run.StateBytes += lk.bytes()
	}
	if dur != nil {
		r.Run.StateBytes += dur.stateB
	}
	if ps := r.protocol; ps != nil {
		r.Run.StateBytes += ps.net.StateBytes()
	}
	if s := r.Run.RunSeconds; s > 0 {
		r.Run.EventsPerSecond = float64(eng.Processed()) / s
		r.Run.LookupsPerSecond = float64(r.Summary.Lookups) / s
	}
	r.Run.BytesPerNode = float64(r.Run.StateBytes) / float64(sc.Nodes)
	return r, nil
}

// samplesTaken counts the samples of every study so far, for the progress bar.
func (r *Result) samplesTaken() int64 {
	n := int64(len(r.Samples) + len(r.Durability))
	if r.protocol != nil {
		n += int64(len(r.protocol.net.Samples()))
	}
	return n
}
