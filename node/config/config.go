// Package config holds a node's settings: one TOML file in the repo, read at start. Defaults live
// in code (Default), so a config file only pins what its owner chose to change.
package config

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Config is the whole node configuration.
type Config struct {
	Network Network `toml:"network"`
	API     API     `toml:"api"`
	Storage Storage `toml:"storage"`
	Put     Put     `toml:"put"`
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
		Storage: Storage{Capacity: 100 << 30, Sync: true},
		Put: Put{
			K: 4, N: 8, SegmentSize: 16 << 20, ManifestReplicas: 5,
			ShardTimeout: Duration(2 * time.Minute),
		},
	}
}

// Loopback is the config of node i (1 to 254) of a network on one machine: it listens on
// 127.0.i.1, so each node looks like its own /24 to placement, on kernel-chosen ports (TCP and
// QUIC), with its API on a kernel-chosen loopback port.
func Loopback(i int) Config {
	cfg := Default()
	ip := fmt.Sprintf("127.0.%d.1", i)
	cfg.Network.Listen = []string{"/ip4/" + ip + "/tcp/0", "/ip4/" + ip + "/udp/0/quic-v1"}
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

// Save writes cfg as TOML with mode 0644 (it holds no secrets).
func Save(path string, cfg Config) error {
	b, err := toml.Marshal(cfg)
	if err != nil {
		return err
	}
	header := "# Cairn node configuration. Defaults are documented in node/config/config.go.\n"
	return os.WriteFile(path, append([]byte(header), b...), 0o644)
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
	return nil
}
