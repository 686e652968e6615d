package kad

import (
	"cmp"
	"math"
	"slices"
)

// Default parameters, as go-libp2p-kad-dht (amino.DefaultBucketSize,
// DefaultConcurrency, DefaultResiliency).
const (
	DefaultK     = 20
	DefaultAlpha = 10
	DefaultBeta  = 3
)

// Table holds every node's routing table, laid out as go-libp2p-kbucket's: a
// node has buckets 0 … Buckets-1, bucket b < Buckets-1 holding up to K peers at
// CPL b and the last bucket up to K peers at every deeper CPL. Node i's
// buckets are the global buckets first[i] … first[i]+nb[i]-1; global bucket g
// owns slots[g·K : g·K+K], of which the first fill[g] are in use.
type Table struct {
	space *Space
	k     int
	first []uint32 // node → its first global bucket
	nb    []uint8  // node → its bucket count (at least 1)
	fill  []uint8  // global bucket → entries in use
	slots []int32  // peers (node numbers)

	unused int // global buckets left behind by splits
}

// Space is the population the table routes over.
func (t *Table) Space() *Space { return t.space }

// K is the bucket size, which is also how many peers a node returns to a query.
func (t *Table) K() int { return t.k }

// Len is the number of nodes with a table (Extend catches up with the Space).
func (t *Table) Len() int { return len(t.nb) }

// Buckets is the number of buckets node has: CPL 0 … Buckets-2, then the last
// one for every deeper CPL.
func (t *Table) Buckets(node int32) int { return int(t.nb[node]) }

// Bucket is node's bucket b, in insertion order. It aliases the table: read it,
// do not keep it across Add, Remove or Replace.
func (t *Table) Bucket(node int32, b int) []int32 {
	g := int(t.first[node]) + b
	return t.slots[g*t.k : g*t.k+int(t.fill[g])]
}

// Cap is the capacity of node's bucket b: K, as in go-libp2p-kbucket.
func (t *Table) Cap(node int32, b int) int { return t.k }

// Size is the number of peers in node's table.
func (t *Table) Size(node int32) int {
	n := 0
	for g := t.first[node]; g < t.first[node]+uint32(t.nb[node]); g++ {
		n += int(t.fill[g])
	}
	return n
}

// Unused is the number of buckets splits left behind (their memory is held
// but serves nobody).
func (t *Table) Unused() int { return t.unused }

// Bytes is the memory the table holds (not counting its Space).
func (t *Table) Bytes() int {
	return 4*cap(t.first) + cap(t.nb) + cap(t.fill) + 4*cap(t.slots)
}

// bucketOf is the global bucket peer belongs in at node (the last one for
// every CPL at or past it), or false when peer is node.
func (t *Table) bucketOf(node, peer int32) (uint32, bool) {
	if node == peer {
		return 0, false
	}
	b := min(CommonPrefixLen(t.space.id[node], t.space.id[peer]), int(t.nb[node])-1)
	return t.first[node] + uint32(b), true
}

func (t *Table) entries(g uint32) []int32 {
	base := int(g) * t.k
	return t.slots[base : base+int(t.fill[g])]
}

func (t *Table) find(g uint32, peer int32) int { return slices.Index(t.entries(g), peer) }

// Has reports whether node's table holds peer.
func (t *Table) Has(node, peer int32) bool {
	g, ok := t.bucketOf(node, peer)
	return ok && t.find(g, peer) >= 0
}

// Add puts peer in node's table if its bucket has room and does not hold it,
// as go-libp2p-kbucket's TryAddPeer (no replaceable peers): a full bucket
// refuses, except the last, which is first unfolded (split).
func (t *Table) Add(node, peer int32) bool {
	g, ok := t.bucketOf(node, peer)
	if !ok || t.find(g, peer) >= 0 {
		return false
	}
	if int(t.fill[g]) == t.k {
		if g != t.first[node]+uint32(t.nb[node])-1 || !t.split(node) {
			return false
		}
		if g, _ = t.bucketOf(node, peer); int(t.fill[g]) == t.k {
			return false
		}
	}
	t.slots[int(g)*t.k+int(t.fill[g])] = peer
	t.fill[g]++
	return true
}

// split unfolds node's full last bucket as kbucket's nextBucket does: the
// peers deeper than it move to a new last bucket, again while that one is
// full. The node's buckets move to the end of the arrays, leaving their old
// place unused (a split is rare: a few per node over a run with arrivals).
// It reports false when there is nothing to unfold or no room left.
func (t *Table) split(node int32) bool {
	nb, k := int(t.nb[node]), t.k
	last := t.first[node] + uint32(nb) - 1
	id := t.space.id[node]
	var deeper [65]int // deeper[c]: entries of the last bucket at CPL ≥ c
	for _, p := range t.entries(last) {
		deeper[CommonPrefixLen(id, t.space.id[p])]++
	}
	for c := 63; c >= 0; c-- {
		deeper[c] += deeper[c+1]
	}
	j := nb
	for j < 64 && deeper[j] >= k {
		j++
	}
	if deeper[j] >= k || (len(t.fill)+j+1)*k > math.MaxUint32 {
		return false
	}
	first := uint32(len(t.fill))
	t.fill = append(t.fill, make([]uint8, j+1)...)
	t.slots = append(t.slots, make([]int32, (j+1)*k)...)
	old := t.first[node]
	t.first[node], t.nb[node] = first, uint8(j+1)
	for b := range nb - 1 {
		n := copy(t.slots[(int(first)+b)*k:(int(first)+b+1)*k], t.entries(old+uint32(b)))
		t.fill[int(first)+b] = uint8(n)
	}
	for _, p := range t.entries(last) {
		g := first + uint32(min(CommonPrefixLen(id, t.space.id[p]), j))
		t.slots[int(g)*k+int(t.fill[g])] = p
		t.fill[g]++
	}
	for g := old; g <= last; g++ {
		t.fill[g] = 0
	}
	t.unused += nb
	return true
}

// Remove takes peer out of node's table, keeping the order of the rest.
func (t *Table) Remove(node, peer int32) bool {
	g, ok := t.bucketOf(node, peer)
	if !ok {
		return false
	}
	i := t.find(g, peer)
	if i < 0 {
		return false
	}
	b := t.entries(g)
	copy(b[i:], b[i+1:])
	t.fill[g]--
	return true
}

// Replace puts peer in dead's place in node's table (a bucket refresh that
// found a substitute). Both must belong in the same bucket, dead must be there
// and peer must not.
func (t *Table) Replace(node, dead, peer int32) bool {
	g, ok := t.bucketOf(node, dead)
	if !ok {
		return false
	}
	if h, ok := t.bucketOf(node, peer); !ok || h != g || t.find(g, peer) >= 0 {
		return false
	}
	i := t.find(g, dead)
	if i < 0 {
		return false
	}
	t.entries(g)[i] = peer
	return true
}

// cand is a peer and its distance to a key.
type cand struct {
	dist uint64
	node int32
}

// Nearest appends to dst the count peers in node's table closest to key,
// nearest first, never exclude (the requester, which go-libp2p-kad-dht leaves
// out of its answers; -1 for none). Like go-libp2p-kbucket's NearestPeers it
// reads bucket CPL(node, key) first, then the deeper buckets, then shallower
// ones until it has enough, and sorts.
func (t *Table) Nearest(dst []int32, node int32, key uint64, count int, exclude int32) []int32 {
	for _, c := range t.nearest(nil, node, key, count, exclude) {
		dst = append(dst, c.node)
	}
	return dst
}

// nearest is Nearest with distances, into scratch.
func (t *Table) nearest(scratch []cand, node int32, key uint64, count int, exclude int32) []cand {
	cs := scratch[:0]
	nb := t.Buckets(node)
	if count <= 0 {
		return cs
	}
	add := func(b int) {
		for _, p := range t.Bucket(node, b) {
			if p != exclude {
				cs = append(cs, cand{t.space.id[p] ^ key, p})
			}
		}
	}
	// Groups in increasing distance: bucket c, then all deeper buckets (their
	// peers share exactly c bits with key), then c-1, c-2, …; sort each group
	// and stop once count are in. When c is the last bucket it holds every
	// deeper CPL, which sorting the group orders.
	c := min(CommonPrefixLen(t.space.id[node], key), nb-1)
	add(c)
	sortCands(cs)
	if len(cs) < count {
		at := len(cs)
		for b := c + 1; b < nb; b++ {
			add(b)
		}
		sortCands(cs[at:])
	}
	for b := c - 1; b >= 0 && len(cs) < count; b-- {
		at := len(cs)
		add(b)
		sortCands(cs[at:])
	}
	return cs[:min(count, len(cs))]
}

// sortCands sorts by distance: insertion sort for the usual bucket-sized runs.
func sortCands(cs []cand) {
	if len(cs) > 32 {
		slices.SortFunc(cs, func(a, b cand) int { return cmp.Compare(a.dist, b.dist) })
		return
	}
	for i := 1; i < len(cs); i++ {
		x := cs[i]
		j := i
		for ; j > 0 && cs[j-1].dist > x.dist; j-- {
			cs[j] = cs[j-1]
		}
		cs[j] = x
	}
}
