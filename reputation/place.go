package reputation

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
)

// NodeID identifies a node. The libp2p node passes peer IDs; the simulator synthetic ones.
type NodeID string

// Candidate is a node that may receive a shard.
type Candidate struct {
	ID     NodeID
	Subnet string  // failure/diversity domain, e.g. "127.0.3.0/24"; "" = unknown (own domain)
	Free   int64   // advertised free bytes
	Score  float64 // reputation in [0,1]; nodes with Score <= 0 are never chosen
	// Vetted: the node has passed enough audits (Record.Vetted). Unvetted nodes only get
	// the newcomers' share of slots, plus any slot no vetted node can take.
	Vetted bool
}

// DefaultUnvettedShare is the share of slots offered to unvetted nodes when Rules leave
// it 0: small, so unproven nodes hold little of any file, but never nothing, so newcomers
// can be audited and earn trust.
const DefaultUnvettedShare = 0.05

// Rules constrain one call to Place.
type Rules struct {
	N         int      // shards to place, one per distinct node
	ShardSize int64    // a node needs Free >= ShardSize
	Exclude   []NodeID // nodes never to use (e.g. ones that just failed)
	// UnvettedShare is the probability that a slot goes to an unvetted node when both
	// kinds can take it. 0 means DefaultUnvettedShare; a negative value means none
	// (unvetted nodes only fill slots no vetted node can take); at most 1, not NaN.
	UnvettedShare float64
}

// Place returns r.N distinct indices into cands, one node per shard of a segment
// (out[i] receives shard i).
//
// A candidate is eligible if it is not excluded, has Score > 0 (callers pass 0 for
// disqualified and suspended nodes) and Free >= ShardSize; if an ID occurs more than
// once, only its first eligible entry in (ID, Subnet, Free, Score, Vetted) order counts.
//
// Subnet diversity comes first, since losing a subnet must not lose a segment while the
// share of newcomers is only a rate of trust-building. Slots are filled in rounds over diversity domains (a
// subnet; a node of unknown subnet is its own domain): in a round every domain that
// still has eligible nodes gives one, whichever pool it comes from, before any gives a
// second. So the number of distinct subnets used is min(N, eligible subnets) and shards
// stay as evenly spread over subnets as capacity allows.
//
// Vetting comes second, among the domains still open in the round. If both vetted and
// unvetted nodes are there, the slot goes to the unvetted pool with probability
// UnvettedShare (one rng draw), else to the vetted pool; if only one pool is there, the
// slot goes to it without a draw. So a young network where nobody is vetted fills every
// slot, so does one without newcomers, and the share holds exactly while the open
// subnets hold both kinds (it drifts only near the end of a round in a network where one
// kind sits in few subnets).
//
// Within the pool each pick is a power-of-two choice: two contenders are drawn (a
// uniformly random open domain that has nodes of the pool, then one of those nodes),
// the higher Score wins, on equal Score the one with less Free loses.
//
// The result depends only on the candidate set, r and the rng state, not on the order
// of cands; floats are only compared. If fewer than N nodes are eligible, Place returns
// a *TooFewError; invalid rules give a plain error.
func Place(cands []Candidate, r Rules, rng *rand.Rand) ([]int, error) {
	if r.N < 0 {
		return nil, fmt.Errorf("reputation: invalid shard count %d", r.N)
	}
	share, err := r.unvettedShare()
	if err != nil {
		return nil, err
	}
	doms, have, rej := eligibleDomains(cands, r)
	if have < r.N {
		return nil, &TooFewError{Need: r.N, Have: have, Reason: reason(r.ShardSize, rej)}
	}

	out := make([]int, 0, r.N)
	var open []int      // domains not yet used in this round that still have nodes
	var openWith [2]int // how many open domains have nodes of each pool
	var avail []int     // positions in open whose domain has nodes of the slot's pool
	for len(out) < r.N {
		if len(open) == 0 {
			// Start a new round. have >= N guarantees some domain still has nodes.
			for d := range doms {
				if doms[d].size() > 0 {
					open = append(open, d)
					doms[d].count(&openWith, 1)
				}
			}
		}
		p := choosePool(openWith, share, rng)
		avail = avail[:0]
		if openWith[p] < len(open) {
			for o, d := range open {
				if len(doms[d][p]) > 0 {
					avail = append(avail, o)
				}
			}
		}
		o, k := draw(doms, open, avail, p, rng)
		if o2, k2 := draw(doms, open, avail, p, rng); better(&cands[doms[open[o2]][p][k2]], &cands[doms[open[o]][p][k]]) {
			o, k = o2, k2
		}
		d := open[o]
		out = append(out, doms[d][p][k])
		doms[d].count(&openWith, -1) // d leaves the round
		doms[d][p] = swapRemove(doms[d][p], k)
		open = swapRemove(open, o)
	}
	return out, nil
}

// unvettedShare resolves r.UnvettedShare: 0 → default, negative → 0.
func (r Rules) unvettedShare() (float64, error) {
	s := r.UnvettedShare
	switch {
	case math.IsNaN(s) || s > 1:
		return 0, fmt.Errorf("reputation: invalid unvetted share %v, want at most 1 (0 = default %v, negative = none)",
			s, DefaultUnvettedShare)
	case s == 0:
		return DefaultUnvettedShare, nil
	case s < 0:
		return 0, nil
	}
	return s, nil
}

// choosePool picks the pool for the next slot among the open domains (openWith counts
// them per pool): the only one present, or, when both are, unvetted with probability
// share.
func choosePool(openWith [2]int, share float64, rng *rand.Rand) pool {
	switch {
	case openWith[vetted] == 0:
		return unvetted
	case openWith[unvetted] == 0 || share <= 0:
		return vetted
	case share >= 1 || rng.Float64() < share:
		return unvetted
	}
	return vetted
}

// draw picks a contender from pool p: a uniformly random open domain that has nodes of
// p, then a uniformly random such node. avail lists those domains' positions in open;
// empty means all of open. Drawing the domain first keeps a subnet packed with many
// nodes (cheap Sybils) from being more likely to win a slot than a subnet with one node.
// It returns the position in open and the position in that domain's list for p.
func draw(doms []domain, open, avail []int, p pool, rng *rand.Rand) (o, k int) {
	if len(avail) == 0 {
		o = rng.IntN(len(open))
	} else {
		o = avail[rng.IntN(len(avail))]
	}
	return o, rng.IntN(len(doms[open[o]][p]))
}

// better reports whether a should win over b in a power-of-two choice.
func better(a, b *Candidate) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.Free > b.Free
}

func compareCand(a, b *Candidate) int {
	// IDs almost always differ: decide on them alone before comparing the rest (cmp.Or
	// would evaluate every comparison first; this sort dominates Place's cost).
	if c := cmp.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	return cmp.Or(
		cmp.Compare(a.Subnet, b.Subnet),
		cmp.Compare(a.Free, b.Free),
		cmp.Compare(a.Score, b.Score), // a total order, NaN included
		compareBool(a.Vetted, b.Vetted),
	)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// swapRemove deletes s[i] in O(1); order is not preserved, but the new order depends
// only on earlier draws, so determinism holds.
func swapRemove(s []int, i int) []int {
	last := len(s) - 1
	s[i] = s[last]
	return s[:last]
}
