package kad

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
)

// MaintainConfig sets how routing tables are kept up, in the time unit of the
// caller (the study uses seconds, like Config.Latency).
type MaintainConfig struct {
	// RefreshInterval is how often a node refreshes its table
	// (go-libp2p-kad-dht's RoutingTable.RefreshInterval: 10 min).
	RefreshInterval float64
	// Grace is how long an entry may go without a successful request before a
	// refresh pings it and evicts it if dead; 0 takes DefaultGrace.
	Grace float64
}

// DefaultGrace is go-libp2p-kad-dht's maxLastSuccessfulOutboundThreshold, the
// time after which a refresh expects to have queried a live entry:
// interval·ln(1/K)/ln(1−α/K) when α < K (43.2 min for 10 min, K = 20,
// α = 10), else the interval. (kbucket's usefulness grace period, twice that,
// is stored but read nowhere in go-libp2p-kbucket v0.9.0, so it has no model
// here.)
func DefaultGrace(interval float64, k, alpha int) float64 {
	if alpha >= k {
		return interval
	}
	return math.Log(1/float64(k)) / math.Log(1-float64(alpha)/float64(k)) * interval
}

// MaintainStats counts what maintenance did to the tables.
type MaintainStats struct {
	Refreshes uint64 `json:"refreshes"` // table refreshes run (lazily, see Maintainer)
	Evicted   uint64 `json:"evicted"`   // entries a refresh found dead past the grace
	Failed    uint64 `json:"failed"`    // entries removed after a request to them failed
	Filled    uint64 `json:"filled"`    // entries a refresh added to a bucket with room
	Learned   uint64 `json:"learned"`   // entries added from lookups: responders, and the initiator at them
	Splits    uint64 `json:"splits"`    // full last buckets unfolded to take a peer (kbucket's nextBucket)
	Joins     uint64 `json:"joins"`     // arrivals that joined
}

// Maintainer keeps a Table the way go-libp2p-kad-dht keeps its routing
// table, as lookups run over it:
//
//   - A request that fails (dial timeout) removes the peer from the
//     initiator's table (peerStoppedDHT); a peer that answers is added if its
//     bucket has room (validPeerFound), and adds the initiator to its own
//     table if its bucket has room (the connection's peerFound and lookup
//     check).
//   - Every RefreshInterval a node refreshes: entries not heard from for Grace
//     are pinged and evicted if dead (pingAndEvictPeers), and a lookup for a
//     random key in each bucket (and for itself) fills buckets with room
//     with the live peers nearest that key.
//   - A node that comes back up refreshes at once, pinging every entry; an
//     arriving node adds a bootstrap peer, looks itself up, then refreshes
//     every bucket.
//
// Refreshes are lazy, which is what lets this scale to a million nodes: a
// node's table is brought up to date only when it is read (the node starts a
// lookup, or answers one), as of the latest refresh it would have run, its
// refreshes falling at a fixed phase plus multiples of the interval. Two
// approximations make a refresh cost O(table + log² n) a bucket, without
// running its ~17 lookups: an entry is known to be stale (not heard from for
// Grace) when it has been dead for Grace, which needs no per-entry timestamps
// (a dead peer cannot have answered since it died); and a bucket refresh adds
// the live peers nearest its random key, read off the sorted IDs, where
// go-libp2p-kad-dht adds the peers that answered its lookup for that key,
// which are those when the lookup succeeds. The K-fold redundancy keeps
// lookups succeeding under the churn studied (see the tests); the refresh's
// own lookups and their traffic are not simulated, and the ID space stands in
// for what the network knows of nodes, so only nodes that joined (Join) should
// be in it.
type Maintainer struct {
	t     *Table
	l     *Looker
	cfg   MaintainConfig
	alive func(int32) bool
	since func(int32) float64
	rng   *rand.Rand
	last  []float64 // node → time of its latest refresh; NaN: up again, refresh due
	now   float64
	from  int32
	mark  []uint32 // node → gen of the bucket fill that has it in the bucket
	gen   uint32
	visit func(int32, bool)
	Stats MaintainStats
}

// NewMaintainer maintains l's table. alive says which nodes answer; since(p)
// is when p entered its present state (went down, came up); rng draws the
// refresh phases and fills. Each node's first refresh falls at a uniformly
// random phase within the interval from time 0 (the table is ideal then).
func NewMaintainer(l *Looker, cfg MaintainConfig, alive func(int32) bool, since func(int32) float64, rng *rand.Rand) (*Maintainer, error) {
	switch {
	case !(cfg.RefreshInterval > 0) || math.IsInf(cfg.RefreshInterval, 0):
		return nil, errors.New("kad: RefreshInterval must be positive")
	case !(cfg.Grace >= 0) || math.IsInf(cfg.Grace, 0):
		return nil, errors.New("kad: Grace must be non-negative")
	case alive == nil || since == nil || rng == nil:
		return nil, errors.New("kad: Maintainer needs alive, since and rng")
	}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace(cfg.RefreshInterval, l.t.k, l.cfg.Alpha)
	}
	m := &Maintainer{t: l.t, l: l, cfg: cfg, alive: alive, since: since, rng: rng,
		last: make([]float64, l.t.Len())}
	for i := range m.last {
		m.last[i] = -rng.Float64() * cfg.RefreshInterval
	}
	m.visit = m.observe
	l.before = m.refresh
	return m, nil
}

// Config is the maintenance configuration, Grace filled in.
func (m *Maintainer) Config() MaintainConfig { return m.cfg }

// Bytes is the memory the Maintainer holds beyond the table.
func (m *Maintainer) Bytes() int { return 8*cap(m.last) + 4*cap(m.mark) }

// Lookup runs a lookup from node from for key at time now, with maintenance:
// from's table and every answering peer's are refreshed first if due, and
// what the lookup learned updates the tables afterwards.
func (m *Maintainer) Lookup(from int32, key uint64, now float64) Result {
	m.now = now
	m.refresh(from)
	res := m.l.Lookup(from, key, m.alive)
	m.from = from
	m.l.Visit(m.visit)
	return res
}

// Refresh brings node's table up to date at time now, if a refresh is due.
func (m *Maintainer) Refresh(node int32, now float64) {
	m.now = now
	m.refresh(node)
}

// Up marks node as back up: its next read refreshes it fully (every dead
// entry evicted, as its start-up refresh and first liveness check do).
func (m *Maintainer) Up(node int32) { m.last[node] = math.NaN() }

// Join brings node, just added to the Space, into the network at time now:
// an empty table (Table.Extend), the bootstrap peer in it (boot < 0: none),
// a lookup for its own ID, then a refresh of every bucket. It returns the
// self-lookup's result.
func (m *Maintainer) Join(node, boot int32, now float64) (Result, error) {
	if err := m.t.Extend(); err != nil {
		return Result{}, err
	}
	if int(node) >= m.t.Len() {
		return Result{}, errors.New("kad: Join of a node not in the Space")
	}
	m.now = now
	m.grow()
	m.last[node] = now
	if boot >= 0 {
		m.t.Add(node, boot)
		m.t.Add(boot, node)
	}
	res := m.Lookup(node, m.t.space.id[node], now)
	for b := range m.t.Buckets(node) {
		m.fillBucket(node, b)
	}
	m.Stats.Joins++
	return res, nil
}

// observe applies one peer's outcome of the lookup from m.from.
func (m *Maintainer) observe(p int32, answered bool) {
	if !answered {
		if m.t.Remove(m.from, p) {
			m.Stats.Failed++
		}
		return
	}
	m.learn(m.from, p)
	m.learn(p, m.from)
}

func (m *Maintainer) learn(node, peer int32) {
	unused := m.t.unused
	if m.t.Add(node, peer) {
		m.Stats.Learned++
	}
	if m.t.unused != unused {
		m.Stats.Splits++
	}
}

// grow gives nodes added to the Space without Join a refresh time.
func (m *Maintainer) grow() {
	for len(m.last) < m.t.space.Len() {
		m.last = append(m.last, m.now)
	}
}

// refresh runs node's latest due refresh, if it has not run yet.
func (m *Maintainer) refresh(node int32) {
	if int(node) >= len(m.last) {
		m.grow()
	}
	iv := m.cfg.RefreshInterval
	last := m.last[node]
	full := math.IsNaN(last)
	if full {
		last = m.since(node)
	} else if m.now-last < iv {
		return
	}
	at := last + max(0, math.Floor((m.now-last)/iv))*iv // the latest refresh due
	m.last[node] = at
	m.Stats.Refreshes++
	t := m.t
	stale := at - m.cfg.Grace
	for g := t.first[node]; g < t.first[node]+uint32(t.nb[node]); g++ {
		e := t.entries(g)
		w := 0
		for _, p := range e {
			if !m.alive(p) && (full || m.since(p) <= stale) {
				m.Stats.Evicted++
				continue
			}
			e[w] = p
			w++
		}
		t.fill[g] = uint8(w)
	}
	for b := range t.Buckets(node) {
		m.fillBucket(node, b)
	}
}

// fillBucket adds live peers to node's bucket b while it has room: the ones
// nearest a random key in the bucket's range (what go-libp2p-kad-dht's
// refresh lookup for GenRandPeerID(b) returns and adds), or for the last
// bucket the ones nearest node itself (its self-lookup). Nearness is taken in
// ID order, outward from the key's place among the sorted IDs: the same
// neighbourhood as XOR order, found in O(log n + scanned). The scan stops
// after scanBudget(free) IDs, so a range of dead nodes costs little; the next
// refresh tries again.
func (m *Maintainer) fillBucket(node int32, b int) {
	t, s := m.t, m.t.space
	g := t.first[node] + uint32(b)
	free := t.k - int(t.fill[g])
	if free == 0 {
		return
	}
	id := s.id[node]
	key, bits := id, b // the last bucket: every peer sharing b bits
	if b < t.Buckets(node)-1 {
		bits = b + 1 // the first b bits of node's ID, then the other bit b
		low := ^uint64(0) >> bits
		key = (id^(1<<(63-b)))&^low | m.rng.Uint64()&low
	}
	// Mark the bucket's members, so a candidate costs O(1), not a scan.
	if len(m.mark) < s.Len() {
		m.mark = append(m.mark, make([]uint32, s.Len()-len(m.mark))...)
	}
	if m.gen++; m.gen == 0 {
		clear(m.mark)
		m.gen = 1
	}
	for _, p := range t.entries(g) {
		m.mark[p] = m.gen
	}
	take := func(r int) {
		if p := s.order[r]; p != node && m.mark[p] != m.gen && m.alive(p) {
			t.slots[int(g)*t.k+int(t.fill[g])] = p
			t.fill[g]++
			m.Stats.Filled++
			free--
		}
	}
	lo, hi := s.prefixRange(key, bits)
	at, _ := slices.BinarySearch(s.sorted[lo:hi], key)
	up, down := lo+at, lo+at-1
	for budget := 64 + 8*free; free > 0 && budget > 0 && (up < hi || down >= lo); budget -= 2 {
		if up < hi {
			take(up)
			up++
		}
		if down >= lo && free > 0 {
			take(down)
			down--
		}
	}
}

// Count is how many of node's entries satisfy pred, and how many it has.
func (t *Table) Count(node int32, pred func(int32) bool) (match, total int) {
	for g := t.first[node]; g < t.first[node]+uint32(t.nb[node]); g++ {
		for _, p := range t.entries(g) {
			if pred(p) {
				match++
			}
			total++
		}
	}
	return match, total
}
