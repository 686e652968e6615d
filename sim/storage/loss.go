package storage

import (
	"fmt"
	"math/rand/v2"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
)

// LoseIndependently marks each of len(gone) nodes gone with probability p, one
// rng draw a node in index order ("independent node loss with no repair").
// Nodes already gone stay gone.
func LoseIndependently(gone []bool, p float64, rng *rand.Rand) {
	for i := range gone {
		if rng.Float64() < p {
			gone[i] = true
		}
	}
}

// Tracker follows permanent node losses over time: each kill lowers the live
// shard count of the segments the node held, and a segment is lost the moment
// it falls below K (a file when its first segment is). Memory: 4 bytes a shard
// (reverse index) + 1 a segment + 1 a file + 5 a node.
type Tracker struct {
	st       *Store
	gone     []bool
	live     []uint8 // live shards per segment
	fileLost []bool
	off      []int32 // node v's segments are seg[off[v]:off[v+1]]
	seg      []int32 // one entry per shard: its segment, grouped by holder

	segsLost, filesLost int
	// OnSegmentLost, if set, is called when a segment falls below K live
	// shards (once per segment), with the file it belongs to.
	OnSegmentLost func(segment, file int32, at sim.Time)
}

// NewTracker indexes st for nodes node indices (holders must be below nodes;
// later arrivals hold nothing and are ignored by Kill).
func NewTracker(st *Store, nodes int) (*Tracker, error) {
	t := &Tracker{
		st:       st,
		gone:     make([]bool, nodes),
		live:     make([]uint8, st.Segments()),
		fileLost: make([]bool, st.Files),
		off:      make([]int32, nodes+1),
		seg:      make([]int32, len(st.Holder)),
	}
	for i, h := range st.Holder {
		if h < 0 || int(h) >= nodes {
			return nil, fmt.Errorf("storage: shard %d held by node %d, outside 0..%d", i, h, nodes-1)
		}
		t.off[h+1]++
	}
	for v := range nodes {
		t.off[v+1] += t.off[v]
	}
	fill := append([]int32(nil), t.off[:nodes]...) // next free slot per node
	for i, h := range st.Holder {
		t.seg[fill[h]] = int32(i / st.N)
		fill[h]++
	}
	for s := range t.live {
		t.live[s] = uint8(st.N)
	}
	return t, nil
}

// Kill makes node lose its shards for good at time at. It reports false if
// the node was already gone or holds nothing (an index beyond the tracker's).
func (t *Tracker) Kill(node int32, at sim.Time) bool {
	if node < 0 || int(node) >= len(t.gone) || t.gone[node] {
		return false
	}
	t.gone[node] = true
	k := uint8(t.st.K)
	for _, s := range t.seg[t.off[node]:t.off[node+1]] {
		t.live[s]--
		if t.live[s] != k-1 {
			continue
		}
		t.segsLost++
		f := s / int32(t.st.SegmentsPerFile)
		if !t.fileLost[f] {
			t.fileLost[f] = true
			t.filesLost++
		}
		if t.OnSegmentLost != nil {
			t.OnSegmentLost(s, f, at)
		}
	}
	return true
}

// Attach kills every node d reports as departed (churn.Model.DepartProb), now
// and as the run goes, keeping any OnDown callback already set. A node made to
// Leave while down is not reported by the driver: call Kill for it too.
func (t *Tracker) Attach(d *churn.Driver, now sim.Time) {
	for i, s := range d.State {
		if s == churn.Gone {
			t.Kill(int32(i), now)
		}
	}
	prev := d.OnDown
	d.OnDown = func(node int32, at sim.Time, departed bool) {
		if prev != nil {
			prev(node, at, departed)
		}
		if departed {
			t.Kill(node, at)
		}
	}
}

// Gone reports whether node was killed.
func (t *Tracker) Gone(node int32) bool { return int(node) < len(t.gone) && t.gone[node] }

// Live is the number of segment s's shards on nodes not gone.
func (t *Tracker) Live(s int) int { return int(t.live[s]) }

// SegmentsLost and FilesLost count what fell below K so far.
func (t *Tracker) SegmentsLost() int { return t.segsLost }
func (t *Tracker) FilesLost() int    { return t.filesLost }
