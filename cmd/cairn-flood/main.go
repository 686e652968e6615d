// Command cairn-flood measures a daemon's memory under a stream flood, process-level:
//
//	go run ./cmd/cairn-flood [-cairn PATH] [-nodes 5] [-target 2] [-sybils 4] [-streams 64] [-duration 45s] [-ip 127.0.200.1]
//
// It builds ./cmd/cairn (unless -cairn), starts `cairn devnet` in a temp root, and from this
// process starts -sybils adversary identities on one IP (one /24). Each opens -streams
// concurrent streams on every Cairn transfer protocol to node -target, claims the largest
// allowed body, fills manifest-put bodies to one byte short and then trickles or stalls until
// -duration ends. Meanwhile node-1 puts a file and node-(target+1) gets it back, and the
// target's VmRSS is sampled. It prints the target's idle and peak RSS (VmHWM), what became of
// the streams, and whether the honest put/get matched. Exit 1 if the honest transfer failed.
//
// Files: main.go (flags, orchestration), devnet.go (the devnet process), flood.go (the attack).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type options struct {
	cairn    string
	nodes    int
	target   int
	sybils   int
	streams  int
	duration time.Duration
	ip       string
	size     int64
}

func main() {
	var o options
	flag.StringVar(&o.cairn, "cairn", "", "cairn binary (default: build ./cmd/cairn)")
	flag.IntVar(&o.nodes, "nodes", 5, "devnet nodes (>= 5: the honest put stores k=2 n=4)")
	flag.IntVar(&o.target, "target", 2, "node under attack")
	flag.IntVar(&o.sybils, "sybils", 4, "adversary identities, all on -ip")
	flag.IntVar(&o.streams, "streams", 64, "streams per protocol per identity")
	flag.DurationVar(&o.duration, "duration", 45*time.Second, "how long the flood lasts (past the 30 s body grace, to see stalled streams cut)")
	flag.StringVar(&o.ip, "ip", "127.0.200.1", "the adversaries' address")
	flag.Int64Var(&o.size, "size", 8<<20, "bytes of the honest put/get during the flood")
	flag.Parse()
	if o.nodes < 5 || o.target < 1 || o.target >= o.nodes || o.sybils < 1 || o.streams < 1 || o.duration <= 0 {
		fmt.Fprintln(os.Stderr, "cairn-flood: need -nodes >= 5, 1 <= -target < -nodes, -sybils, -streams and -duration > 0")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "cairn-flood: FAIL: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	work, err := os.MkdirTemp("", "cairn-flood-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	exe, err := binary(ctx, o.cairn, work)
	if err != nil {
		return err
	}
	dn, err := startDevnet(ctx, exe, work, o.nodes)
	if err != nil {
		return err
	}
	defer dn.stop()
	res, err := flood(ctx, o, exe, dn)
	if res != nil {
		res.print(os.Stdout, o)
	}
	return err
}
