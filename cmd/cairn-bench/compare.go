package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// compareModes are the devnets of -maintenance compare, in order: alternating, so a drift of the
// machine over the run (page cache, other tenants) hits both modes alike.
var compareModes = []struct {
	name string
	args []string
}{
	{"off", []string{"--fast", "--no-maintenance"}},
	{"on", []string{"--fast"}},
	{"on", []string{"--fast"}},
	{"off", []string{"--fast", "--no-maintenance"}},
}

// runCompare runs one bench per compareModes entry and prints each, then the medians per mode
// and their ratio: the cost of audits and repair running every few seconds during puts and gets.
func runCompare(ctx context.Context, opts options) error {
	runs := map[string][]runResult{}
	var results []*result
	for i, m := range compareModes {
		o := opts
		o.devnetArgs = m.args
		b := &bench{opts: o, log: os.Stderr}
		b.logf("devnet %d of %d: maintenance %s (%v)", i+1, len(compareModes), m.name, m.args)
		res, err := b.run(ctx)
		b.cleanup()
		if err != nil {
			return fmt.Errorf("maintenance %s: %w", m.name, err)
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
	fmt.Printf("maintenance compare: %d nodes, %d bytes, %d runs per devnet, devnets %v\n",
		opts.nodes, opts.size, opts.runs, slices.Collect(func(yield func(string) bool) {
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
