package storage

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/cairn-storage/cairn/reputation"
	"github.com/cairn-storage/cairn/sim"
)

// Layout is the shape of the stored data and how it was placed.
type Layout struct {
	Files           int
	SegmentsPerFile int
	K, N            int   // each segment is N shards, any K of which rebuild it
	ShardSize       int64 // bytes a holder needs free per shard
	// Candidates is how many nodes one put discovers (routing table ∪
	// connections ∪ a DHT walk, uploader included): every segment of the file is
	// placed among them, as node.Put does. 0 means DefaultCandidates(N).
	Candidates int
	// UnvettedShare is reputation.Rules.UnvettedShare; 0 is the reputation
	// default, 5%, which is also the node's default unvetted_share_percent.
	UnvettedShare float64
}

// DefaultCandidates is about what a put discovers in a network of thousands:
// a Kademlia routing table (~k·log2(n/k) peers) plus a walk's k closest.
func DefaultCandidates(n int) int { return max(128, 2*n) }

// Segments is the number of segments, Files·SegmentsPerFile.
func (l Layout) Segments() int { return l.Files * l.SegmentsPerFile }

// Validate says what is wrong with l.
func (l Layout) Validate() error {
	switch {
	case l.Files < 1 || l.SegmentsPerFile < 1:
		return fmt.Errorf("storage: %d files of %d segments, want at least 1 of 1", l.Files, l.SegmentsPerFile)
	case l.K < 1 || l.N < l.K || l.N > math.MaxUint8:
		return fmt.Errorf("storage: %d-of-%d, want 1 <= k <= n <= %d", l.K, l.N, math.MaxUint8)
	case int64(l.Files)*int64(l.SegmentsPerFile)*int64(l.N) > math.MaxInt32:
		return fmt.Errorf("storage: %d×%d segments of %d shards exceed int32 shard indices", l.Files, l.SegmentsPerFile, l.N)
	case l.ShardSize < 0:
		return fmt.Errorf("storage: shard size %d < 0", l.ShardSize)
	case l.Candidates < 0:
		return fmt.Errorf("storage: candidates %d < 0", l.Candidates)
	}
	return nil
}

// Store is where every shard is: Holder[s*N+j] is the node index holding shard
// j of segment s, and segment s belongs to file s/SegmentsPerFile. 4 bytes a
// shard.
type Store struct {
	Layout
	Holder []int32
}

// Streams placement draws from.
const (
	StreamDiscover = "storage/discover" // which nodes a put discovers
	StreamPlace    = "storage/place"    // the rng handed to reputation.Place
)

// Place places every segment of l over ns with reputation.Place, the node's
// own core, and charges each holder's Free. Per file, a random uploader
// "discovers" l.Candidates distinct nodes (itself included, vetted in its own
// eyes as in node.toReputation); each segment is then placed among those
// candidates with the Free they advertised when discovered, Rules{N,
// ShardSize, UnvettedShare} as node.Put builds them.
func Place(ns *Nodes, l Layout, streams sim.Streams) (*Store, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if l.Candidates == 0 {
		l.Candidates = DefaultCandidates(l.N)
	}
	st := &Store{Layout: l, Holder: make([]int32, l.Segments()*l.N)}
	p := placer{
		ns:    ns,
		disc:  streams.Named(StreamDiscover),
		rng:   streams.Named(StreamPlace),
		stamp: make([]uint32, ns.Len()),
	}
	rules := reputation.Rules{N: l.N, ShardSize: l.ShardSize, UnvettedShare: l.UnvettedShare}
	for f := range l.Files {
		p.discover(l.Candidates)
		for s := f * l.SegmentsPerFile; s < (f+1)*l.SegmentsPerFile; s++ {
			idx, err := reputation.Place(p.cands, rules, p.rng)
			if err != nil { // a *reputation.TooFewError when too many are full
				return nil, fmt.Errorf("storage: file %d segment %d: %w", f, s, err)
			}
			out := st.Holder[s*l.N : (s+1)*l.N]
			for j, c := range idx {
				h := p.picked[c]
				out[j] = h
				ns.Free[h] -= l.ShardSize
			}
		}
	}
	return st, nil
}

// placer holds the reusable buffers of Place.
type placer struct {
	ns        *Nodes
	disc, rng *rand.Rand
	stamp     []uint32 // stamp[i] == gen: node i already discovered for this put
	gen       uint32
	picked    []int32 // node index of each candidate
	cands     []reputation.Candidate
}

// discover draws c distinct nodes (all of them if c >= the population), one
// of them the uploader, and lists them in ID order as node.discover does (which
// also spares Place's sort most of its work).
func (p *placer) discover(c int) {
	n := p.ns.Len()
	p.picked, p.cands = p.picked[:0], p.cands[:0]
	u := int32(p.disc.IntN(n))
	if c >= n {
		for i := range int32(n) {
			p.picked = append(p.picked, i)
		}
	} else {
		p.gen++
		if p.gen == 0 { // wrapped: old stamps could collide
			clear(p.stamp)
			p.gen = 1
		}
		p.stamp[u] = p.gen
		p.picked = append(p.picked, u)
		for len(p.picked) < c {
			i := int32(p.disc.IntN(n))
			if p.stamp[i] != p.gen {
				p.stamp[i] = p.gen
				p.picked = append(p.picked, i)
			}
		}
		slices.Sort(p.picked) // index order is ID order
	}
	for _, i := range p.picked {
		c := p.ns.Candidate(i)
		if i == u {
			c.Vetted = true // a node trusts its own disk
		}
		p.cands = append(p.cands, c)
	}
}

// Holders returns the holders of segment s (a view into Holder).
func (st *Store) Holders(s int) []int32 { return st.Holder[s*st.N : (s+1)*st.N] }

// CountLost scans every segment against gone (indexed by node; nodes beyond
// its length are alive) and returns how many segments have fewer than K
// shards on live nodes and how many files have such a segment.
func (st *Store) CountLost(gone []bool) (segments, files int) {
	n, drop := st.N, st.N-st.K // a segment survives losing up to n-k shards
	for f := range st.Files {
		fileLost := false
		for s := f * st.SegmentsPerFile; s < (f+1)*st.SegmentsPerFile; s++ {
			dead := 0
			for _, h := range st.Holder[s*n : (s+1)*n] {
				if int(h) < len(gone) && gone[h] {
					dead++
				}
			}
			if dead > drop {
				segments++
				fileLost = true
			}
		}
		if fileLost {
			files++
		}
	}
	return segments, files
}
