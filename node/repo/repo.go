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
	"github.com/libp2p/go-libp2p/core/peer"
)

// File names inside a repo.
const (
	ConfigFile   = "config.toml"
	IdentityFile = "identity.key" // libp2p-marshalled Ed25519 private key, mode 0600
	TokenFile    = "api.token"    // secret the CLI sends with every API request, mode 0600
	APIFile      = "api"          // written by a running daemon: its API base URL
	PIDFile      = "daemon.pid"
	LockFile     = "repo.lock"
	PeersFile    = "peers.json" // peers the node knew, rejoined through after a restart
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

// PeerID is the node's libp2p identity, read from its key without starting it.
func (r *Repo) PeerID() (peer.ID, error) {
	priv, err := r.Identity()
	if err != nil {
		return "", err
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("peer ID of %s: %w", r.Path, err)
	}
	return id, nil
}

// SaveConfig validates r.Config and writes it to the repo's config file.
func (r *Repo) SaveConfig() error {
	if err := r.Config.Validate(); err != nil {
		return fmt.Errorf("config of %s: %w", r.Path, err)
	}
	return config.Save(filepath.Join(r.Path, ConfigFile), r.Config)
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
	if err := config.WriteFileAtomic(filepath.Join(r.Path, PIDFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	return config.WriteFileAtomic(filepath.Join(r.Path, APIFile), []byte(apiURL+"\n"), 0o644)
}

func (r *Repo) RemoveRunFiles() {
	os.Remove(filepath.Join(r.Path, APIFile))
	os.Remove(filepath.Join(r.Path, PIDFile))
}

// WritePeers atomically replaces the repo's known-peers file with b.
func (r *Repo) WritePeers(b []byte) error {
	return config.WriteFileAtomic(filepath.Join(r.Path, PeersFile), b, 0o644)
}

// ReadPeers returns the known-peers file, or nil without error if there is none yet.
func (r *Repo) ReadPeers() ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(r.Path, PeersFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read known peers: %w", err)
	}
	return b, nil
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
