package kad

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// BuildIdeal fills every node's table with what a converged go-libp2p-kbucket
// table holds: bucket b (CPL b) gets min(k, population) peers drawn uniformly
// from the nodes at CPL b, and the last bucket every node deeper, the bucket
// count being the least for which those fit in k (where kbucket stops
// splitting its last bucket). Each CPL's population is one range of ranks in
// the sorted IDs, so the build costs O(n·(log² n + B·k)) for B buckets, not
// O(n²). rng is consumed in node order, bucket order.
func BuildIdeal(s *Space, k int, rng *rand.Rand) (*Table, error) {
	var rs [64][2]int32
	return build(s, k, func(node int32) int {
		return idealBuckets(&rs, s.buckets(s.id[node], &rs), k)
	}, func(t *Table, node int32) {
		levels := s.buckets(s.id[node], &rs)
		last := t.Buckets(node) - 1
		for b := range last {
			g := t.first[node] + uint32(b)
			dst := t.slots[int(g)*k : int(g)*k+min(k, int(rs[b][1]-rs[b][0]))]
			sample(dst, s.order[rs[b][0]:rs[b][1]], rng)
			t.fill[g] = uint8(len(dst))
		}
		g := t.first[node] + uint32(last)
		for b := last; b < levels; b++ { // at most k in all: copied, no draws
			for _, p := range s.order[rs[b][0]:rs[b][1]] {
				t.slots[int(g)*k+int(t.fill[g])] = p
				t.fill[g]++
			}
		}
	})
}

// idealBuckets is the bucket count of a converged kbucket table given the rank
// ranges of each CPL's population: one more than the least CPL c such that
// every node at CPL ≥ c fits in one bucket of k.
func idealBuckets(rs *[64][2]int32, levels, k int) int {
	return lastBucket(func(b int) int { return int(rs[b][1] - rs[b][0]) }, levels, k) + 1
}

// lastBucket is the least c ≤ levels with pop(c) + … + pop(levels-1) ≤ k.
func lastBucket(pop func(b int) int, levels, k int) int {
	c, acc := levels, 0
	for b := levels - 1; b >= 0; b-- {
		if acc += pop(b); acc > k {
			break
		}
		c = b
	}
	return c
}

// FromContacts builds a table from each node's known peers (a real routing
// table, say, to replay the real DHT's state in the model): each node keeps the
// first k of its contacts at each CPL, in the order given, skipping itself and
// repeats, and has as many buckets as a kbucket table holding them needs (the
// kept peers at the deepest CPLs share the last bucket).
func FromContacts(s *Space, k int, contacts func(node int32) []int32) (*Table, error) {
	n := s.Len()
	for i := range n {
		for _, p := range contacts(int32(i)) {
			if p < 0 || int(p) >= n {
				return nil, fmt.Errorf("kad: node %d lists peer %d of %d", i, p, n)
			}
		}
	}
	// last[p] is the stamp of the pass and node whose contacts last held p:
	// node+1 in the first pass, -(node+1) in the second.
	last := make([]int32, n)
	var count [64]int
	keep := func(node, stamp int32, visit func(b int, p int32)) int {
		count = [64]int{}
		levels := 0
		for _, p := range contacts(node) {
			if p == node || last[p] == stamp {
				continue
			}
			last[p] = stamp
			b := CommonPrefixLen(s.id[node], s.id[p])
			if count[b] == k {
				continue
			}
			count[b]++
			levels = max(levels, b+1)
			if visit != nil {
				visit(b, p)
			}
		}
		return levels
	}
	return build(s, k, func(node int32) int {
		levels := keep(node, node+1, nil)
		return lastBucket(func(b int) int { return count[b] }, levels, k) + 1
	}, func(t *Table, node int32) {
		nb := t.Buckets(node)
		keep(node, -(node + 1), func(b int, p int32) {
			g := t.first[node] + uint32(min(b, nb-1))
			t.slots[int(g)*k+int(t.fill[g])] = p
			t.fill[g]++
		})
	})
}

// build lays out a table in two passes over the nodes: buckets gives each
// node's bucket count, then fill writes its peers.
func build(s *Space, k int, buckets func(int32) int, fill func(*Table, int32)) (*Table, error) {
	if k < 1 || k > math.MaxUint8 {
		return nil, fmt.Errorf("kad: bucket size %d, want 1..255", k)
	}
	n := s.Len()
	t := &Table{space: s, k: k, first: make([]uint32, n), nb: make([]uint8, n)}
	total := 0
	for i := range n {
		b := buckets(int32(i))
		t.first[i], t.nb[i] = uint32(total), uint8(b)
		if total += b; total*k > math.MaxUint32 {
			return nil, fmt.Errorf("kad: routing tables of %d nodes exceed 2^32 entries", n)
		}
	}
	t.fill = make([]uint8, total)
	t.slots = make([]int32, total*k)
	for i := range n {
		fill(t, int32(i))
	}
	return t, nil
}

// Extend gives each node the Space gained since the table was built (an
// arrival) an empty table with the buckets a converged kbucket table of it
// would have in today's population (departed nodes included: an estimate).
func (t *Table) Extend() error {
	var rs [64][2]int32
	for i := len(t.nb); i < t.space.Len(); i++ {
		nb := idealBuckets(&rs, t.space.buckets(t.space.id[i], &rs), t.k)
		if (len(t.fill)+nb)*t.k > math.MaxUint32 {
			return fmt.Errorf("kad: routing tables of %d nodes exceed 2^32 entries", i+1)
		}
		t.first = append(t.first, uint32(len(t.fill)))
		t.nb = append(t.nb, uint8(nb))
		t.fill = append(t.fill, make([]uint8, nb)...)
		t.slots = append(t.slots, make([]int32, nb*t.k)...)
	}
	return nil
}

// Reserve makes room for nodes more tables (at the present mean bucket count
// plus one), so a run that expects arrivals does not regrow, and briefly
// double, its largest array.
func (t *Table) Reserve(nodes int) {
	if nodes <= 0 || len(t.nb) == 0 {
		return
	}
	buckets := (len(t.fill)/len(t.nb) + 1) * nodes
	t.first = slices.Grow(t.first, nodes)
	t.nb = slices.Grow(t.nb, nodes)
	t.fill = slices.Grow(t.fill, buckets)
	t.slots = slices.Grow(t.slots, buckets*t.k)
}

// buckets writes the rank range of each of x's buckets into out and returns
// how many buckets x has: down to the CPL below which only x is left.
func (s *Space) buckets(x uint64, out *[64][2]int32) int {
	lo, hi := 0, len(s.sorted)
	if hi <= 1 {
		return 0
	}
	for b := range 64 {
		bit := 63 - b
		m := s.split(lo, hi, bit)
		if x>>bit&1 == 0 {
			out[b] = [2]int32{int32(m), int32(hi)}
			hi = m
		} else {
			out[b] = [2]int32{int32(lo), int32(m)}
			lo = m
		}
		if hi-lo <= 1 {
			return b + 1
		}
	}
	return 64
}

// sample fills dst with len(dst) distinct members of from, uniformly (Floyd's
// algorithm; dst first holds offsets into from).
func sample(dst, from []int32, rng *rand.Rand) {
	m, k := len(from), len(dst)
	if m <= k {
		copy(dst, from)
		return
	}
	j := 0
	for r := m - k; r < m; r++ {
		x := int32(rng.IntN(r + 1))
		if slices.Contains(dst[:j], x) {
			x = int32(r)
		}
		dst[j] = x
		j++
	}
	for i, x := range dst {
		dst[i] = from[x]
	}
}
