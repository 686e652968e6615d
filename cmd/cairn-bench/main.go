// Command cairn-bench measures put/get throughput and peak memory over a loopback devnet:
//
//	go run ./cmd/cairn-bench -nodes 10 -size 256MiB -runs 3 [-cairn PATH] [-k 4 -n 8] [-root DIR] [-keep] [-json]
//
// It builds ./cmd/cairn (unless -cairn), writes a -size file of seeded pseudo-random bytes, starts
// `cairn devnet` and, per run, times `put` on node-1 and `get` on node-(N/2+2) as wall-clock CLI
// process lifetimes (MB/s = 10^6 bytes/s), checks the download's SHA-256, then `rm`s the file.
// Memory: peak RSS of each CLI process (rusage), each daemon's VmHWM after all runs (uploader,
// downloader, max/median of the other holders) and holders' idle VmRSS before the first put.
// The devnet is always stopped and temp dirs removed (unless -keep), also on Ctrl-C, error or
// -timeout; any failed put/get or byte mismatch exits 1. -json prints JSON (table on stderr).
//
// Files: flags.go (options), bench.go (orchestration, cleanup), build.go (the cairn binary),
// input.go (input file, verification), devnet.go (devnet process, daemons), round.go (one
// put/get/rm round), measure.go (timed CLI runs, /proc memory), stats.go (summaries),
// result.go (result types), report.go (table), machine.go (host facts), sys_*.go (platform).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
)

const (
	exitFailure    = 1
	exitUsage      = 2
	exitSignalBase = 128 // shell convention: killed by signal s exits 128+s
)

func main() {
	os.Exit(run())
}

func run() int {
	opts, err := parseFlags()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cairn-bench: %v\n", err)
		return exitUsage
	}
	if !platformSupported {
		fmt.Fprintf(os.Stderr, "cairn-bench: %s is not supported (needs Unix process groups and rusage)\n", runtime.GOOS)
		return exitFailure
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var gotSignal atomic.Int32
	go func() {
		s := <-sigs
		if ss, ok := s.(syscall.Signal); ok {
			gotSignal.Store(int32(ss))
		}
		fmt.Fprintf(os.Stderr, "\ncairn-bench: %v: stopping (again to quit at once, without cleanup)\n", s)
		// A second signal gets the default action, so a hung cleanup can still be escaped.
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		name := "SIGTERM" // the only other signal we are notified of
		if s == os.Interrupt {
			name = "SIGINT"
		}
		cancel(fmt.Errorf("interrupted by %s", name))
	}()
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, opts.timeout,
		fmt.Errorf("timed out after %s (raise -timeout)", opts.timeout))
	defer cancelTimeout()

	if opts.maintenance == "compare" || opts.ledger == "compare" {
		feature, offFlag := "maintenance", "--no-maintenance"
		if opts.ledger == "compare" {
			feature, offFlag = "ledger", "--no-ledger"
		}
		err := runCompare(ctx, opts, feature, offFlag)
		signal.Stop(sigs)
		if err != nil {
			if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
				err = fmt.Errorf("%w (%v)", cause, err)
			}
			fmt.Fprintf(os.Stderr, "cairn-bench: FAIL: %v\n", err)
			return exitFailure
		}
		return 0
	}
	b := &bench{opts: opts, log: os.Stderr}
	res, err := b.run(ctx)
	b.cleanup()
	signal.Stop(sigs)
	if err != nil {
		// Name the real reason (signal, timeout) when the error is only its symptom.
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%v)", cause, err)
		}
		fmt.Fprintf(os.Stderr, "cairn-bench: FAIL: %v\n", err)
		if sig := gotSignal.Load(); sig != 0 {
			return exitSignalBase + int(sig)
		}
		return exitFailure
	}
	if !opts.json {
		printHuman(os.Stdout, res)
		return 0
	}
	printHuman(os.Stderr, res)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		fmt.Fprintf(os.Stderr, "cairn-bench: write JSON: %v\n", err)
		return exitFailure
	}
	return 0
}
