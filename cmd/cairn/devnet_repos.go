package main

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"strconv"

	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/repo"
)

// devnetMaxNodes keeps every node on its own 127.0.i.1 address (i is one octet).
const devnetMaxNodes = 250

func devnetRepoPath(root string, i int) string {
	return filepath.Join(root, fmt.Sprintf("node-%d", i))
}

// devnetConfig is node i's config (1-based) before its ports are fixed: its own loopback
// address, so peers are told apart by IP as on a real network, and put defaults k/n when given
// (0 keeps the default).
func devnetConfig(i, k, n int) config.Config {
	cfg := config.Loopback(i)
	applyPutDefaults(&cfg, k, n)
	return cfg
}

// applyPutDefaults sets put.k/put.n where asked.
func applyPutDefaults(cfg *config.Config, k, n int) {
	if k > 0 {
		cfg.Put.K = k
	}
	if n > 0 {
		cfg.Put.N = n
	}
}

// applyFast sets the fast intervals with --fast, and without it undoes a previous --fast (a
// devnet repo's intervals are devnet's to choose).
func applyFast(cfg *config.Config, fast bool) {
	switch {
	case fast:
		config.Fast(cfg)
	case cfg.Intervals == config.FastIntervals():
		config.Unfast(cfg)
	}
}

// fixDevnetPorts gives node i fixed listen and API ports on 127.0.i.1, so a restarted daemon
// comes back at the address its peers remember. Ports a reused repo already has are kept while
// they are free; otherwise (a repo from before fixed ports, or a port taken since) it picks
// free ones.
func fixDevnetPorts(cfg *config.Config, i int) error {
	ip := config.LoopbackIP(i)
	port := listenPort(cfg.Network.Listen, i)
	if port == 0 || !config.PortFree(ip, port) {
		p, err := config.FreePort(ip)
		if err != nil {
			return err
		}
		port = p
	}
	cfg.Network.Listen = config.LoopbackListen(i, port)

	host, ps, err := net.SplitHostPort(cfg.API.Address)
	apiPort, _ := strconv.Atoi(ps)
	if err != nil || host != ip || apiPort == port || !config.PortFree(ip, apiPort) {
		if apiPort, err = freePortExcept(ip, port); err != nil {
			return err
		}
	}
	cfg.API.Address = net.JoinHostPort(ip, strconv.Itoa(apiPort))
	return nil
}

// freePortExcept is a free port on ip other than taken (which is free too until a daemon binds it).
func freePortExcept(ip string, taken int) (int, error) {
	for range 5 {
		p, err := config.FreePort(ip)
		if err != nil || p != taken {
			return p, err
		}
	}
	return 0, fmt.Errorf("free port on %s: the kernel keeps offering %d", ip, taken)
}

// listenPort returns the port of listen if it is exactly node i's fixed TCP and QUIC pair, else 0.
func listenPort(listen []string, i int) int {
	if len(listen) != 2 {
		return 0
	}
	var port int
	if _, err := fmt.Sscanf(listen[0], "/ip4/"+config.LoopbackIP(i)+"/tcp/%d", &port); err != nil || port <= 0 {
		return 0
	}
	if !reflect.DeepEqual(listen, config.LoopbackListen(i, port)) {
		return 0
	}
	return port
}

// devnetBootAddr is node i's TCP address with its peer ID, which the others join through.
func devnetBootAddr(r *repo.Repo, i int) (string, error) {
	id, err := r.PeerID()
	if err != nil {
		return "", err
	}
	port := listenPort(r.Config.Network.Listen, i)
	if port == 0 {
		return "", fmt.Errorf("devnet: node-%d has no fixed listen port (listen %v)", i, r.Config.Network.Listen)
	}
	return fmt.Sprintf("/ip4/%s/tcp/%d/p2p/%s", config.LoopbackIP(i), port, id), nil
}

// openDevnetRepo creates node i's repo, or reuses the one a previous devnet left (keeping its
// identity and data), and clears run files a killed daemon left behind so that waiting for the
// api file cannot pick up a stale address. Its config is not yet final: see prepareDevnetRepos.
func openDevnetRepo(root string, i int) (*repo.Repo, error) {
	path := devnetRepoPath(root, i)
	r, err := repo.Open(path)
	switch {
	case errors.Is(err, repo.ErrNoRepo):
		if r, err = repo.Init(path, config.Loopback(i)); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("reuse %s: %w", path, err)
	}
	unlock, err := r.Lock()
	if err != nil {
		return nil, fmt.Errorf("%w; is another devnet running under %s?", err, root)
	}
	r.RemoveRunFiles()
	unlock()
	return r, nil
}

// prepareDevnetRepos opens or creates every node's repo and writes into each config what lets
// "cairn daemon --repo ROOT/node-i" run it alone: fixed listen and API addresses, the bootstrap
// peer (node-1 for the others, node-2 for node-1), k/n if given, and the --fast intervals.
func prepareDevnetRepos(f devnetFlags, root string) ([]*repo.Repo, error) {
	repos := make([]*repo.Repo, f.nodes)
	saved := make([]config.Config, f.nodes)
	for i := range repos {
		r, err := openDevnetRepo(root, i+1)
		if err != nil {
			return nil, err
		}
		saved[i] = r.Config
		applyPutDefaults(&r.Config, f.k, f.n)
		applyFast(&r.Config, f.fast)
		r.Config.Maintenance.Audits = !f.noMaintenance
		r.Config.Maintenance.Repair = !f.noMaintenance
		r.Config.Ledger.Enabled = !f.noLedger
		if err := fixDevnetPorts(&r.Config, i+1); err != nil {
			return nil, fmt.Errorf("%s: %w", r.Path, err)
		}
		repos[i] = r
	}
	var boot [2]string
	for i := range min(2, len(repos)) {
		a, err := devnetBootAddr(repos[i], i+1)
		if err != nil {
			return nil, err
		}
		boot[i] = a
	}
	for i, r := range repos {
		switch {
		case len(repos) == 1:
			r.Config.Network.Bootstrap = []string{}
		case i == 0:
			r.Config.Network.Bootstrap = []string{boot[1]}
		default:
			r.Config.Network.Bootstrap = []string{boot[0]}
		}
		if reflect.DeepEqual(r.Config, saved[i]) {
			continue
		}
		if err := r.SaveConfig(); err != nil {
			return nil, err
		}
	}
	return repos, nil
}
