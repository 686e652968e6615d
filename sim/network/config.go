package network

import (
	"fmt"
	"math"

	"github.com/cairn-storage/cairn/node/audit"
	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/reputation"
	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/storage"
)

// Config is the network model's parameters. Start from DefaultConfig (the node's defaults,
// node/config.Default) and change what a scenario sets; TOML keys are the snake_case tags.
// Validate's errors name the key relative to this struct ("k", "behaviours.sybil.size"), so a
// scenario section can prefix its own name.
type Config struct {
	K           int   `toml:"k"`            // any K of a segment's N shards rebuild it (4)
	N           int   `toml:"n"`            // shards per segment, one per node (8)
	SegmentSize int64 `toml:"segment_size"` // plaintext bytes per segment (16 MiB)
	Stewards    int   `toml:"stewards"`     // manifest_replicas: the closest nodes keep the record (5)
	// Candidates is how many live nodes one put (or one repair) discovers;
	// 0 = storage.DefaultCandidates(N), 128 for N = 8.
	Candidates int `toml:"candidates"`
	// UnvettedShare is reputation.Rules.UnvettedShare: 0 = its default (5%, the node's
	// unvetted_share_percent), negative = none while vetted nodes suffice.
	UnvettedShare float64 `toml:"unvetted_share"`

	AuditInterval sim.Duration `toml:"audit_interval"` // intervals.audit (1h)
	AuditRanges   int          `toml:"audit_ranges"`   // maintenance.audit_ranges (2)
	// DisableAudits and DisableRepair turn the steward chores off (for comparisons:
	// durability without repair).
	DisableAudits bool `toml:"disable_audits"`
	DisableRepair bool `toml:"disable_repair"`
	// RepairInterval is intervals.repair (10 min); a steward also replaces a co-steward
	// down for 3 of them.
	RepairInterval sim.Duration `toml:"repair_interval"`
	// RepairThreshold: a segment is repaired below this many healthy shards;
	// 0 = reputation.DefaultThreshold(K, N), else K < threshold <= N.
	RepairThreshold int `toml:"repair_threshold"`
	// MaxRepairSegments bounds the segments of one file planned per round (the node's 16).
	MaxRepairSegments int `toml:"max_repair_segments"`

	// Probation overrides Params.Probation (how long a disqualification lasts); 0 keeps it.
	Probation sim.Duration `toml:"probation"`
	// VetAudits overrides Params.VetAudits (audits passed before a node is vetted); 0 keeps it.
	VetAudits int `toml:"vet_audits"`
	// InitialVetted is the share of the initial nodes that start with a vetting history
	// (VetAudits passed audits before time 0): a network that has been running. Arrivals
	// start fresh.
	InitialVetted float64 `toml:"initial_vetted"`
	// Params scores every node in the shared book; the zero value means
	// reputation.DefaultParams(). Not in TOML: use Probation and VetAudits.
	Params reputation.Params `toml:"-"`

	// Genesis is the unix time (seconds) of virtual time 0: observations, receipts and
	// evidence carry unix seconds as the node's do.
	Genesis int64 `toml:"genesis"`
	// SampleEvery is the virtual time between samples; the first is at time 0.
	SampleEvery sim.Duration `toml:"sample_every"`

	// NodesPerSubnet is how many consecutive honest nodes share a synthetic /24 (3, as
	// sim/storage); Sybil groups get a /24 each.
	NodesPerSubnet int `toml:"nodes_per_subnet"`
	// Capacity is the distribution of each node's storage capacity.
	Capacity   Capacity   `toml:"capacity"`
	Behaviours Behaviours `toml:"behaviours"`
}

// Capacity kinds.
const (
	CapacityFixed     = "fixed"     // every node has Bytes
	CapacityUniform   = "uniform"   // uniform in [Min, Max]
	CapacityLognormal = "lognormal" // median Median, log-space sigma Sigma, clamped to [Min, Max] when set
)

// Capacity is a distribution of node capacities in bytes.
type Capacity struct {
	Kind   string  `toml:"kind"`
	Bytes  int64   `toml:"bytes,omitempty"`
	Median int64   `toml:"median,omitempty"`
	Sigma  float64 `toml:"sigma,omitempty"`
	Min    int64   `toml:"min,omitempty"`
	Max    int64   `toml:"max,omitempty"`
}

// Behaviours makes some nodes misbehave. Fractions are of the initial honest-subnet nodes
// (and the chance for each arrival); Sybil groups are extra identities at the end of the
// initial population.
type Behaviours struct {
	// Onset is when data-dropping and audit-cheating nodes turn bad (arrivals later than
	// that are bad from their arrival).
	Onset sim.Duration `toml:"onset"`
	// DataDropping nodes delete every shard they hold at Onset and keep nothing they are
	// given afterwards, yet keep answering audits (which they fail).
	DataDropping float64 `toml:"data_dropping"`
	// AuditCheating nodes keep only the first KeepFraction of each shard's bytes from
	// Onset on: an audit passes iff every range audit.Ranges challenges lies in that prefix.
	AuditCheating float64     `toml:"audit_cheating"`
	KeepFraction  float64     `toml:"keep_fraction"` // 0.5
	Sybil         SybilGroups `toml:"sybil"`
}

// SybilGroups is Groups operators, each running Size identities in one /24, honest until AttackAt,
// when every identity of every group deletes its data at once (and keeps nothing after).
type SybilGroups struct {
	Groups   int          `toml:"groups"`
	Size     int          `toml:"size"`
	AttackAt sim.Duration `toml:"attack_at"`
}

// Defaults the node ships (node/config.Default) and this model adds.
const (
	DefaultGenesis     = 1_767_225_600 // 2026-01-01T00:00:00Z
	maxRepairSegments  = 16            // node/repair.go maxRepairSegments
	defaultHandoverIvs = 3             // node stewardProbeGrace: 3 repair intervals
)

// DefaultConfig is the node's defaults: 4-of-8, 16 MiB segments, 5 stewards, hourly audits of
// 2 ranges, repair every 10 minutes at the default threshold, the reputation defaults; 95% of
// the initial nodes vetted, three nodes a /24, lognormal capacities around 1 TiB, samples every
// 6 hours, no misbehaviour.
func DefaultConfig() Config {
	return Config{
		K: 4, N: 8, SegmentSize: codec.DefaultSegmentSize, Stewards: 5,
		AuditInterval: sim.Hour, AuditRanges: audit.DefaultRangesPerShard,
		RepairInterval: 10 * sim.Minute, MaxRepairSegments: maxRepairSegments,
		InitialVetted: 0.95, Genesis: DefaultGenesis, SampleEvery: 6 * sim.Hour,
		NodesPerSubnet: 3,
		Capacity:       Capacity{Kind: CapacityLognormal, Median: 1 << 40, Sigma: 1, Min: 16 << 30},
		Behaviours:     Behaviours{KeepFraction: 0.5},
	}
}

// Validate says what is wrong with c, naming the key.
func (c Config) Validate() error {
	switch {
	case c.N < 1 || c.N > math.MaxUint8:
		return fmt.Errorf("n: %d, want 1..%d", c.N, math.MaxUint8)
	case c.K < 1 || c.K > c.N:
		return fmt.Errorf("k: %d, want 1..n (%d)", c.K, c.N)
	case c.SegmentSize < codec.MinSegmentSize || c.SegmentSize > codec.MaxSegmentSize:
		return fmt.Errorf("segment_size: %d, want %d..%d bytes", c.SegmentSize, codec.MinSegmentSize, codec.MaxSegmentSize)
	case c.Stewards < 1 || c.Stewards > maxStewards:
		return fmt.Errorf("stewards: %d, want 1..%d", c.Stewards, maxStewards)
	case c.Candidates < 0 || c.Candidates > 0 && c.Candidates < c.N:
		return fmt.Errorf("candidates: %d, want 0 (default) or at least n (%d)", c.Candidates, c.N)
	case math.IsNaN(c.UnvettedShare) || c.UnvettedShare > 1:
		return fmt.Errorf("unvetted_share: %v, want at most 1 (0 = default, negative = none)", c.UnvettedShare)
	case c.AuditInterval < sim.Second:
		return fmt.Errorf("audit_interval: %v, want at least 1s", c.AuditInterval)
	case c.AuditRanges < 1:
		return fmt.Errorf("audit_ranges: %d, want at least 1", c.AuditRanges)
	case c.RepairInterval < sim.Second:
		return fmt.Errorf("repair_interval: %v, want at least 1s", c.RepairInterval)
	case c.RepairThreshold != 0 && (c.RepairThreshold <= c.K || c.RepairThreshold > c.N):
		return fmt.Errorf("repair_threshold: %d, want 0 (default) or k < threshold <= n (%d..%d)", c.RepairThreshold, c.K+1, c.N)
	case c.MaxRepairSegments < 0:
		return fmt.Errorf("max_repair_segments: %d, want >= 0 (0 = no limit)", c.MaxRepairSegments)
	case c.Probation < 0:
		return fmt.Errorf("probation: %v, want >= 0 (0 = the reputation default)", c.Probation)
	case c.VetAudits < 0 || c.VetAudits > math.MaxUint32:
		return fmt.Errorf("vet_audits: %d, want >= 0 (0 = the reputation default)", c.VetAudits)
	case !(c.InitialVetted >= 0 && c.InitialVetted <= 1):
		return fmt.Errorf("initial_vetted: %v, want 0..1", c.InitialVetted)
	case c.Genesis < 0:
		return fmt.Errorf("genesis: %d, want unix seconds >= 0", c.Genesis)
	case c.SampleEvery < sim.Second:
		return fmt.Errorf("sample_every: %v, want at least 1s", c.SampleEvery)
	case c.NodesPerSubnet < 1:
		return fmt.Errorf("nodes_per_subnet: %d, want at least 1", c.NodesPerSubnet)
	}
	if err := c.Capacity.validate(); err != nil {
		return err
	}
	if err := c.Behaviours.validate(); err != nil {
		return err
	}
	if _, err := c.params(); err != nil {
		return err
	}
	return nil
}

// maxStewards is manifest.MaxStewards' order of magnitude; a steward set is small.
const maxStewards = 16

func (c Capacity) validate() error {
	switch c.Kind {
	case CapacityFixed:
		if c.Bytes < 1 {
			return fmt.Errorf("capacity.bytes: %d, want at least 1", c.Bytes)
		}
	case CapacityUniform:
		if c.Min < 0 || c.Max < c.Min || c.Max < 1 {
			return fmt.Errorf("capacity.min/max: [%d, %d], want 0 <= min <= max, max >= 1", c.Min, c.Max)
		}
	case CapacityLognormal:
		switch {
		case c.Median < 1:
			return fmt.Errorf("capacity.median: %d, want at least 1", c.Median)
		case !(c.Sigma >= 0 && c.Sigma <= 10):
			return fmt.Errorf("capacity.sigma: %v, want 0..10", c.Sigma)
		case c.Min < 0 || c.Max < 0 || c.Max > 0 && c.Max < c.Min:
			return fmt.Errorf("capacity.min/max: [%d, %d], want 0 <= min <= max (0 = no bound)", c.Min, c.Max)
		}
	case "":
		return fmt.Errorf("capacity.kind: missing (%s, %s or %s)", CapacityFixed, CapacityUniform, CapacityLognormal)
	default:
		return fmt.Errorf("capacity.kind: %q, want %s, %s or %s", c.Kind, CapacityFixed, CapacityUniform, CapacityLognormal)
	}
	return nil
}

func (b Behaviours) validate() error {
	switch {
	case b.Onset < 0:
		return fmt.Errorf("behaviours.onset: %v, want >= 0", b.Onset)
	case !(b.DataDropping >= 0 && b.DataDropping <= 1):
		return fmt.Errorf("behaviours.data_dropping: %v, want 0..1", b.DataDropping)
	case !(b.AuditCheating >= 0 && b.AuditCheating <= 1):
		return fmt.Errorf("behaviours.audit_cheating: %v, want 0..1", b.AuditCheating)
	case b.DataDropping+b.AuditCheating > 1:
		return fmt.Errorf("behaviours.audit_cheating: %v plus data_dropping %v is over 1", b.AuditCheating, b.DataDropping)
	case !(b.KeepFraction >= 0 && b.KeepFraction <= 1):
		return fmt.Errorf("behaviours.keep_fraction: %v, want 0..1", b.KeepFraction)
	case b.Sybil.Groups < 0:
		return fmt.Errorf("behaviours.sybil.groups: %d, want >= 0", b.Sybil.Groups)
	case b.Sybil.Groups > 0 && b.Sybil.Size < 1:
		return fmt.Errorf("behaviours.sybil.size: %d, want at least 1 identity a group", b.Sybil.Size)
	case b.Sybil.Size < 0:
		return fmt.Errorf("behaviours.sybil.size: %d, want >= 0", b.Sybil.Size)
	case b.Sybil.AttackAt < 0:
		return fmt.Errorf("behaviours.sybil.attack_at: %v, want >= 0", b.Sybil.AttackAt)
	}
	return nil
}

// sybils is how many Sybil identities the initial population ends with.
func (b Behaviours) sybils() int { return b.Sybil.Groups * b.Sybil.Size }

// params is the book's Params: Config.Params (or the defaults) with the overrides.
func (c Config) params() (reputation.Params, error) {
	p := c.Params
	if p == (reputation.Params{}) {
		p = reputation.DefaultParams()
	}
	if c.Probation > 0 {
		p.Probation = int64(c.Probation / sim.Second)
		if p.MaxProbation > 0 && p.MaxProbation < p.Probation {
			p.MaxProbation = p.Probation
		}
	}
	if c.VetAudits > 0 {
		p.VetAudits = uint32(c.VetAudits)
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("params: %w", err)
	}
	return p, nil
}

// candidates is the discovery size.
func (c Config) candidates() int {
	if c.Candidates > 0 {
		return c.Candidates
	}
	return storage.DefaultCandidates(c.N)
}

// threshold is the repair threshold in force.
func (c Config) threshold() int {
	if c.RepairThreshold > 0 {
		return c.RepairThreshold
	}
	return reputation.DefaultThreshold(c.K, c.N)
}
