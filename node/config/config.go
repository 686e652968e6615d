// Package config holds a node's settings: one TOML file in the repo, read at start. Defaults live
// in code (Default), so a config file only pins what its owner chose to change.
package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Config is the whole node configuration.
type Config struct {
	Network     Network     `toml:"network"`
	API         API         `toml:"api"`
	Storage     Storage     `toml:"storage"`
	Put         Put         `toml:"put"`
	Intervals   Intervals   `toml:"intervals"`
	Maintenance Maintenance `toml:"maintenance"`
	Ledger      Ledger      `toml:"ledger"`
}

// Network configures the libp2p host and the DHT.
type Network struct {
	// Listen are libp2p multiaddrs; TCP and QUIC by default. Port 0 picks a free port.
	Listen []string `toml:"listen"`
	// Announce, if set, replaces the addresses this node tells peers about.
	Announce []string `toml:"announce,omitempty"`
	// Bootstrap are full multiaddrs (with /p2p/<id>) of nodes to join through.
	Bootstrap []string `toml:"bootstrap"`
	// PreferTCP dials TCP before QUIC: on loopback TCP+TLS moves shards at ~2.5x less CPU per byte.
	PreferTCP bool `toml:"prefer_tcp"`
	// ProtocolPrefix separates Cairn's DHT from every other Kademlia network (never the IPFS one).
	ProtocolPrefix string `toml:"protocol_prefix"`
	// LowWater/HighWater bound the connection manager; home routers choke on thousands.
	LowWater  int `toml:"conn_low_water"`
	HighWater int `toml:"conn_high_water"`
}

// API configures the local HTTP API.
type API struct {
	// Address is host:port; the host must be a loopback address. Port 0 picks a free port,
	// which the daemon writes to the repo's "api" file.
	Address string `toml:"address"`
}

// Storage configures the shard store.
type Storage struct {
	// Capacity is the most shard data this node accepts, e.g. "100 GiB". Advertised as free space.
	Capacity Size `toml:"capacity"`
	// Sync fsyncs every shard before acknowledging it. Turning it off risks data loss on power cut.
	Sync bool `toml:"sync"`
	// PeerShare is the percent of capacity (1 to 100) that shards uploaded by one peer may fill:
	// identities are free, so no single one may take the whole disk.
	PeerShare int `toml:"peer_share"`
	// SubnetShare is the percent of capacity (1 to 100) that uploads from one /24 (IPv4) or /48
	// (IPv6) may fill, however many identities they use: addresses cost more than identities.
	SubnetShare int `toml:"subnet_share"`
}

// PeerQuota is the most bytes one uploading peer may store here; 0 means unlimited (capacity 0).
func (s Storage) PeerQuota() int64 { return share(s.Capacity, s.PeerShare) }

// SubnetQuota is the most bytes uploads from one /24 or /48 may store here; 0 means unlimited.
func (s Storage) SubnetQuota() int64 { return share(s.Capacity, s.SubnetShare) }

// share is pct percent of capacity, at least 1 byte when capacity is set, without overflow.
func share(capacity Size, pct int) int64 {
	if capacity <= 0 {
		return 0
	}
	c := int64(capacity)
	return max(c/100*int64(pct)+c%100*int64(pct)/100, 1)
}

// Put holds the defaults for storing files; the CLI's --k/--n override them per file.
type Put struct {
	K int `toml:"k"`
	N int `toml:"n"`
	// SegmentSize is the plaintext bytes per segment. Memory in flight is a few segments times n/k.
	SegmentSize Size `toml:"segment_size"`
	// ManifestReplicas is how many nodes (the closest to the manifest CID) keep the manifest.
	ManifestReplicas int `toml:"manifest_replicas"`
	// Timeout bounds one shard transfer.
	ShardTimeout Duration `toml:"shard_timeout"`
	// Partner is the default partner tag of files put through this node (its "connector"):
	// the open source partner that earns a share of their revenue. "" = none.
	Partner string `toml:"partner,omitempty"`
}

// Default returns the configuration a fresh repo gets.
func Default() Config {
	return Config{
		Network: Network{
			Listen:         []string{"/ip4/0.0.0.0/tcp/4101", "/ip4/0.0.0.0/udp/4101/quic-v1"},
			Bootstrap:      []string{},
			PreferTCP:      true,
			ProtocolPrefix: "/cairn",
			LowWater:       100,
			HighWater:      400,
		},
		API:     API{Address: "127.0.0.1:5101"},
		Storage: Storage{Capacity: 100 << 30, Sync: true, PeerShare: 10, SubnetShare: 25},
		Put: Put{
			K: 4, N: 8, SegmentSize: 16 << 20, ManifestReplicas: 5,
			ShardTimeout: Duration(2 * time.Minute),
		},
		Intervals: Intervals{
			OrphanLease: Duration(time.Hour),
			Reprovide:   Duration(12 * time.Hour),
			PeerSave:    Duration(5 * time.Minute),
			DeleteRetry: Duration(time.Minute),
			Reconnect:   Duration(30 * time.Second),
			Audit:       Duration(time.Hour),
			Repair:      Duration(10 * time.Minute),
		},
		Maintenance: Maintenance{Audits: true, Repair: true, AuditRanges: 2, UnvettedSharePercent: 5},
		Ledger:      DefaultLedger(),
	}
}

// Loopback is the config of node i (1 to 254) of a network on one machine: it listens on
// LoopbackIP(i) on kernel-chosen ports (TCP and QUIC), with its API on a kernel-chosen
// loopback port.
func Loopback(i int) Config {
	cfg := Default()
	cfg.Network.Listen = LoopbackListen(i, 0)
	cfg.API.Address = "127.0.0.1:0"
	return cfg
}

// Load reads a config file over the defaults; unknown keys are an error, so typos surface.
func Load(path string) (Config, error) {
	cfg := Default()
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	dec := toml.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Save writes cfg as TOML with mode 0644 (it holds no secrets), atomically: a crash leaves the
// old file or the new one, never half of one. Every field is written; comments are not kept.
func Save(path string, cfg Config) error {
	b, err := toml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	header := "# Cairn node configuration. Defaults are documented in node/config/config.go.\n"
	return WriteFileAtomic(path, append([]byte(header), b...), 0o644)
}

// WriteFileAtomic writes b to a temporary file beside path, syncs it and renames it over path,
// so readers and crashes see the old content or the new, never a mix. Concurrent writers of one
// path each use their own temporary file; the last rename wins. Repo files use it too.
func WriteFileAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Validate checks values a typo could break.
func (c Config) Validate() error {
	if len(c.Network.Listen) == 0 {
		return fmt.Errorf("network.listen is empty")
	}
	if !strings.HasPrefix(c.Network.ProtocolPrefix, "/") {
		return fmt.Errorf("network.protocol_prefix %q must start with '/'", c.Network.ProtocolPrefix)
	}
	if c.Put.K < 2 || c.Put.N <= c.Put.K || c.Put.N > 255 {
		return fmt.Errorf("put.k=%d put.n=%d: need 2 <= k < n <= 255", c.Put.K, c.Put.N)
	}
	if c.Put.SegmentSize < 64<<10 || c.Put.SegmentSize > 256<<20 {
		return fmt.Errorf("put.segment_size %s: must be between 64 KiB and 256 MiB", c.Put.SegmentSize)
	}
	if c.Put.ManifestReplicas < 1 {
		return fmt.Errorf("put.manifest_replicas must be >= 1")
	}
	if c.Storage.Capacity < 0 {
		return fmt.Errorf("storage.capacity must be >= 0")
	}
	if err := c.Storage.validateShares(); err != nil {
		return err
	}
	for _, b := range c.Network.Bootstrap {
		if err := CheckBootstrap(b); err != nil {
			return fmt.Errorf("network.bootstrap: %w", err)
		}
	}
	if err := c.Maintenance.validate(); err != nil {
		return err
	}
	if err := c.Ledger.validate(); err != nil {
		return err
	}
	return c.Intervals.validate()
}

func (s Storage) validateShares() error {
	if s.PeerShare < 1 || s.PeerShare > 100 {
		return fmt.Errorf("storage.peer_share %d: must be a percent between 1 and 100", s.PeerShare)
	}
	if s.SubnetShare < 1 || s.SubnetShare > 100 {
		return fmt.Errorf("storage.subnet_share %d: must be a percent between 1 and 100", s.SubnetShare)
	}
	return nil
}
