// Package repo is a node's directory: identity, config, API token, data. Like Kubo's ~/.ipfs,
// the default is ~/.cairn, overridden by CAIRN_PATH or --repo.
package repo

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/cairn-storage/cairn/node/config"
	"github.com/libp2p/go-libp2p/core/crypto"
)

// File names inside a repo.
const (
	ConfigFile   = "config.toml"
	IdentityFile = "identity.key" // libp2p-marshalled Ed25519 private key, mode 0600
	TokenFile    = "api.token"    // secret the CLI sends with every API request, mode 0600
	APIFile      = "api"          // written by a running daemon: its API base URL
	PIDFile      = "daemon.pid"
	LockFile     = "repo.lock"
	DataDir      = "data"
)

// EnvPath overrides the default repo location.
const EnvPath = "CAIRN_PATH"

var ErrNoRepo = errors.New("no cairn repo")

// DefaultPath is $CAIRN_PATH, else ~/.cairn.
func DefaultPath() string {
	if p := os.Getenv(EnvPath); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".cairn"
	}
	return filepath.Join(home, ".cairn")
}

// Repo is an opened repo directory.
type Repo struct {
	Path   string
	Config config.Config
}

// Init creates a repo at path with a fresh identity and token. It refuses to overwrite one.
func Init(path string, cfg config.Config) (*Repo, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(path, ConfigFile)); err == nil {
		return nil, fmt.Errorf("repo %s already exists", path)
	}
	if err := os.MkdirAll(filepath.Join(path, DataDir), 0o700); err != nil {
		return nil, fmt.Errorf("create repo: %w", err)
	}
	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, err
	}
	kb, err := crypto.MarshalPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	if err := writeSecret(filepath.Join(path, IdentityFile), kb); err != nil {
		return nil, err
	}
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	if err := writeSecret(filepath.Join(path, TokenFile), []byte(hex.EncodeToString(tok)+"\n")); err != nil {
		return nil, err
	}
	// The config goes last: its presence marks a complete repo.
	if err := config.Save(filepath.Join(path, ConfigFile), cfg); err != nil {
		return nil, err
	}
	return &Repo{Path: path, Config: cfg}, nil
}

func writeSecret(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Open reads an existing repo's config.
func Open(path string) (*Repo, error) {
	if _, err := os.Stat(filepath.Join(path, ConfigFile)); err != nil {
		return nil, fmt.Errorf("%w at %s (run 'cairn init --repo %s' first)", ErrNoRepo, path, path)
	}
	cfg, err := config.Load(filepath.Join(path, ConfigFile))
	if err != nil {
		return nil, err
	}
	return &Repo{Path: path, Config: cfg}, nil
}

// Identity loads the node's private key.
func (r *Repo) Identity() (crypto.PrivKey, error) {
	b, err := os.ReadFile(filepath.Join(r.Path, IdentityFile))
	if err != nil {
		return nil, fmt.Errorf("read identity: %w", err)
	}
	return crypto.UnmarshalPrivateKey(b)
}

// Token returns the API secret.
func (r *Repo) Token() (string, error) { return ReadToken(r.Path) }

// ReadToken reads the API token of the repo at path.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(filepath.Join(path, TokenFile))
	if err != nil {
		return "", fmt.Errorf("read API token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ReadAPIAddr returns the base URL a running daemon wrote, or an error if none is running.
func ReadAPIAddr(path string) (string, error) {
	b, err := os.ReadFile(filepath.Join(path, APIFile))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// WriteRunFiles records the daemon's API URL and pid; RemoveRunFiles undoes it on shutdown.
func (r *Repo) WriteRunFiles(apiURL string) error {
	if err := atomicWrite(filepath.Join(r.Path, PIDFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	return atomicWrite(filepath.Join(r.Path, APIFile), []byte(apiURL+"\n"), 0o644)
}

func (r *Repo) RemoveRunFiles() {
	os.Remove(filepath.Join(r.Path, APIFile))
	os.Remove(filepath.Join(r.Path, PIDFile))
}

func atomicWrite(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Lock takes the repo's exclusive lock so two daemons never share a store. The returned func
// releases it; the kernel releases it too if the process dies.
func (r *Repo) Lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(r.Path, LockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("repo %s is in use by another daemon", r.Path)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// DataPath is where the shard store lives.
func (r *Repo) DataPath() string { return filepath.Join(r.Path, DataDir) }
