package kad

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// BuildIdeal fills every node's bucket b with min(k, population) peers drawn
// uniformly from the nodes at CPL b: the table a network converges to once its
// bucket refreshes have run. Each bucket's population is one range of ranks in
// the sorted IDs, so the build costs O(n·(log² n + B·k)) for B buckets, not
// O(n²). rng is consumed in node order, bucket order.
func BuildIdeal(s *Space, k int, rng *rand.Rand) (*Table, error) {
	var rs [64][2]int32
	return build(s, k, func(node int32, caps []uint8) []uint8 {
		nb := s.buckets(s.id[node], &rs)
		for b := range nb {
			caps = append(caps, uint8(min(k, int(rs[b][1]-rs[b][0]))))
		}
		return caps
	}, func(t *Table, node int32) {
		nb := s.buckets(s.id[node], &rs)
		for b := range nb {
			g := t.first[node] + uint32(b)
			dst := t.slots[t.off[g]:t.off[g+1]]
			sample(dst, s.order[rs[b][0]:rs[b][1]], rng)
			t.fill[g] = uint8(len(dst))
		}
	})
}

// FromContacts builds a table from each node's known peers (a real routing
// table, say, to replay the real DHT's state in the model): each node keeps the
// first k of its contacts at each CPL, in the order given, skipping itself and
// repeats. Capacities are what was kept.
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
		nb := 0
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
			nb = max(nb, b+1)
			if visit != nil {
				visit(b, p)
			}
		}
		return nb
	}
	return build(s, k, func(node int32, caps []uint8) []uint8 {
		nb := keep(node, node+1, nil)
		for b := range nb {
			caps = append(caps, uint8(count[b]))
		}
		return caps
	}, func(t *Table, node int32) {
		keep(node, -(node + 1), func(b int, p int32) {
			g := t.first[node] + uint32(b)
			t.slots[t.off[g]+uint32(t.fill[g])] = p
			t.fill[g]++
		})
	})
}

// build lays out a table in two passes over the nodes: caps appends each
// node's bucket capacities, then fill writes its peers.
func build(s *Space, k int, caps func(int32, []uint8) []uint8, fill func(*Table, int32)) (*Table, error) {
	if k < 1 || k > math.MaxUint8 {
		return nil, fmt.Errorf("kad: bucket size %d, want 1..255", k)
	}
	n := s.Len()
	t := &Table{space: s, k: k, first: make([]uint32, n+1)}
	var cs []uint8
	for i := range n {
		cs = caps(int32(i), cs)
		t.first[i+1] = uint32(len(cs))
	}
	t.off = make([]uint32, len(cs)+1)
	total := uint64(0)
	for g, c := range cs {
		total += uint64(c)
		if total > math.MaxUint32 {
			return nil, fmt.Errorf("kad: routing tables of %d nodes exceed 2^32 entries", n)
		}
		t.off[g+1] = uint32(total)
	}
	t.fill = make([]uint8, len(cs))
	t.slots = make([]int32, total)
	for i := range n {
		fill(t, int32(i))
	}
	return t, nil
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
