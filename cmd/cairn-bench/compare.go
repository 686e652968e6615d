package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// compareMode is one devnet of a compare run.
type compareMode struct {
	name string
	args []string
}

// compareModes are the devnets of a compare run of feature (-maintenance or -ledger), in
// order: alternating, so a drift of the machine over the run (page cache, other tenants) hits
// both modes alike. "off" passes the devnet flag that turns the feature off.
func compareModes(offFlag string) []compareMode {
	off := []string{"--fast", offFlag}
	on := []string{"--fast"}
	return []compareMode{{"off", off}, {"on", on}, {"on", on}, {"off", off}}
}

// runCompare runs one bench per compareModes entry and prints each, then the medians per mode
// and their ratio: the cost of the feature (audits and repair, or the ledger's gossip, receipts,
// attestations and statements) running every few seconds during puts and gets.
func runCompare(ctx context.Context, opts options, feature, offFlag string) error {
	compareModes := compareModes(offFlag)
	runs := map[string][]runResult{}
	var results []*result
	for i, m := range compareModes {
		o := opts
		o.devnetArgs = m.args
		b := &bench{opts: o, log: os.Stderr}
		b.logf("devnet %d of %d: %s %s (%v)", i+1, len(compareModes), feature, m.name, m.args)
		res, err := b.run(ctx)
		b.cleanup()
		if err != nil {
			return fmt.Errorf("%s %s: %w", feature, m.name, err)
		}
		printHuman(os.Stderr, res)
		runs[m.name] = append(runs[m.name], res.Runs...)
		results = append(results, res)
	}
	on, off := summarize(runs["on"]), summarize(runs["off"])
	rows := []struct {
		what    string
		on, off float64
	}{
		{"put MB/s (median)", on.PutMBps.Median, off.PutMBps.Median},
		{"get MB/s (median)", on.GetMBps.Median, off.GetMBps.Median},
		{"put CPU s/GB (median)", on.PutCPU.Median, off.PutCPU.Median},
		{"get CPU s/GB (median)", on.GetCPU.Median, off.GetCPU.Median},
	}
	fmt.Printf("%s compare: %d nodes, %d bytes, %d runs per devnet, devnets %v\n",
		feature, opts.nodes, opts.size, opts.runs, slices.Collect(func(yield func(string) bool) {
			for _, m := range compareModes {
				if !yield(m.name) {
					return
				}
			}
		}))
	fmt.Printf("%-24s %10s %10s %8s\n", "", "on", "off", "on/off")
	for _, r := range rows {
		ratio := 0.0
		if r.off > 0 {
			ratio = r.on / r.off
		}
		fmt.Printf("%-24s %10.1f %10.1f %8.3f\n", r.what, r.on, r.off, ratio)
	}
	if opts.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"on": on, "off": off, "devnets": results})
	}
	return nil
}
