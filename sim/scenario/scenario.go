// Package scenario reads the simulator's scenario files: TOML, like the node's
// config, decoded over defaults with unknown keys refused so typos surface,
// then validated with errors that name the key. Flags override a few fields
// (Overrides). Each study reads its own section: [kademlia] (lookup routing),
// [storage] (durability of k-of-n segments under churn) and [churn], which
// both play over.
package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
	"github.com/cairn-storage/cairn/sim/economy"
	"github.com/cairn-storage/cairn/sim/kad"
	"github.com/cairn-storage/cairn/sim/network"
	"github.com/cairn-storage/cairn/sim/storage"
	"github.com/cairn-storage/cairn/sim/workload"
)

// Scenario is one run's inputs. Same Scenario (seed included), same output.
type Scenario struct {
	// Name labels outputs; Load defaults it to the file name without ".toml".
	Name        string `toml:"name,omitempty"`
	Description string `toml:"description,omitempty"`
	// Seed derives every random stream of the run (sim.NewStreams).
	Seed uint64 `toml:"seed"`
	// Nodes is the initial population.
	Nodes int `toml:"nodes"`
	// Duration is the virtual time simulated; 0 runs the samples due at time 0 only.
	Duration sim.Duration `toml:"duration"`
	// Kademlia is the lookup study; nil when the scenario has no [kademlia].
	Kademlia *Kademlia `toml:"kademlia,omitempty"`
	// Storage is the durability study; nil when the scenario has no [storage].
	Storage *Storage    `toml:"storage,omitempty"`
	Churn   churn.Model `toml:"churn"`
	// Network is the latency and bandwidth model (network.go); filled in for
	// a lookup-mode [kademlia] that has none.
	Network *Network `toml:"network,omitempty"`
	// Protocol, Workload and Economy are the protocol study (protocol.go);
	// nil without [protocol].
	Protocol *network.Config  `toml:"protocol,omitempty"`
	Workload *workload.Config `toml:"workload,omitempty"`
	Economy  *economy.Config  `toml:"economy,omitempty"`
}

// Lookup modes.
const (
	// ModeLookup routes iteratively over ideal k-bucket tables (kad.Looker):
	// hops, messages and timeouts are measured.
	ModeLookup = "lookup"
	// ModeExact answers with the true K closest live nodes (kad.Space.Closest),
	// building no tables: for runs where routing is not the question. Hops and
	// messages are not modelled and read 0.
	ModeExact = "exact"
)

// Maintenance settings.
const (
	// MaintenanceOn keeps routing tables as go-libp2p-kad-dht does
	// (kad.Maintainer): failed peers evicted, answering peers added, buckets
	// refreshed every refresh_interval, arrivals joining with a self-lookup.
	// The default in lookup mode when churn takes nodes down or brings new ones.
	MaintenanceOn = "on"
	// MaintenanceOff keeps the tables of time zero: dead entries accumulate.
	MaintenanceOff = "off"
)

// Kademlia is the [kademlia] section. Zero fields take the defaults of
// go-libp2p-kad-dht (DefaultKademlia), which is why none of them can be 0.
type Kademlia struct {
	K     int    `toml:"k"`
	Alpha int    `toml:"alpha"`
	Beta  int    `toml:"beta"`
	Mode  string `toml:"mode"`
	// Lookups is how many lookups run at each sample, each from a random up
	// node to a random key.
	Lookups int `toml:"lookups"`
	// SampleEvery is the virtual time between samples; the first is at 0.
	SampleEvery sim.Duration `toml:"sample_every"`
	// Maintenance is "on" or "off" (MaintenanceOn); missing, it is "on" in
	// lookup mode when churn takes nodes down or brings new ones, else "off".
	Maintenance string `toml:"maintenance"`
	// RefreshInterval is how often each node refreshes its routing table
	// (go-libp2p-kad-dht: 10 min).
	RefreshInterval sim.Duration `toml:"refresh_interval"`
}

// DefaultKademlia is what a [kademlia] section's missing keys take, but for
// Maintenance, whose default depends on the churn (see Kademlia).
func DefaultKademlia() Kademlia {
	return Kademlia{K: kad.DefaultK, Alpha: kad.DefaultAlpha, Beta: kad.DefaultBeta,
		Mode: ModeLookup, Lookups: 1000, SampleEvery: sim.Hour, RefreshInterval: 10 * sim.Minute}
}

// Storage is the [storage] section: files of k-of-n segments placed at time
// 0 through the node's own reputation.Place (sim/storage), then lost as churn
// makes nodes depart for good; no repair yet. Files, K and N are required.
type Storage struct {
	Files           int `toml:"files"`
	SegmentsPerFile int `toml:"segments_per_file"` // default 1
	K               int `toml:"k"`
	N               int `toml:"n"`
	// ShardSize is the bytes a holder needs free per shard; 0 takes the
	// node's default segment (16 MiB) split k ways.
	ShardSize int64 `toml:"shard_size"`
	// Candidates is how many nodes one put discovers; 0 is
	// storage.DefaultCandidates(n).
	Candidates int `toml:"candidates"`
	// UnvettedShare is reputation.Rules.UnvettedShare; 0 is its default (5%).
	UnvettedShare float64 `toml:"unvetted_share"`
	// SampleEvery is the virtual time between durability samples (default 1h).
	SampleEvery sim.Duration `toml:"sample_every"`
}

// Layout is the placement sim/storage performs for st.
func (st Storage) Layout() storage.Layout {
	return storage.Layout{Files: st.Files, SegmentsPerFile: st.SegmentsPerFile, K: st.K, N: st.N,
		ShardSize: st.ShardSize, Candidates: st.Candidates, UnvettedShare: st.UnvettedShare}
}

// MaxShards bounds files × segments_per_file × n: 4 bytes a shard placed and
// 4 more tracked, so 100M shards is under a gigabyte.
const MaxShards = 100_000_000

func (s *Scenario) fillStorage() {
	st := s.Storage
	if st == nil {
		return
	}
	if st.SegmentsPerFile == 0 {
		st.SegmentsPerFile = 1
	}
	if st.ShardSize == 0 && st.K > 0 {
		st.ShardSize = (codec.DefaultSegmentSize + int64(st.K) - 1) / int64(st.K)
	}
	if st.SampleEvery == 0 {
		st.SampleEvery = sim.Hour
	}
}

func (s Scenario) validateStorage() error {
	st := s.Storage
	if st == nil {
		return nil
	}
	// Placement puts one shard per /24; sim/storage puts a few nodes in each.
	subnets := (s.Nodes-1)/storage.DefaultNodeConfig(s.Nodes).NodesPerSubnet + 1
	switch {
	case st.Files < 1:
		return fmt.Errorf("storage.files: %d, want at least 1", st.Files)
	case st.SegmentsPerFile < 1:
		return fmt.Errorf("storage.segments_per_file: %d, want at least 1", st.SegmentsPerFile)
	case st.N < 1 || st.N > math.MaxUint8:
		return fmt.Errorf("storage.n: %d, want 1..%d", st.N, math.MaxUint8)
	case st.K < 1 || st.K > st.N:
		return fmt.Errorf("storage.k: %d, want 1..n (%d)", st.K, st.N)
	case st.N > subnets:
		return fmt.Errorf("storage.n: %d shards need %d distinct /24s, %d nodes make %d", st.N, st.N, s.Nodes, subnets)
	case float64(st.Files)*float64(st.SegmentsPerFile)*float64(st.N) > MaxShards:
		return fmt.Errorf("storage.files: %d files × %d segments × %d shards is over %d shards",
			st.Files, st.SegmentsPerFile, st.N, MaxShards)
	case st.ShardSize < 1:
		return fmt.Errorf("storage.shard_size: %d, want at least 1 byte", st.ShardSize)
	case st.Candidates < 0 || (st.Candidates > 0 && st.Candidates < st.N):
		return fmt.Errorf("storage.candidates: %d, want 0 (default) or at least n (%d)", st.Candidates, st.N)
	case !(st.UnvettedShare >= 0 && st.UnvettedShare <= 1):
		return fmt.Errorf("storage.unvetted_share: %v, want 0..1", st.UnvettedShare)
	case st.SampleEvery < minSampleEvery:
		return fmt.Errorf("storage.sample_every: %v, want at least %v", st.SampleEvery, minSampleEvery)
	case s.StorageSamples() > MaxSamples:
		return fmt.Errorf("storage.sample_every: %v over %v makes %d samples, at most %d",
			st.SampleEvery, s.Duration, s.StorageSamples(), MaxSamples)
	}
	return nil
}

// Bounds on what a scenario may ask for, so a typo cannot ask for a run that
// never ends or never fits.
const (
	MaxNodes       = kad.MaxNodes
	MaxLookups     = 10_000_000
	MaxSamples     = 1_000_000
	MaxDuration    = 100 * 365 * sim.Day
	MaxK           = 255
	MaxAlpha       = 1000
	minSampleEvery = sim.Second
	minRefresh     = sim.Second
)

// Parse decodes a scenario and validates it.
func Parse(b []byte) (Scenario, error) {
	var s Scenario
	if err := s.presetSections(b); err != nil {
		return s, err
	}
	dec := toml.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			return s, fmt.Errorf("unknown key(s): %s", strictKeys(strict))
		}
		return s, err
	}
	s.fill()
	return s, s.Validate()
}

// strictKeys names the unknown keys, "kademlia.alhpa, foo".
func strictKeys(e *toml.StrictMissingError) string {
	keys := make([]string, 0, len(e.Errors))
	for _, d := range e.Errors {
		keys = append(keys, strings.Join(d.Key(), "."))
	}
	return strings.Join(keys, ", ")
}

// Load reads and parses the scenario file at path.
func Load(path string) (Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, fmt.Errorf("read scenario: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return s, fmt.Errorf("scenario %s: %w", path, err)
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), ".toml")
	}
	return s, nil
}

// fill gives present [kademlia], [storage] and [network] sections their
// defaults (and a lookup-mode [kademlia] its [network]).
func (s *Scenario) fill() {
	s.fillStorage()
	s.fillProtocol()
	defer s.fillNetwork()
	if s.Kademlia == nil {
		return
	}
	d, k := DefaultKademlia(), s.Kademlia
	if k.K == 0 {
		k.K = d.K
	}
	if k.Alpha == 0 {
		k.Alpha = d.Alpha
	}
	if k.Beta == 0 {
		k.Beta = d.Beta
	}
	if k.Mode == "" {
		k.Mode = d.Mode
	}
	if k.Lookups == 0 {
		k.Lookups = d.Lookups
	}
	if k.SampleEvery == 0 {
		k.SampleEvery = d.SampleEvery
	}
	if k.RefreshInterval == 0 {
		k.RefreshInterval = d.RefreshInterval
	}
	if k.Maintenance == "" {
		k.Maintenance = MaintenanceOff
		if k.Mode == ModeLookup && (s.Churn.Churns() || s.Churn.ArrivalsPerHour > 0) {
			k.Maintenance = MaintenanceOn
		}
	}
}

// Validate says what is wrong with s, naming the key.
func (s Scenario) Validate() error {
	if s.Nodes < 1 || s.Nodes > MaxNodes {
		return fmt.Errorf("nodes: %d, want 1..%d", s.Nodes, MaxNodes)
	}
	if s.Duration < 0 || s.Duration > MaxDuration {
		return fmt.Errorf("duration: %v, want 0..%v", s.Duration, MaxDuration)
	}
	if err := s.Churn.Validate(); err != nil {
		return err // churn's errors already name their key
	}
	if s.Kademlia == nil && s.Storage == nil && s.Protocol == nil {
		return errors.New("nothing to simulate: add a [kademlia], [storage] or [protocol] section")
	}
	if err := s.validateProtocol(); err != nil {
		return err
	}
	if err := s.validateStorage(); err != nil {
		return err
	}
	if err := s.validateNetwork(); err != nil {
		return err
	}
	if s.Kademlia == nil {
		return nil
	}
	k := s.Kademlia
	switch {
	case k.K < 1 || k.K > MaxK:
		return fmt.Errorf("kademlia.k: %d, want 1..%d", k.K, MaxK)
	case k.Alpha < 1 || k.Alpha > MaxAlpha:
		return fmt.Errorf("kademlia.alpha: %d, want 1..%d", k.Alpha, MaxAlpha)
	case k.Beta < 1 || k.Beta > k.K:
		return fmt.Errorf("kademlia.beta: %d, want 1..k (%d)", k.Beta, k.K)
	case k.Mode != ModeLookup && k.Mode != ModeExact:
		return fmt.Errorf("kademlia.mode: %q, want %q or %q", k.Mode, ModeLookup, ModeExact)
	case k.Lookups < 1 || k.Lookups > MaxLookups:
		return fmt.Errorf("kademlia.lookups: %d, want 1..%d", k.Lookups, MaxLookups)
	case k.SampleEvery < minSampleEvery:
		return fmt.Errorf("kademlia.sample_every: %v, want at least %v", k.SampleEvery, minSampleEvery)
	case s.LookupSamples() > MaxSamples:
		return fmt.Errorf("kademlia.sample_every: %v over %v makes %d samples, at most %d",
			k.SampleEvery, s.Duration, s.LookupSamples(), MaxSamples)
	case k.Maintenance != MaintenanceOn && k.Maintenance != MaintenanceOff:
		return fmt.Errorf("kademlia.maintenance: %q, want %q or %q", k.Maintenance, MaintenanceOn, MaintenanceOff)
	case k.Maintenance == MaintenanceOn && k.Mode != ModeLookup:
		return fmt.Errorf("kademlia.maintenance: %q needs mode %q (%q builds no tables)", k.Maintenance, ModeLookup, k.Mode)
	case k.RefreshInterval < minRefresh || k.RefreshInterval > MaxDuration:
		return fmt.Errorf("kademlia.refresh_interval: %v, want %v..%v", k.RefreshInterval, minRefresh, MaxDuration)
	}
	if s.Churn.ArrivalsPerHour > 0 && k.Mode == ModeLookup && k.Maintenance != MaintenanceOn {
		// Without maintenance nobody learns of an arriving node.
		return fmt.Errorf("churn.arrivals_per_hour: arrivals join routing tables only with kademlia.maintenance = %q", MaintenanceOn)
	}
	return nil
}

// Samples is the number of samples of every study in the run (what a
// progress bar counts): LookupSamples + StorageSamples + ProtocolSamples.
func (s Scenario) Samples() int64 {
	return s.LookupSamples() + s.StorageSamples() + s.ProtocolSamples()
}

// LookupSamples is the number of lookup batches: at 0, SampleEvery, ... up to
// Duration; 0 without [kademlia].
func (s Scenario) LookupSamples() int64 {
	if s.Kademlia == nil {
		return 0
	}
	return samples(s.Duration, s.Kademlia.SampleEvery)
}

// StorageSamples is the number of durability samples; 0 without [storage].
func (s Scenario) StorageSamples() int64 {
	if s.Storage == nil {
		return 0
	}
	return samples(s.Duration, s.Storage.SampleEvery)
}

func samples(d, every sim.Duration) int64 {
	if every <= 0 {
		return 0
	}
	return int64(d/every) + 1
}

// Overrides are the command line's replacements for scenario fields; nil
// leaves a field as the file has it.
type Overrides struct {
	Seed     *uint64
	Nodes    *int
	Duration *sim.Duration
}

// Apply returns s with o applied, validated again.
func (s Scenario) Apply(o Overrides) (Scenario, error) {
	if o.Seed != nil {
		s.Seed = *o.Seed
	}
	if o.Nodes != nil {
		s.Nodes = *o.Nodes
	}
	if o.Duration != nil {
		s.Duration = *o.Duration
	}
	if s.Kademlia != nil { // do not share the sections with the caller's copy
		k := *s.Kademlia
		s.Kademlia = &k
	}
	if s.Storage != nil {
		st := *s.Storage
		s.Storage = &st
	}
	if s.Network != nil {
		n := *s.Network
		s.Network = &n
	}
	s.copyProtocol()
	return s, s.Validate()
}
