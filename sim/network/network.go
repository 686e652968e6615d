package network

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/cairn-storage/cairn/reputation"
	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
)

// Class is what kind of node an index is.
type Class uint8

// Node classes. Bad classes behave honestly until their onset (Behaviours.Onset, or
// Sybil.AttackAt).
const (
	Honest Class = iota
	DataDropping
	AuditCheating
	Sybil
	// NumClasses sizes the per-class arrays of Sample and Summary.
	NumClasses = 4
)

var classNames = [NumClasses]string{"honest", "data_dropping", "audit_cheating", "sybil"}

func (c Class) String() string {
	if int(c) < NumClasses {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// Streams the model draws from; each consumer its own, so one drawing more never shifts
// another.
const (
	StreamNodes    = "network/nodes"    // capacities, behaviours, initial vetting
	StreamIDs      = "network/ids"      // 64-bit Kademlia IDs
	StreamArrive   = "network/arrive"   // arrivals' capacity and behaviour
	StreamDiscover = "network/discover" // which live nodes a put or repair discovers
	StreamPlace    = "network/place"    // the rng handed to reputation.Place
	StreamFileKey  = "network/filekey"  // file keys (steward choice, shard CIDs)
	StreamAudit    = "network/audit"    // which shard of a (file, holder) is audited
	StreamNonce    = "network/nonce"    // audit nonces (audit.Ranges, cheaters only)
	StreamRepair   = "network/repair"   // the rng handed to reputation.PlanRepair
)

// ErrUnavailable is Download's failure: some segment has fewer than K shards on up holders
// that still have them.
var ErrUnavailable = errors.New("network: too few shards available")

// Network is the stewarded storage network over virtual time. It is not safe for concurrent
// use: one engine, one goroutine.
type Network struct {
	cfg    Config
	params reputation.Params
	eng    *sim.Engine
	book   book
	thr    int
	ncand  int

	rngArrive, rngDisc, rngPlace, rngKey, rngAudit, rngNonce, rngRepair *rand.Rand
	pcgPlace, pcgRepair                                                 *rand.PCG

	kAudit, kRepair, kSample, kOnset, kAttack sim.Kind

	nodes
	files
	copies

	// Work lists of the repair chore.
	dirty    []int32 // files whose health inputs changed since the last repair round
	belowL   []int32 // files below threshold at the last round (fBelow >= 0)
	work     []int32
	stamp    uint32
	downQ    []downEntry // stewards that went down, in time order (handover)
	downHead int
	retry    []downEntry

	scratch scratch

	total, interval counters
	classAudits     [NumClasses][3]int64 // pass, fail, miss of active (bad) or honest nodes
	samples         []Sample

	// OnSample, if set, is called with each sample as it is taken.
	OnSample func(Sample)

	err error

	// Test hooks: every Place and PlanRepair call with its inputs and the rng state before it.
	onPlace func(cands []reputation.Candidate, r reputation.Rules, rngState []byte, out []int, err error)
	onPlan  func(segs []reputation.SegmentHealth, cands []reputation.Candidate, r reputation.RepairRules, rngState []byte, plans []reputation.SegmentPlan, err error)
	// onApplied is told, after each plan, whether its reads succeeded (and so its shards
	// were stored on its targets).
	onObserve func(reputation.Observation)
	onApplied func(f int32, p reputation.SegmentPlan, targets []int32, ok bool)
}

// counters are the cumulative (total) and since-last-sample (interval) tallies.
type counters struct {
	AuditPass, AuditFail, AuditMiss                    int64
	RepairBytesRead, RepairBytesWritten, ShardsRebuilt int64
	RepairsFailed                                      int64 // segment repairs whose reads failed
	Uploads, UploadsFailed, Downloads, DownloadsFailed int64
	CopiesLost                                         int64 // held shard copies whose bytes vanished
	Handovers                                          int64
}

// New builds the initial population of nodes (the last Behaviours.Sybil.Groups×Size of them
// Sybil identities), registers the model's events on eng and schedules its chores: audits
// every AuditInterval and repair every RepairInterval (the first one interval after now),
// samples every SampleEvery from now, and the behaviours' onsets. Every node is up until
// Attach hands it a churn driver's states. Files arrive by Upload.
func New(eng *sim.Engine, cfg Config, nodes int, streams sim.Streams) (*Network, error) {
	return newNetwork(eng, cfg, nodes, streams, nil)
}

// newNetwork is New with a hook told of every observation from the first (tests).
func newNetwork(eng *sim.Engine, cfg Config, nodes int, streams sim.Streams, onObserve func(reputation.Observation)) (*Network, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p, _ := cfg.params()
	sybils := cfg.Behaviours.sybils()
	honest := nodes - sybils
	subnets := 0
	if honest > 0 {
		subnets = (honest-1)/cfg.NodesPerSubnet + 1
	}
	switch {
	case nodes < 1 || nodes > maxNodes:
		return nil, fmt.Errorf("nodes: %d, want 1..%d", nodes, maxNodes)
	case honest < 0:
		return nil, fmt.Errorf("behaviours.sybil: %d identities, more than the %d nodes", sybils, nodes)
	case subnets+cfg.Behaviours.Sybil.Groups < cfg.N:
		return nil, fmt.Errorf("nodes: %d nodes make %d /24s, n = %d shards need as many", nodes, subnets+cfg.Behaviours.Sybil.Groups, cfg.N)
	}
	n := &Network{
		cfg: cfg, params: p, eng: eng, book: book{p: p},
		thr: cfg.threshold(), ncand: cfg.candidates(),
		rngArrive: streams.Named(StreamArrive),
		rngDisc:   streams.Named(StreamDiscover),
		rngKey:    streams.Named(StreamFileKey),
		rngAudit:  streams.Named(StreamAudit),
		rngNonce:  streams.Named(StreamNonce),
	}
	n.pcgPlace, n.pcgRepair = streams.NamedPCG(StreamPlace), streams.NamedPCG(StreamRepair)
	n.rngPlace, n.rngRepair = rand.New(n.pcgPlace), rand.New(n.pcgRepair)
	n.partnerIdx = map[string]int32{}
	n.onObserve = onObserve
	if err := n.populate(nodes, honest, streams); err != nil {
		return nil, err
	}
	var err error
	reg := func(name string, h sim.Handler) sim.Kind {
		if err != nil {
			return 0
		}
		var k sim.Kind
		k, err = eng.Register(name, h)
		return k
	}
	n.kAudit = reg("network.audit", func(*sim.Engine, sim.Event) { n.auditRound(); n.after(n.cfg.AuditInterval, n.kAudit) })
	n.kRepair = reg("network.repair", func(*sim.Engine, sim.Event) { n.repairRound(); n.after(n.cfg.RepairInterval, n.kRepair) })
	n.kSample = reg("network.sample", func(*sim.Engine, sim.Event) { n.sample(); n.after(n.cfg.SampleEvery, n.kSample) })
	n.kOnset = reg("network.onset", func(*sim.Engine, sim.Event) { n.turnBad(DataDropping, AuditCheating) })
	n.kAttack = reg("network.attack", func(*sim.Engine, sim.Event) { n.turnBad(Sybil, Sybil) })
	if err != nil {
		return nil, err
	}
	if !cfg.DisableAudits {
		n.after(cfg.AuditInterval, n.kAudit)
	}
	if !cfg.DisableRepair {
		n.after(cfg.RepairInterval, n.kRepair)
	}
	n.after(0, n.kSample)
	if cfg.Behaviours.DataDropping > 0 || cfg.Behaviours.AuditCheating > 0 {
		n.after(cfg.Behaviours.Onset, n.kOnset)
	}
	if sybils > 0 {
		n.after(cfg.Behaviours.Sybil.AttackAt, n.kAttack)
	}
	return n, n.err
}

// maxNodes bounds the population: int32 indices and kad.MaxNodes.
const maxNodes = 1 << 23

// after schedules kind d from now; a refusal (virtual time ran out) stops the run and is
// kept in Err.
func (n *Network) after(d sim.Duration, kind sim.Kind) {
	if err := n.eng.After(d, kind, -1, 0); err != nil {
		n.fail(err)
	}
}

// fail keeps the first error and stops the engine.
func (n *Network) fail(err error) {
	if n.err == nil {
		n.err = err
		n.eng.Stop()
	}
}

// Err is the first error that stopped the run (a churn callback about an unknown node,
// virtual time running out), or nil.
func (n *Network) Err() error { return n.err }

// Config is the configuration in force.
func (n *Network) Config() Config { return n.cfg }

// Unix is virtual time t as the unix seconds the node's cores take.
func (n *Network) Unix(t sim.Time) int64 { return n.cfg.Genesis + int64(t/sim.Time(sim.Second)) }

func (n *Network) now() sim.Time { return n.eng.Now() }

// Attach plays d's churn on the network: its current states are copied (call it before the
// run, with d built over the same node count), and its callbacks are chained after any
// already set. A node that d.Leave makes depart while down is not reported by the driver:
// call NodeDown(node, at, true) for it.
func (n *Network) Attach(d *churn.Driver) error {
	if d.Len() != n.Len() {
		return fmt.Errorf("network: churn driver has %d nodes, network %d", d.Len(), n.Len())
	}
	now := n.now()
	for i, s := range d.State {
		switch s {
		case churn.Down:
			n.NodeDown(int32(i), now, false)
		case churn.Gone:
			n.NodeDown(int32(i), now, true)
		}
	}
	up, down, arrive := d.OnUp, d.OnDown, d.OnArrive
	d.OnUp = func(node int32, at sim.Time) {
		if up != nil {
			up(node, at)
		}
		n.NodeUp(node, at)
	}
	d.OnDown = func(node int32, at sim.Time, departed bool) {
		if down != nil {
			down(node, at, departed)
		}
		n.NodeDown(node, at, departed)
	}
	d.OnArrive = func(node int32, at sim.Time) {
		if arrive != nil {
			arrive(node, at)
		}
		n.NodeArrive(node, at)
	}
	return nil
}

// scratch holds reusable buffers so the chores allocate nothing per event.
type scratch struct {
	picked    []int32 // discovered node indices
	cands     []reputation.Candidate
	holders   []int32 // an upload's chosen holders, seg*N+j
	pairs     []pair
	health    []reputation.SegmentHealth
	states    []reputation.ShardState
	segOf     []int32 // health index -> segment
	members   []reputation.NodeID
	closest   []int32
	count     []int32 // audit round: files per leader, then offsets
	lead      []int32 // audit round: each file's leader
	byLeader  []int32 // audit round: files grouped by leader
	toStamp   []uint32
	toGen     uint32
	gini      []int64
	nonce     [32]byte
	discStamp []uint32
	discGen   uint32
	workStamp []uint32
}

// pair is one copy of a file at a holder, for grouping by holder.
type pair struct{ holder, copy int32 }

func frac(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
