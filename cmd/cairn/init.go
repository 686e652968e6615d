package main

import (
	"fmt"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/repo"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/spf13/cobra"
)

type initFlags struct {
	listen    []string
	apiAddr   string
	bootstrap []string
	capacity  string
}

func newInitCmd(a *app) *cobra.Command {
	var f initFlags
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a repo: identity, API token and config",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config()
			if err != nil {
				return err
			}
			r, err := repo.Init(a.repoPath, cfg)
			if err != nil {
				return err
			}
			priv, err := r.Identity()
			if err != nil {
				return err
			}
			id, err := peer.IDFromPrivateKey(priv)
			if err != nil {
				return err
			}
			a.printf("initialized cairn repo at %s\npeer id: %s\nstart the node with: cairn daemon --repo %s\n",
				r.Path, id, shellQuote(r.Path))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.listen, "listen", nil, "libp2p listen multiaddr (repeatable; default TCP and QUIC on port 4101)")
	fl.StringVar(&f.apiAddr, "api", "", "API listen address, loopback only (default "+config.Default().API.Address+")")
	fl.StringArrayVar(&f.bootstrap, "bootstrap", nil, "bootstrap peer multiaddr with /p2p/<id> (repeatable)")
	fl.StringVar(&f.capacity, "capacity", "", `storage offered to the network, e.g. "100 GiB" (default `+config.Default().Storage.Capacity.String()+")")
	return cmd
}

// config applies the flags to the defaults, rejecting values the daemon would only reject later.
func (f initFlags) config() (config.Config, error) {
	cfg := config.Default()
	for _, s := range f.listen {
		if _, err := ma.NewMultiaddr(s); err != nil {
			return cfg, fmt.Errorf("--listen %q: %w", s, err)
		}
	}
	if len(f.listen) > 0 {
		cfg.Network.Listen = f.listen
	}
	if f.apiAddr != "" {
		if !api.IsLoopbackAddr(f.apiAddr) {
			return cfg, fmt.Errorf("--api %q: must be a loopback host:port such as 127.0.0.1:5101 (the API must not be reachable from other machines)", f.apiAddr)
		}
		cfg.API.Address = f.apiAddr
	}
	for _, s := range f.bootstrap {
		if _, err := peer.AddrInfoFromString(s); err != nil {
			return cfg, fmt.Errorf("--bootstrap %q: want a multiaddr ending in /p2p/<peer id>: %w", s, err)
		}
	}
	cfg.Network.Bootstrap = append(cfg.Network.Bootstrap, f.bootstrap...)
	if f.capacity != "" {
		c, err := config.ParseSize(f.capacity)
		if err != nil {
			return cfg, fmt.Errorf("--capacity: %w", err)
		}
		cfg.Storage.Capacity = c
	}
	return cfg, cfg.Validate()
}
