// Command cairn is the Cairn node and its command-line client: init creates a repo, daemon runs
// a node, devnet runs many on one machine, and the rest talk to a running daemon's local API.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

func main() {
	a := &app{stdout: os.Stdout, stderr: os.Stderr, stderrTTY: term.IsTerminal(int(os.Stderr.Fd()))}
	os.Exit(run(a, os.Args[1:]))
}

// run executes one command line and returns the process exit code.
func run(a *app, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal starts a graceful stop, a second one kills the process outright.
	go func() { <-ctx.Done(); stop() }()
	root := newRootCmd(a)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		printError(a.stderr, err)
		return 1
	}
	return 0
}

func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "cairn: %s\n", errorMessage(err))
}
