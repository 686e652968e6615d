package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/scenario"
	"github.com/cairn-storage/cairn/sim/study"
)

func newSimCmd(a *app) *cobra.Command {
	var (
		file, out, duration, cpuProfile string
		seed                            uint64
		nodes                           int
	)
	cmd := &cobra.Command{
		Use:   "sim --scenario FILE --out DIR [--seed N] [--nodes N] [--duration D]",
		Short: "Run a network simulation scenario (no daemon needed) and write its results",
		Long: "Runs a scenario (TOML; see sim/scenarios/ and sim/README.md) on the deterministic\n" +
			"simulator and writes summary.json, run.json and scenario.toml into --out, with\n" +
			"lookups.csv, hops.png and live.png for a [kademlia] study and storage.csv and\n" +
			"durability.png for a [storage] one, and protocol.csv, economy.csv, repair.png,\n" +
			"lost.png, stored.png, reputation.png and payouts.png for a [protocol] one (Cairn's\n" +
			"placement, audits, repair, behaviours and settlement through the node's own cores).\n" +
			"The same scenario and seed give byte-identical\n" +
			"summary.json and CSV files; run.json holds wall time and memory.",
		Args: argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("--scenario is required")
			}
			if out == "" {
				return errors.New("--out is required")
			}
			sc, err := scenario.Load(file)
			if err != nil {
				return err
			}
			var o scenario.Overrides
			if cmd.Flags().Changed("seed") {
				o.Seed = &seed
			}
			if cmd.Flags().Changed("nodes") {
				o.Nodes = &nodes
			}
			if cmd.Flags().Changed("duration") {
				d, err := sim.ParseDuration(duration)
				if err != nil {
					return fmt.Errorf("--duration: %w", err)
				}
				o.Duration = &d
			}
			if sc, err = sc.Apply(o); err != nil {
				return fmt.Errorf("scenario %s with flags: %w", file, err)
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			bar := a.newSimProgress(cmd.Context(), sc)
			res, err := study.Run(cmd.Context(), sc, study.Options{Progress: bar.set})
			bar.done(err == nil)
			if err != nil {
				return err
			}
			if err := res.Write(out); err != nil {
				return err
			}
			a.printSimSummary(res, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "scenario", "", "scenario file (TOML)")
	f.StringVar(&out, "out", "", "directory for the results (created if missing)")
	f.Uint64Var(&seed, "seed", 0, "override the scenario's seed")
	f.IntVar(&nodes, "nodes", 0, "override the scenario's node count")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	f.StringVar(&duration, "duration", "", `override the scenario's virtual duration ("30d", "12h")`)
	return cmd
}

func (a *app) printSimSummary(r *study.Result, out string) {
	s, run := r.Summary, r.Run
	if s.Mode != "" {
		a.printf("%s: %d nodes, seed %d, %v virtual, %s mode\n", s.Name, s.Nodes, s.Seed, s.Duration, s.Mode)
		a.printf("lookups: %d in %d samples; hops mean %.3f, p50 %d, p95 %d; found %.2f%%; messages %.2f, timeouts %.2f per lookup\n",
			s.Lookups, s.Samples, s.Hops.Mean, s.Hops.P50, s.Hops.P95, 100*s.FoundRate, s.MeanMessages, s.MeanTimeouts)
	} else {
		a.printf("%s: %d nodes, seed %d, %v virtual\n", s.Name, s.Nodes, s.Seed, s.Duration)
	}
	if l := r.StorageLine(); l != "" {
		a.printf("%s\n", l)
	}
	if l := r.ProtocolLine(); l != "" {
		a.printf("%s\n", l)
	}
	a.printf("events: %d (%.0f/s); wall %.2f s (build %.2f s); %.0f bytes of model state per node; peak heap %s",
		s.Events, run.EventsPerSecond, run.WallSeconds, run.BuildSeconds, run.BytesPerNode, mib(run.PeakHeap))
	if run.PeakRSS > 0 {
		a.printf(", peak RSS %s", mib(run.PeakRSS))
	}
	a.printf("\nwrote %s\n", out)
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// simProgress counts samples on a bar on stderr; nil (no terminal) does nothing.
type simProgress struct {
	p   *mpb.Progress
	bar *mpb.Bar
}

func (a *app) newSimProgress(ctx context.Context, sc scenario.Scenario) *simProgress {
	if !a.stderrTTY {
		return nil
	}
	p := mpb.NewWithContext(ctx, mpb.WithOutput(a.stderr), mpb.WithWidth(40),
		mpb.WithRefreshRate(150*time.Millisecond), mpb.WithAutoRefresh())
	bar := p.New(sc.Samples(), mpb.BarStyle(),
		mpb.PrependDecorators(
			decor.Name("sim "+sc.Name, decor.WC{C: decor.DindentRight | decor.DextraSpace}),
			decor.CountersNoUnit("%d / %d samples"),
		),
		mpb.AppendDecorators(decor.Elapsed(decor.ET_STYLE_GO), decor.Name(" "), decor.Percentage()),
	)
	return &simProgress{p: p, bar: bar}
}

func (s *simProgress) set(done, _ int64) {
	if s != nil {
		s.bar.SetCurrent(done)
	}
}

func (s *simProgress) done(ok bool) {
	if s == nil {
		return
	}
	if !ok {
		s.bar.Abort(false)
	}
	s.bar.SetTotal(-1, true)
	s.p.Wait()
}
