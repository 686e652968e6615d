package kad

import (
	"cmp"
	"slices"
)

// Default parameters, as go-libp2p-kad-dht (amino.DefaultBucketSize,
// DefaultConcurrency, DefaultResiliency).
const (
	DefaultK     = 20
	DefaultAlpha = 10
	DefaultBeta  = 3
)

// Table holds every node's routing table. Node i's buckets are the global
// buckets first[i] … first[i+1]-1, bucket b of a node holding peers at CPL b;
// global bucket g owns slots[off[g]:off[g+1]] of which the first fill[g] are in
// use. A node has buckets up to its deepest non-empty CPL at construction.
type Table struct {
	space *Space
	k     int
	first []uint32 // node → its first global bucket; len n+1
	off   []uint32 // global bucket → its first slot; len buckets+1
	fill  []uint8  // global bucket → entries in use
	slots []int32  // peers (node numbers)
}

// Space is the population the table routes over.
func (t *Table) Space() *Space { return t.space }

// K is the bucket size, which is also how many peers a node returns to a query.
func (t *Table) K() int { return t.k }

// Buckets is the number of buckets node has (CPL 0 … Buckets-1).
func (t *Table) Buckets(node int32) int { return int(t.first[node+1] - t.first[node]) }

// Bucket is node's bucket b, in insertion order. It aliases the table: read it,
// do not keep it across Add, Remove or Replace.
func (t *Table) Bucket(node int32, b int) []int32 {
	g := t.first[node] + uint32(b)
	return t.slots[t.off[g] : t.off[g]+uint32(t.fill[g])]
}

// Cap is the capacity of node's bucket b: min(K, the peers at that CPL when the
// table was built).
func (t *Table) Cap(node int32, b int) int {
	g := t.first[node] + uint32(b)
	return int(t.off[g+1] - t.off[g])
}

// Bytes is the memory the table holds (not counting its Space).
func (t *Table) Bytes() int {
	return 4*cap(t.first) + 4*cap(t.off) + cap(t.fill) + 4*cap(t.slots)
}

// bucketOf is the global bucket peer belongs in at node, or false when node has
// no such bucket (peer is node itself, or deeper than any bucket node has).
func (t *Table) bucketOf(node, peer int32) (uint32, bool) {
	b := CommonPrefixLen(t.space.id[node], t.space.id[peer])
	if node == peer || b >= t.Buckets(node) {
		return 0, false
	}
	return t.first[node] + uint32(b), true
}

func (t *Table) find(g uint32, peer int32) int {
	return slices.Index(t.slots[t.off[g]:t.off[g]+uint32(t.fill[g])], peer)
}

// Add puts peer in node's table if its bucket has room and does not hold it.
func (t *Table) Add(node, peer int32) bool {
	g, ok := t.bucketOf(node, peer)
	if !ok || t.find(g, peer) >= 0 || uint32(t.fill[g]) == t.off[g+1]-t.off[g] {
		return false
	}
	t.slots[t.off[g]+uint32(t.fill[g])] = peer
	t.fill[g]++
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
	b := t.slots[t.off[g] : t.off[g]+uint32(t.fill[g])]
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
	t.slots[t.off[g]+uint32(i)] = peer
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
	if nb == 0 || count <= 0 {
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
	// and stop once count are in.
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
