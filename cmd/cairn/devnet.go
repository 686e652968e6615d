package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/spf13/cobra"
)

const (
	devnetReadyTimeout = 90 * time.Second
	devnetPollEvery    = 200 * time.Millisecond
	devnetStopGrace    = 10 * time.Second
	// devnetWantPeers caps the routing-table peers each node must have before "ready": enough
	// for lookups to work without waiting for full meshes in large networks.
	devnetWantPeers = 20
	devnetProbeConc = 32 // concurrent API polls, so 250 nodes do not mean 250 sockets at once
)

type devnetFlags struct {
	nodes int
	root  string
	k, n  int
	fast  bool
	// noMaintenance turns audits and repair off, to measure what they cost.
	noMaintenance bool
	// noLedger turns the ledger's gossip, receipts, attestations and statements off.
	noLedger bool
}

func newDevnetCmd(a *app) *cobra.Command {
	var f devnetFlags
	cmd := &cobra.Command{
		Use:   "devnet --nodes N --root DIR",
		Short: "Run a local network of N daemons for development and tests",
		Long: "Run N daemons on this machine, node i on a fixed port of 127.0.i.1, all bootstrapped from\n" +
			"node-1 (node-1 from node-2). Repos live in DIR/node-i and are reused across runs; each\n" +
			"config holds the node's addresses and bootstrap peer, so 'cairn daemon --repo DIR/node-i'\n" +
			"restarts one node alone. Prints \"ready\" on stdout once every node has peers in its\n" +
			"routing table; Ctrl-C stops all nodes.",
		Args: argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runDevnet(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.nodes, "nodes", 10, fmt.Sprintf("number of nodes, 1 to %d", devnetMaxNodes))
	fl.StringVar(&f.root, "root", "", "directory holding the node repos (required)")
	fl.IntVar(&f.k, "k", 0, "put.k in each node's config (default from config defaults)")
	fl.IntVar(&f.n, "n", 0, "put.n in each node's config (default from config defaults)")
	fl.BoolVar(&f.fast, "fast", false, "shorten every periodic interval to seconds (audits, repair, orphan lease, reprovide, ...) for tests and demos")
	fl.BoolVar(&f.noMaintenance, "no-maintenance", false, "turn audits and repair off (to measure what they cost)")
	fl.BoolVar(&f.noLedger, "no-ledger", false, "turn the ledger's gossip, receipts, attestations and statements off (to measure what they cost)")
	return cmd
}

func (f devnetFlags) validate() error {
	if f.root == "" {
		return errors.New("missing --root DIR: the directory for the node repos")
	}
	if f.nodes < 1 || f.nodes > devnetMaxNodes {
		return fmt.Errorf("--nodes %d: must be between 1 and %d", f.nodes, devnetMaxNodes)
	}
	if f.k < 0 || f.n < 0 {
		return errors.New("--k and --n must be positive")
	}
	if err := devnetConfig(1, f.k, f.n).Validate(); err != nil {
		return fmt.Errorf("--k/--n: %w", err)
	}
	return nil
}

// devnet supervises the daemon processes.
type devnet struct {
	a        *app
	root     string
	exe      string
	children []*child
	exits    chan *child
}

func (a *app) runDevnet(ctx context.Context, f devnetFlags) error {
	if err := f.validate(); err != nil {
		return err
	}
	root, err := filepath.Abs(f.root)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	repos, err := prepareDevnetRepos(f, root)
	if err != nil {
		return err
	}
	repoN := repos[len(repos)-1].Config.Put.N
	d := &devnet{a: a, root: root, exe: exe, exits: make(chan *child, f.nodes)}
	err = d.start(ctx, f.nodes)
	if err != nil || ctx.Err() != nil {
		d.stop()
		if ctx.Err() != nil {
			return nil // interrupted while starting: a normal stop
		}
		return err
	}
	d.printHints(f.nodes, repoN)
	fmt.Fprintln(a.stdout, "ready")
	d.supervise(ctx)
	d.stop()
	return nil
}

// start launches node-1, then every other node (each config names its bootstrap peer), and
// waits until all have joined, within devnetReadyTimeout overall.
func (d *devnet) start(parent context.Context, nodes int) error {
	ctx, cancel := context.WithTimeout(parent, devnetReadyTimeout)
	defer cancel()
	first, err := d.spawn(1)
	if err != nil {
		return err
	}
	id, err := d.waitID(ctx, first)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.a.stderr, "devnet: node-1 is up as %s; starting %d more\n", id.PeerID, nodes-1)
	for i := 2; i <= nodes; i++ {
		if _, err := d.spawn(i); err != nil {
			return err
		}
	}
	return d.waitReady(ctx, parent, min(nodes-1, devnetWantPeers))
}

func (d *devnet) spawn(i int) (*child, error) {
	c, err := spawn(d.exe, devnetRepoPath(d.root, i), d.exits)
	if err != nil {
		return nil, err
	}
	d.children = append(d.children, c)
	return c, nil
}

// waitID waits for c's API and returns its identity.
func (d *devnet) waitID(ctx context.Context, c *child) (*api.IDResult, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastErr := errors.New("no API address written yet")
	for {
		if cl, err := api.NewClientFromRepo(c.repo); err != nil {
			lastErr = err
		} else {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			id, err := cl.ID(pctx)
			cancel()
			if err == nil {
				return id, nil
			}
			lastErr = err
		}
		select {
		case dead := <-d.exits:
			return nil, fmt.Errorf("devnet: %s", dead.deathMessage())
		case <-ctx.Done():
			return nil, fmt.Errorf("devnet: %s did not start within %s (%s); see %s",
				c.name, devnetReadyTimeout, errorMessage(lastErr), c.log)
		case <-tick.C:
		}
	}
}

// supervise reports nodes that die until ctx ends; fault tests kill nodes on purpose.
func (d *devnet) supervise(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-d.exits:
			fmt.Fprintf(d.a.stderr, "devnet: %s\n", c.deathMessage())
		}
	}
}

func (d *devnet) stop() {
	live := 0
	for _, c := range d.children {
		if !c.exited() {
			live++
		}
	}
	if live == 0 {
		return
	}
	fmt.Fprintf(d.a.stderr, "devnet: stopping %s\n", plural(live, "node", "nodes"))
	if killed := stopChildren(d.children, devnetStopGrace); killed > 0 {
		fmt.Fprintf(d.a.stderr, "devnet: killed %s that did not stop within %s\n",
			plural(killed, "node", "nodes"), devnetStopGrace)
	}
}

func (d *devnet) printHints(nodes, putN int) {
	node := func(i int) string { return shellQuote(devnetRepoPath(d.root, i)) }
	w := d.a.stderr
	fmt.Fprintf(w, "devnet: %s ready under %s\n", plural(nodes, "node", "nodes"), d.root)
	fmt.Fprintf(w, "  store a file:  cairn --repo %s put FILE\n", node(1))
	fmt.Fprintf(w, "  fetch it:      cairn --repo %s get CAP -o OUT\n", node(min(2, nodes)))
	fmt.Fprintf(w, "  inspect it:    cairn --repo %s stat CAP\n", node(1))
	fmt.Fprintf(w, "  node logs:     %s\n", filepath.Join(d.root, "node-<i>", "daemon.log"))
	fmt.Fprintf(w, "  stop:          Ctrl-C\n")
	if nodes < putN {
		fmt.Fprintf(w, "  note: puts default to n=%d shards but there are only %d nodes; pass --n or more --nodes\n", putN, nodes)
	}
}
