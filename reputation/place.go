package reputation

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
)

// NodeID identifies a node. The libp2p node passes peer IDs; the simulator synthetic ones.
type NodeID string

// Candidate is a node that may receive a shard.
type Candidate struct {
	ID     NodeID
	Subnet string  // failure/diversity domain, e.g. "127.0.3.0/24"; "" = unknown (own domain)
	Free   int64   // advertised free bytes
	Score  float64 // reputation in [0,1]; nodes with Score <= 0 are never chosen
}

// Rules constrain one call to Place.
type Rules struct {
	N         int      // shards to place, one per distinct node
	ShardSize int64    // a node needs Free >= ShardSize
	Exclude   []NodeID // nodes never to use (e.g. ones that just failed)
}

// Place returns r.N distinct indices into cands, one node per shard of a segment
// (out[i] receives shard i).
//
// A candidate is eligible if it is not excluded, has Score > 0 and Free >= ShardSize;
// if an ID occurs more than once, only its first eligible entry in (ID, Subnet, Free,
// Score) order counts. Nodes are taken round-robin over subnets: every subnet gets one
// node before any gets a second, so the number of distinct subnets used is
// min(N, eligible subnets) and shards stay as evenly spread over subnets as capacity
// allows. Each pick is a power-of-two choice: two contenders are drawn, the higher
// Score wins, on equal Score the one with less Free loses.
//
// The result depends only on the candidate set, r and the rng state, not on the order
// of cands. If fewer than N nodes are eligible, Place returns a *TooFewError.
func Place(cands []Candidate, r Rules, rng *rand.Rand) ([]int, error) {
	if r.N < 0 {
		return nil, fmt.Errorf("reputation: invalid shard count %d", r.N)
	}
	doms, have, rej := eligibleDomains(cands, r)
	if have < r.N {
		return nil, &TooFewError{Need: r.N, Have: have, Reason: reason(r.ShardSize, rej)}
	}

	out := make([]int, 0, r.N)
	var open []int // domains not yet used in this round that still have nodes
	for len(out) < r.N {
		if len(open) == 0 {
			// Start a new round. have >= N guarantees some domain still has nodes.
			for d := range doms {
				if len(doms[d]) > 0 {
					open = append(open, d)
				}
			}
		}
		o, k := draw(doms, open, rng)
		if o2, k2 := draw(doms, open, rng); better(&cands[doms[open[o2]][k2]], &cands[doms[open[o]][k]]) {
			o, k = o2, k2
		}
		d := open[o]
		out = append(out, doms[d][k])
		doms[d] = swapRemove(doms[d], k)
		open = swapRemove(open, o)
	}
	return out, nil
}

// eligibleDomains groups the eligible candidates into diversity domains. Domains and
// their members are ordered by sorted candidate order, so nothing depends on the input
// order or on map iteration.
func eligibleDomains(cands []Candidate, r Rules) (doms [][]int, have int, rej rejections) {
	order := make([]int, len(cands))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return compareCand(&cands[a], &cands[b]) })

	excluded := make(map[NodeID]bool, len(r.Exclude))
	for _, id := range r.Exclude {
		excluded[id] = true
	}
	seen := make(map[NodeID]bool, len(cands))
	domOf := make(map[string]int)
	for _, i := range order {
		c := &cands[i]
		switch {
		case excluded[c.ID]:
			rej.excluded++
			continue
		case !(c.Score > 0): // also rejects NaN
			rej.unscored++
			continue
		case c.Free < r.ShardSize:
			continue // the TooFewError text already names the space requirement
		case seen[c.ID]:
			rej.duplicate++
			continue
		}
		seen[c.ID] = true
		have++
		if c.Subnet == "" {
			doms = append(doms, []int{i}) // unknown subnet: its own domain
			continue
		}
		d, ok := domOf[c.Subnet]
		if !ok {
			d = len(doms)
			domOf[c.Subnet] = d
			doms = append(doms, nil)
		}
		doms[d] = append(doms[d], i)
	}
	return doms, have, rej
}

// draw picks a contender: a uniformly random open domain, then a uniformly random node
// in it. Drawing the domain first keeps a subnet packed with many nodes (cheap Sybils)
// from being more likely to win a slot than a subnet with one node.
// It returns the position in open and the position in that domain's node list.
func draw(doms [][]int, open []int, rng *rand.Rand) (o, k int) {
	o = rng.IntN(len(open))
	return o, rng.IntN(len(doms[open[o]]))
}

// better reports whether a should win over b in a power-of-two choice.
func better(a, b *Candidate) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.Free > b.Free
}

func compareCand(a, b *Candidate) int {
	return cmp.Or(
		cmp.Compare(a.ID, b.ID),
		cmp.Compare(a.Subnet, b.Subnet),
		cmp.Compare(a.Free, b.Free),
		cmp.Compare(a.Score, b.Score),
	)
}

// swapRemove deletes s[i] in O(1); order is not preserved, but the new order depends
// only on earlier draws, so determinism holds.
func swapRemove(s []int, i int) []int {
	last := len(s) - 1
	s[i] = s[last]
	return s[:last]
}
