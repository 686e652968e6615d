package network

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/cairn-storage/cairn/reputation"
	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
	"github.com/cairn-storage/cairn/sim/kad"
)

// never is the time of something that has not happened.
const never = sim.Time(-1)

// nodes is the population, struct-of-arrays by node index (int32).
type nodes struct {
	id          []uint64            // Kademlia ID
	nid         []reputation.NodeID // its ID as the cores see it: 16 hex digits of id
	subnet      []int32
	subnetNames []string
	arrSubnet   int32 // subnet arrivals fill next
	arrFill     int   // arrivals already in it
	capacity    []int64
	used        []int64 // bytes of the shard copies it is listed for
	class       []Class
	badSince    []sim.Time // when it turned bad, or never (honest, or onset not reached)
	dqAt        []sim.Time // first disqualification
	suspAt      []sim.Time // first suspension
	dq          []bool     // disqualified now (mirrors Book.Status; see holderHealthy)
	dqList      []int32
	state       []churn.State
	since       []sim.Time // when it entered state
	upList      []int32    // up nodes, in no meaningful order (swap-remove)
	upPos       []int32    // node -> position in upList, -1 when not up
	live        int
	viewDown    []bool  // the stewards' view: its latest audit or probe got no answer
	copyHead    []int32 // first copy it holds (holder list), -1
	stored      []int32 // shard copies it holds
	stewHead    []int32 // first stewardship slot (file*S+slot), -1
	space       stewardSpace
	initialN    int
	candScore   []float64 // cached Book.Candidate score and vetting (see candidate)
	candVetted  []bool
	candOK      []bool
}

// Len is the number of node indices so far (initial nodes plus arrivals).
func (n *Network) Len() int { return len(n.id) }

// UpCount is the number of nodes up now.
func (n *Network) UpCount() int { return len(n.upList) }

// LiveCount is the number of nodes not departed.
func (n *Network) LiveCount() int { return n.live }

// NodeID is node's identity as reputation sees it.
func (n *Network) NodeID(node int32) reputation.NodeID { return n.nid[node] }

// KadID is node's 64-bit Kademlia ID.
func (n *Network) KadID(node int32) uint64 { return n.id[node] }

// Subnet is node's synthetic /24.
func (n *Network) Subnet(node int32) string { return n.subnetNames[n.subnet[node]] }

// NodeClass is node's behaviour.
func (n *Network) NodeClass(node int32) Class { return n.class[node] }

// IsUp reports whether node is up.
func (n *Network) IsUp(node int32) bool { return n.state[node] == churn.Up }

// Capacity and Used are node's capacity and the bytes of the shards it is listed for.
func (n *Network) Capacity(node int32) int64 { return n.capacity[node] }
func (n *Network) Used(node int32) int64     { return n.used[node] }

// populate builds the initial nodes: honest-subnet nodes first, NodesPerSubnet a /24, then the
// Sybil groups, a /24 each.
func (n *Network) populate(total, honest int, streams sim.Streams) error {
	rng := streams.Named(StreamNodes)
	sp, err := kad.RandomSpace(total, streams.Named(StreamIDs))
	if err != nil {
		return err
	}
	n.space = stewardSpace{space: sp, ids: &n.id}
	n.initialN = total
	n.nodes.grow(total)
	b := n.cfg.Behaviours
	// Exact counts of each bad class among the honest-subnet nodes, at random positions.
	perm := rng.Perm(honest)
	drop := int(math.Round(b.DataDropping * float64(honest)))
	cheat := int(math.Round(b.AuditCheating * float64(honest)))
	cls := make([]Class, honest)
	for i, p := range perm {
		switch {
		case i < drop:
			cls[p] = DataDropping
		case i < drop+cheat:
			cls[p] = AuditCheating
		}
	}
	honestSubnets := (honest + n.cfg.NodesPerSubnet - 1) / n.cfg.NodesPerSubnet
	for i := range total {
		c, sub := Sybil, int32(0)
		if i < honest {
			c, sub = cls[i], int32(i/n.cfg.NodesPerSubnet)
		} else {
			sub = int32(honestSubnets + (i-honest)/b.Sybil.Size)
		}
		n.addNode(sp.ID(int32(i)), sub, n.drawCapacity(rng), c, n.onsetOf(c, n.now()))
	}
	n.arrSubnet = int32(len(n.subnetNames))
	// A history of VetAudits passed audits for the vetted share of the initial nodes.
	t := n.Unix(n.now())
	for i := range total {
		if rng.Float64() < n.cfg.InitialVetted {
			for range n.params.VetAudits {
				n.observe(int32(i), reputation.AuditPass, t)
			}
		}
	}
	return nil
}

// grow reserves room for c nodes.
func (ns *nodes) grow(c int) {
	ns.id = slices.Grow(ns.id, c)
	ns.nid = slices.Grow(ns.nid, c)
}

// addNode appends a node, up, holding nothing.
func (n *Network) addNode(id uint64, subnet int32, capacity int64, c Class, bad sim.Time) int32 {
	i := int32(len(n.id))
	for int(subnet) >= len(n.subnetNames) {
		s := len(n.subnetNames)
		n.subnetNames = append(n.subnetNames, fmt.Sprintf("%d.%d.%d.0/24", s>>16&255, s>>8&255, s&255))
	}
	n.id = append(n.id, id)
	n.nid = append(n.nid, reputation.NodeID(fmt.Sprintf("%016x", id)))
	n.subnet = append(n.subnet, subnet)
	n.capacity = append(n.capacity, capacity)
	n.used = append(n.used, 0)
	n.class = append(n.class, c)
	n.badSince = append(n.badSince, bad)
	n.dqAt = append(n.dqAt, never)
	n.suspAt = append(n.suspAt, never)
	n.dq = append(n.dq, false)
	n.state = append(n.state, churn.Up)
	n.since = append(n.since, n.now())
	n.upPos = append(n.upPos, int32(len(n.upList)))
	n.upList = append(n.upList, i)
	n.live++
	n.viewDown = append(n.viewDown, false)
	n.copyHead = append(n.copyHead, -1)
	n.stored = append(n.stored, 0)
	n.stewHead = append(n.stewHead, -1)
	n.candScore = append(n.candScore, 0)
	n.candVetted = append(n.candVetted, false)
	n.candOK = append(n.candOK, false)
	n.book.recs = append(n.book.recs, reputation.Record{})
	if n.scratch.discStamp != nil {
		n.scratch.discStamp = append(n.scratch.discStamp, 0)
	}
	return i
}

// onsetOf is when a node of class c that exists from at turns bad.
func (n *Network) onsetOf(c Class, at sim.Time) sim.Time {
	switch c {
	case DataDropping, AuditCheating:
		return max(at, sim.Time(n.cfg.Behaviours.Onset))
	case Sybil:
		return max(at, sim.Time(n.cfg.Behaviours.Sybil.AttackAt))
	}
	return never
}

// bad reports whether node misbehaves now.
func (n *Network) bad(node int32) bool {
	b := n.badSince[node]
	return b != never && n.now() >= b
}

// keeps reports whether node keeps the whole of a shard it is given now.
func (n *Network) keeps(node int32) bool { return !n.bad(node) }

func (n *Network) drawCapacity(rng *rand.Rand) int64 {
	c := n.cfg.Capacity
	switch c.Kind {
	case CapacityFixed:
		return c.Bytes
	case CapacityUniform:
		return c.Min + int64(rng.Float64()*float64(c.Max-c.Min))
	}
	v := float64(c.Median) * math.Exp(c.Sigma*rng.NormFloat64())
	if c.Min > 0 {
		v = max(v, float64(c.Min))
	}
	if c.Max > 0 {
		v = min(v, float64(c.Max))
	}
	return int64(min(v, math.MaxInt64/2))
}

// setUp moves node in or out of the up list.
func (n *Network) setUp(node int32, up bool) {
	p := n.upPos[node]
	if up == (p >= 0) {
		return
	}
	if up {
		n.upPos[node] = int32(len(n.upList))
		n.upList = append(n.upList, node)
		return
	}
	last := n.upList[len(n.upList)-1]
	n.upList[p] = last
	n.upPos[last] = p
	n.upList = n.upList[:len(n.upList)-1]
	n.upPos[node] = -1
}

// NodeUp records that node came back up (churn.Driver.OnUp).
func (n *Network) NodeUp(node int32, at sim.Time) {
	if node < 0 || int(node) >= n.Len() || n.state[node] == churn.Gone {
		n.fail(fmt.Errorf("network: node %d came up but is unknown or gone", node))
		return
	}
	n.state[node], n.since[node] = churn.Up, at
	n.setUp(node, true)
}

// NodeDown records that node went down, or departed for good taking every shard it held
// (churn.Driver.OnDown).
func (n *Network) NodeDown(node int32, at sim.Time, departed bool) {
	if node < 0 || int(node) >= n.Len() || n.state[node] == churn.Gone {
		n.fail(fmt.Errorf("network: node %d went down but is unknown or gone", node))
		return
	}
	n.setUp(node, false)
	n.state[node], n.since[node] = churn.Down, at
	if departed {
		n.state[node] = churn.Gone
		n.live--
		for c := n.copyHead[node]; c >= 0; c = n.cNext[c] {
			n.loseBytes(c)
		}
	}
	if n.stewHead[node] >= 0 {
		n.downQ = append(n.downQ, downEntry{node: node, at: at})
	}
}

// NodeArrive adds node, the next index, as a new node: a fresh ID, a /24 shared with the next
// few arrivals, no history (unvetted), up (churn.Driver.OnArrive). Its behaviour is drawn with
// the configured fractions.
func (n *Network) NodeArrive(node int32, at sim.Time) {
	if int(node) != n.Len() {
		n.fail(fmt.Errorf("network: arrival %d, want the next index %d", node, n.Len()))
		return
	}
	if n.Len() >= maxNodes {
		n.fail(fmt.Errorf("network: more than %d nodes", maxNodes))
		return
	}
	var id uint64
	for {
		id = n.rngArrive.Uint64()
		if !n.space.has(id) {
			break
		}
	}
	b := n.cfg.Behaviours
	c := Honest
	switch u := n.rngArrive.Float64(); {
	case u < b.DataDropping:
		c = DataDropping
	case u < b.DataDropping+b.AuditCheating:
		c = AuditCheating
	}
	if n.arrFill == n.cfg.NodesPerSubnet {
		n.arrSubnet++
		n.arrFill = 0
	}
	n.arrFill++
	i := n.addNode(id, n.arrSubnet, n.drawCapacity(n.rngArrive), c, n.onsetOf(c, at))
	n.since[i] = at
	n.space.add(i)
}

// discover fills n.scratch.picked and n.scratch.cands with self plus up to Candidates−1
// other up nodes drawn at random, in index order, as candidates scored by the shared book
// (self vetted in its own eyes, as node.toReputation does). skipDown leaves out nodes the
// stewards' view has down (repairCandidates).
func (n *Network) discover(self int32, skipDown bool) {
	s := &n.scratch
	if s.discStamp == nil {
		s.discStamp = make([]uint32, n.Len(), cap(n.id))
	}
	s.discGen++
	if s.discGen == 0 {
		clear(s.discStamp)
		s.discGen = 1
	}
	s.picked = append(s.picked[:0], self)
	s.discStamp[self] = s.discGen
	if n.ncand >= len(n.upList) {
		for _, i := range n.upList {
			if s.discStamp[i] != s.discGen {
				s.discStamp[i] = s.discGen
				s.picked = append(s.picked, i)
			}
		}
	} else {
		for len(s.picked) < n.ncand {
			i := n.upList[n.rngDisc.IntN(len(n.upList))]
			if s.discStamp[i] != s.discGen {
				s.discStamp[i] = s.discGen
				s.picked = append(s.picked, i)
			}
		}
	}
	slices.Sort(s.picked)
	t := n.Unix(n.now())
	s.cands = s.cands[:0]
	k := 0
	for _, i := range s.picked {
		if skipDown && i != self && n.viewDown[i] {
			continue
		}
		c := n.candidate(i, t)
		if i == self {
			c.Vetted = true // a node trusts its own disk
		}
		s.cands = append(s.cands, c)
		s.picked[k] = i
		k++
	}
	s.picked = s.picked[:k]
}

// stewardSpace finds the nodes closest to a key: a kad.Space over the IDs known when it was
// built, plus the arrivals since, scanned directly and folded into the Space in batches
// (kad.Space cannot grow; rebuilding it costs a sort of every ID).
type stewardSpace struct {
	space   *kad.Space
	ids     *[]uint64
	pending []int32
	buf     []int32
}

// rebuildEvery is how many arrivals wait before the Space is rebuilt.
const rebuildEvery = 256

func (s *stewardSpace) add(node int32) {
	s.pending = append(s.pending, node)
	if len(s.pending) >= rebuildEvery {
		sp, err := kad.NewSpace(*s.ids)
		if err == nil { // IDs are distinct by construction; on error keep scanning
			s.space, s.pending = sp, s.pending[:0]
		}
	}
}

func (s *stewardSpace) has(id uint64) bool {
	s.buf = s.space.Closest(s.buf[:0], id, 1, nil)
	if len(s.buf) > 0 && s.space.ID(s.buf[0]) == id {
		return true
	}
	for _, p := range s.pending {
		if (*s.ids)[p] == id {
			return true
		}
	}
	return false
}

// closest appends the k nodes closest to key in XOR distance for which ok holds, nearest
// first: kad.Space.Closest, with each pending arrival that beats the k-th merged in.
func (s *stewardSpace) closest(dst []int32, key uint64, k int, ok func(int32) bool) []int32 {
	if k <= 0 {
		return dst
	}
	start := len(dst)
	dst = s.space.Closest(dst, key, k, ok)
	ids := *s.ids
	for _, p := range s.pending {
		d := ids[p] ^ key
		full := len(dst)-start == k
		if full && d >= ids[dst[len(dst)-1]]^key || ok != nil && !ok(p) {
			continue
		}
		if full {
			dst[len(dst)-1] = p
		} else {
			dst = append(dst, p)
		}
		for i := len(dst) - 1; i > start && ids[dst[i]]^key < ids[dst[i-1]]^key; i-- {
			dst[i], dst[i-1] = dst[i-1], dst[i]
		}
	}
	return dst
}
