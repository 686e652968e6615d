package kad

import (
	"errors"
	"slices"
)

// Config sets a lookup's parameters; start from DefaultConfig. The bucket size
// K, which is also how many peers each answer carries and how many the lookup
// returns, is the Table's.
type Config struct {
	// Alpha is how many requests may be in flight at once (go-libp2p-kad-dht's
	// Concurrency).
	Alpha int
	// Beta ends the lookup once the Beta closest peers not known to be
	// unreachable have all answered (go-libp2p-kad-dht's Resiliency).
	Beta int
	// Latency is the time a request from the initiator to a live peer takes to
	// answer. Nil means 1 for all, so Time counts rounds.
	Latency func(from, to int32) float64
	// Timeout is the time a request to a dead peer takes to fail.
	Timeout float64
}

// DefaultConfig is go-libp2p-kad-dht's lookup with unit latency and timeout.
func DefaultConfig() Config { return Config{Alpha: DefaultAlpha, Beta: DefaultBeta, Timeout: 1} }

// Result describes one lookup.
type Result struct {
	// Closest are the up to K closest peers the lookup found that answered
	// (during the lookup or its follow-up), nearest first. It belongs to the
	// Looker and is overwritten by its next Lookup.
	Closest []int32
	// Hops is the longest chain of dependent requests that answered: a peer
	// from the initiator's own table is one hop away, a peer named in the
	// answer of a peer h hops away is h+1 (the first answer to name it counts,
	// as in go-libp2p-kad-dht's referrer). The follow-up adds no hops.
	Hops int
	// ClosestHops is the hop at which Closest[0] answered (0 if none did).
	ClosestHops int
	// Messages counts requests sent before the lookup ended, including those to
	// dead peers and those still in flight when it ended (which it abandons).
	Messages int
	// Timeouts counts requests to dead peers that failed before the end.
	Timeouts int
	// Followups counts the follow-up's requests: the top K peers not yet
	// answered when the lookup ended are asked once more, all at once.
	Followups int
	// DeadRequests counts requests sent to dead peers, the follow-up's
	// included, whether or not the lookup waited for them to fail.
	DeadRequests int
	// Time is the virtual time from the first request to the last answer or
	// failure of the follow-up: what go-libp2p-kad-dht's GetClosestPeers
	// takes, since it waits for every follow-up.
	Time float64
	// Ended is the virtual time at which the lookup ended (Beta rule or
	// starvation), before its follow-up.
	Ended float64
	// Starved is set when the lookup ended because no peer was left to ask,
	// rather than by the Beta rule.
	Starved bool
	// Found is set when Closest[0] is the live node closest to the key, the
	// initiator aside.
	Found bool
	// Overlap is how many of Closest are among the K live nodes closest to
	// the key, the initiator aside.
	Overlap int
}

// Peer states during a lookup, as go-libp2p-kad-dht's qpeerset.
const (
	heard uint8 = iota
	waiting
	queried
	unreachable
)

type contact struct {
	dist  uint64
	node  int32
	depth uint16 // hops to learn of it: 0 for the initiator's own table
	state uint8
}

type flight struct {
	at      float64
	seq     uint32
	contact int32
}

// Looker runs lookups over one Table. It keeps its scratch between lookups, so
// a lookup allocates nothing once warm; one Looker per goroutine.
type Looker struct {
	t     *Table
	cfg   Config
	gen   uint32
	seen  []uint32  // node → gen of the lookup that has it as a contact
	cs    []contact // this lookup's contacts, in order of discovery
	near  []int32   // indices into cs, by distance to the key
	fresh []int32   // contacts added by the last answer, by distance
	fly   []flight  // requests in flight
	reply []cand    // the last answer
	out   []int32
	truth []int32

	from    int32            // the lookup's initiator and liveness, for
	alive   func(int32) bool // truthOK, made once so a lookup allocates nothing
	truthOK func(int32) bool

	// before, if set, runs just before a peer's table is read to answer (the
	// Maintainer brings that table up to date there).
	before func(node int32)
}

// NewLooker returns a Looker for t.
func NewLooker(t *Table, cfg Config) (*Looker, error) {
	switch {
	case cfg.Alpha < 1:
		return nil, errors.New("kad: Alpha must be at least 1")
	case cfg.Beta < 1 || cfg.Beta > t.k:
		return nil, errors.New("kad: Beta must be in 1..K")
	case !(cfg.Timeout >= 0):
		return nil, errors.New("kad: Timeout must be non-negative")
	}
	l := &Looker{t: t, cfg: cfg, seen: make([]uint32, t.space.Len())}
	l.truthOK = func(p int32) bool { return p != l.from && (l.alive == nil || l.alive(p)) }
	return l, nil
}

// Lookup runs go-libp2p-kad-dht's GetClosestPeers from node from for key:
// seed with the K closest peers in from's table; after each answer or
// failure, end if the Beta closest peers not known unreachable have all
// answered or nobody is left to ask, else send requests to the closest peers
// not yet asked until Alpha are in flight. Each live peer asked answers with
// the K closest peers in its table (never from). Then the follow-up asks the
// top K not yet answered. alive says which nodes answer (nil: all).
// Simultaneous events are taken in the order their requests were sent.
func (l *Looker) Lookup(from int32, key uint64, alive func(int32) bool) Result {
	l.reset()
	if n := l.t.space.Len(); len(l.seen) < n { // nodes arrived
		l.seen = append(l.seen, make([]uint32, n-len(l.seen))...)
	}
	k := l.t.k
	var res Result
	l.reply = l.t.nearest(l.reply, from, key, k, -1)
	l.learn(0)
	now, seq, inFlight := 0.0, uint32(0), 0
	for {
		if stop, starved := l.done(inFlight); stop {
			res.Starved = starved
			break
		}
		for ; inFlight < l.cfg.Alpha; inFlight++ {
			i := l.closestHeard()
			if i < 0 {
				break
			}
			l.cs[i].state = waiting
			l.fly = append(l.fly, flight{now + l.cost(from, l.cs[i].node, alive), seq, i})
			seq++
			res.Messages++
			if alive != nil && !alive(l.cs[i].node) {
				res.DeadRequests++
			}
		}
		f := l.land()
		now, inFlight = f.at, inFlight-1
		c := &l.cs[f.contact]
		if alive != nil && !alive(c.node) {
			c.state = unreachable
			res.Timeouts++
			continue
		}
		c.state = queried
		res.Hops = max(res.Hops, int(c.depth)+1)
		depth := c.depth + 1
		if l.before != nil {
			l.before(c.node)
		}
		l.reply = l.t.nearest(l.reply, c.node, key, k, from)
		l.learn(depth)
	}
	l.fly = l.fly[:0] // abandoned
	end := now
	res.Ended = now
	l.out = l.out[:0]
	taken := 0
	for _, i := range l.near {
		c := &l.cs[i]
		if c.state == unreachable {
			continue
		}
		if c.state != queried {
			res.Followups++
			end = max(end, now+l.cost(from, c.node, alive))
			if alive != nil && !alive(c.node) {
				c.state = unreachable
				res.DeadRequests++
			} else {
				c.state = queried
			}
		}
		if c.state == queried {
			if len(l.out) == 0 {
				res.ClosestHops = int(c.depth) + 1
			}
			l.out = append(l.out, c.node)
		}
		if taken++; taken == k {
			break
		}
	}
	res.Closest, res.Time = l.out, end
	l.from, l.alive = from, alive
	l.truth = l.t.space.Closest(l.truth[:0], key, k, l.truthOK)
	l.alive = nil // hold no reference to the caller's state between lookups
	res.Found = len(l.out) > 0 && len(l.truth) > 0 && l.out[0] == l.truth[0]
	for _, p := range l.out {
		if slices.Contains(l.truth, p) {
			res.Overlap++
		}
	}
	return res
}

// Visit calls fn for each peer the last lookup heard from, in the order it
// learned of them: answered is true for a peer that answered (during the
// lookup or its follow-up), false for one whose request failed (before the
// end, or in the follow-up). Peers never asked, and requests abandoned when
// the lookup ended, are left out: go-libp2p-kad-dht cancels those, and a
// cancelled dial evicts nobody.
func (l *Looker) Visit(fn func(node int32, answered bool)) {
	for _, c := range l.cs {
		switch c.state {
		case queried:
			fn(c.node, true)
		case unreachable:
			fn(c.node, false)
		}
	}
}

func (l *Looker) reset() {
	l.gen++
	if l.gen == 0 { // wrapped: old stamps could collide
		clear(l.seen)
		l.gen = 1
	}
	l.cs, l.near, l.fly = l.cs[:0], l.near[:0], l.fly[:0]
}

func (l *Looker) cost(from, to int32, alive func(int32) bool) float64 {
	switch {
	case alive != nil && !alive(to):
		return l.cfg.Timeout
	case l.cfg.Latency == nil:
		return 1
	default:
		return l.cfg.Latency(from, to)
	}
}

// learn adds the peers of l.reply (sorted by distance) not yet known, at depth.
func (l *Looker) learn(depth uint16) {
	l.fresh = l.fresh[:0]
	for _, x := range l.reply {
		if l.seen[x.node] == l.gen {
			continue
		}
		l.seen[x.node] = l.gen
		l.fresh = append(l.fresh, int32(len(l.cs)))
		l.cs = append(l.cs, contact{dist: x.dist, node: x.node, depth: depth})
	}
	// Merge fresh into near from the back.
	i, j := len(l.near)-1, len(l.fresh)-1
	l.near = append(l.near, l.fresh...)
	for w := len(l.near) - 1; j >= 0; w-- {
		if i >= 0 && l.cs[l.near[i]].dist > l.cs[l.fresh[j]].dist {
			l.near[w] = l.near[i]
			i--
		} else {
			l.near[w] = l.fresh[j]
			j--
		}
	}
}

// done applies go-libp2p-kad-dht's ending rules: starvation (nobody heard of
// and not asked, nobody in flight), or the Beta closest peers not unreachable
// all answered.
func (l *Looker) done(inFlight int) (stop, starved bool) {
	seen, heardAny := 0, false
	for _, i := range l.near {
		switch l.cs[i].state {
		case unreachable:
			continue
		case heard:
			heardAny = true
		}
		if seen < l.cfg.Beta {
			if l.cs[i].state != queried {
				return false, false
			}
			seen++
		} else if heardAny {
			break
		}
	}
	if !heardAny && inFlight == 0 {
		return true, true
	}
	return true, false
}

// closestHeard is the index in cs of the closest peer not yet asked, or -1.
func (l *Looker) closestHeard() int32 {
	for _, i := range l.near {
		if l.cs[i].state == heard {
			return i
		}
	}
	return -1
}

// land removes and returns the request in flight that completes first.
func (l *Looker) land() flight {
	b := 0
	for i, f := range l.fly[1:] {
		if f.at < l.fly[b].at || f.at == l.fly[b].at && f.seq < l.fly[b].seq {
			b = i + 1
		}
	}
	f := l.fly[b]
	l.fly[b] = l.fly[len(l.fly)-1]
	l.fly = l.fly[:len(l.fly)-1]
	return f
}
