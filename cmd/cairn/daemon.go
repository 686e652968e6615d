package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/cairn-storage/cairn/node"
	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/repo"
	"github.com/spf13/cobra"
)

func newDaemonCmd(a *app) *cobra.Command {
	var bootstrap []string
	var level slog.Level
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run the node and serve the local API until interrupted",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runDaemon(cmd.Context(), bootstrap, level)
		},
	}
	cmd.Flags().StringArrayVar(&bootstrap, "bootstrap", nil, "bootstrap peer multiaddr with /p2p/<id> (repeatable); saved to the repo's config")
	cmd.Flags().TextVar(&level, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	return cmd
}

// runDaemon runs until ctx ends (SIGINT/SIGTERM), then stops the API first, so no request
// reaches a closing node, and the node last.
func (a *app) runDaemon(ctx context.Context, bootstrap []string, level slog.Level) error {
	r, err := repo.Open(a.repoPath)
	if err != nil {
		return err
	}
	unlock, err := r.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	// Holding the lock proves no other daemon uses this repo: any run files are stale.
	r.RemoveRunFiles()
	if err := rememberBootstrap(r, bootstrap); err != nil {
		return err
	}

	addr := r.Config.API.Address
	if !api.IsLoopbackAddr(addr) {
		return fmt.Errorf("api.address %q in %s/%s is not a loopback address: the API must not be reachable from other machines",
			addr, r.Path, repo.ConfigFile)
	}
	token, err := r.Token()
	if err != nil {
		return err
	}
	// Listen before starting the node: a taken port should fail fast, not after joining the DHT.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("API address %s: %w", addr, err)
	}
	defer ln.Close()

	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	n, err := node.New(ctx, r, node.Options{Logger: log})
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while starting: a normal stop
		}
		return fmt.Errorf("start node: %w", err)
	}
	injectFault(n, log)
	serveErr := a.serveNode(ctx, r, ln, n, token)
	r.RemoveRunFiles()
	if err := n.Close(); err != nil && serveErr == nil {
		serveErr = fmt.Errorf("stop node: %w", err)
	}
	return serveErr
}

func (a *app) serveNode(ctx context.Context, r *repo.Repo, ln net.Listener, n *node.Node, token string) error {
	id, err := n.ID(ctx)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	if err := r.WriteRunFiles(url); err != nil {
		return fmt.Errorf("write run files: %w", err)
	}
	a.printf("Cairn daemon %s\nrepo:    %s\npeer id: %s\nlistening on:\n", id.Agent, r.Path, id.PeerID)
	for _, addr := range id.Addresses {
		a.printf("  %s\n", addr)
	}
	a.printf("API:     %s\nDaemon is ready\n", url)
	// A completed graceful exit stops the daemon, a moment after the exit's answer went out.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-n.Exited():
			a.printf("exit complete: every shard is handed over; stopping\n")
			time.Sleep(time.Second)
			stop()
		case <-ctx.Done():
		}
	}()
	err = api.Serve(ctx, ln, api.NewServer(n, token))
	fmt.Fprintln(a.stderr, "cairn: shutting down")
	return err
}

// rememberBootstrap adds the --bootstrap addresses the config lacks to network.bootstrap and
// saves it, so a later plain "cairn daemon" joins the same way.
func rememberBootstrap(r *repo.Repo, addrs []string) error {
	added, err := r.Config.Network.AddBootstrap(addrs...)
	if err != nil {
		return fmt.Errorf("--bootstrap: %w", err)
	}
	if added == 0 {
		return nil
	}
	if err := r.SaveConfig(); err != nil {
		return fmt.Errorf("save --bootstrap to %s: %w", filepath.Join(r.Path, repo.ConfigFile), err)
	}
	return nil
}
