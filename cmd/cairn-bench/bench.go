package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

type bench struct {
	opts      options
	log       io.Writer
	work      string // temp dir: cairn binary, input, output, devnet.log
	root      string // devnet root
	rootMine  bool   // we created root (remove it) rather than only its contents
	exe       string
	input     string
	inputHash []byte
	dn        *devnetProc
	pids      map[int]int // node index -> daemon pid
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "cairn-bench: "+format+"\n", args...)
}

// nodeDir is node i's repo, as laid out by `cairn devnet`.
func (b *bench) nodeDir(i int) string {
	return filepath.Join(b.root, fmt.Sprintf("node-%d", i))
}

func (b *bench) run(ctx context.Context) (*result, error) {
	o := b.opts
	start := time.Now()
	wd, _ := os.Getwd()
	res := &result{
		Command: commandLine(), Args: os.Args[1:], Dir: wd, Started: start.UTC().Truncate(time.Second),
		Units:   "MB = 10^6 bytes; MB/s = size / wall-clock seconds of the CLI process; RSS in KiB (JSON) or MiB (table)",
		Machine: describeMachine(),
	}
	if o.note != "" {
		res.Notes = append(res.Notes, o.note)
		b.logf("%s", o.note)
	}

	var err error
	if b.work, err = os.MkdirTemp("", "cairn-bench-"); err != nil {
		return nil, err
	}
	if err := b.prepareRoot(); err != nil {
		return nil, err
	}
	res.DevnetRoot, res.WorkDir, res.Kept = b.root, b.work, o.keep
	b.logf("work dir %s, devnet root %s", b.work, b.root)

	if err := b.prepareBinary(ctx, &res.Machine); err != nil {
		return nil, err
	}
	if err := b.writeInput(ctx); err != nil {
		return nil, err
	}

	up, down := 1, min(o.nodes/2+2, o.nodes) // never the uploader: nodes >= 2
	res.Setup = setup{
		Nodes: o.nodes, SizeBytes: o.size, Runs: o.runs, Seed: o.seed,
		InputSHA: hex.EncodeToString(b.inputHash), Uploader: up, Downloader: down,
	}

	if err := b.startDevnet(ctx); err != nil {
		return nil, err
	}
	nodes, err := b.readDaemons()
	if err != nil {
		return nil, err
	}
	res.SetupSecs = time.Since(start).Seconds()

	out := filepath.Join(b.work, "output.bin")
	for i := 1; i <= o.runs; i++ {
		r, err := b.oneRun(ctx, i, up, down, out, &res.Setup)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i, err)
		}
		if r.RmFailed > 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("run %d: rm could not delete %d shards", i, r.RmFailed))
		}
		res.Runs = append(res.Runs, r)
	}

	res.Warnings = append(res.Warnings, readPeaks(nodes)...)
	res.Daemons = daemonSummary(nodes, up, down)
	res.Summary = summarize(res.Runs)
	if b.dn != nil && isClosed(b.dn.exited) {
		return nil, fmt.Errorf("the devnet exited during the benchmark (%v); see %s", b.dn.waitErr, b.dn.logPath)
	}
	res.TotalSecs = time.Since(start).Seconds()
	return res, nil
}

// prepareRoot creates the devnet root, refusing a non-empty -root so that a previous network's
// repos are neither reused (unreproducible) nor deleted afterwards.
func (b *bench) prepareRoot() error {
	if b.opts.root == "" {
		dir, err := os.MkdirTemp("", "cairn-bench-net-")
		if err != nil {
			return err
		}
		b.root, b.rootMine = dir, true
		return nil
	}
	root, err := filepath.Abs(b.opts.root)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(root)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(root, 0o755); err != nil {
			return err
		}
		b.root, b.rootMine = root, true
		return nil
	case err != nil:
		return fmt.Errorf("-root: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("-root %s is not empty; give a new or empty directory (the bench deletes what it creates there)", root)
	}
	b.root = root
	return nil
}

// cleanup stops the devnet, kills any daemon it left, and removes the temp dirs unless -keep.
// It runs on every exit path, so it uses its own deadlines rather than the run's context.
func (b *bench) cleanup() {
	b.stopDevnet()
	b.killLeftoverDaemons()
	if b.opts.keep {
		b.logf("kept work dir %s and devnet root %s (-keep)", b.work, b.root)
		return
	}
	if b.work != "" {
		os.RemoveAll(b.work)
	}
	if b.root == "" {
		return
	}
	if b.rootMine {
		os.RemoveAll(b.root)
	} else if entries, err := os.ReadDir(b.root); err == nil {
		// A user's -root stays, emptied of what the devnet created in it.
		for _, e := range entries {
			os.RemoveAll(filepath.Join(b.root, e.Name()))
		}
	}
}
