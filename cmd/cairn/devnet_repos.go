package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/repo"
)

// devnetMaxNodes keeps every node on its own 127.0.i.1 address (i is one octet).
const devnetMaxNodes = 250

func devnetRepoPath(root string, i int) string {
	return filepath.Join(root, fmt.Sprintf("node-%d", i))
}

// devnetConfig is node i's config (1-based): its own loopback address, so peers are told apart
// by IP as on a real network, ports and API port picked by the kernel, and put defaults k/n when
// given (0 keeps the default).
func devnetConfig(i, k, n int) config.Config {
	cfg := config.Loopback(i)
	applyPutDefaults(&cfg, k, n)
	return cfg
}

// applyPutDefaults sets put.k/put.n where asked and reports whether anything changed.
func applyPutDefaults(cfg *config.Config, k, n int) bool {
	changed := false
	if k > 0 && cfg.Put.K != k {
		cfg.Put.K, changed = k, true
	}
	if n > 0 && cfg.Put.N != n {
		cfg.Put.N, changed = n, true
	}
	return changed
}

// prepareDevnetRepo creates node i's repo, or reuses the one a previous devnet left (keeping its
// identity and data, updating only k/n if asked), and clears run files a killed daemon left
// behind so that waiting for the api file cannot pick up a stale address.
func prepareDevnetRepo(root string, i, k, n int) (*repo.Repo, error) {
	path := devnetRepoPath(root, i)
	r, err := repo.Open(path)
	switch {
	case errors.Is(err, repo.ErrNoRepo):
		if r, err = repo.Init(path, devnetConfig(i, k, n)); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("reuse %s: %w", path, err)
	case applyPutDefaults(&r.Config, k, n):
		if err := r.Config.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if err := config.Save(filepath.Join(path, repo.ConfigFile), r.Config); err != nil {
			return nil, err
		}
	}
	unlock, err := r.Lock()
	if err != nil {
		return nil, fmt.Errorf("%w; is another devnet running under %s?", err, root)
	}
	r.RemoveRunFiles()
	unlock()
	return r, nil
}
