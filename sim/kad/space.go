package kad

import (
	"cmp"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// MaxNodes bounds a Space: node numbers are int32 and a Table's slot offsets
// uint32 (about 400 slots per node at K = 20).
const MaxNodes = 1 << 23

// Space is the population: each node's ID, and the IDs in ascending order so
// that every prefix (hence every bucket and every XOR ball around a key) is one
// contiguous range of ranks.
type Space struct {
	id     []uint64 // node → ID
	sorted []uint64 // rank → ID, ascending
	order  []int32  // rank → node
}

// NewSpace takes the nodes' IDs (node i has ids[i]); they must be distinct.
func NewSpace(ids []uint64) (*Space, error) {
	n := len(ids)
	if n == 0 {
		return nil, errors.New("kad: no nodes")
	}
	if n > MaxNodes {
		return nil, fmt.Errorf("kad: %d nodes, at most %d", n, MaxNodes)
	}
	s := &Space{id: slices.Clone(ids), sorted: make([]uint64, n), order: make([]int32, n)}
	for i := range s.order {
		s.order[i] = int32(i)
	}
	slices.SortFunc(s.order, func(a, b int32) int { return cmp.Compare(s.id[a], s.id[b]) })
	for r, i := range s.order {
		s.sorted[r] = s.id[i]
		if r > 0 && s.sorted[r] == s.sorted[r-1] {
			return nil, fmt.Errorf("kad: nodes %d and %d share ID %#x", s.order[r-1], i, s.id[i])
		}
	}
	return s, nil
}

// RandomSpace draws n distinct uniform IDs from rng.
func RandomSpace(n int, rng *rand.Rand) (*Space, error) {
	if n <= 0 || n > MaxNodes {
		return nil, fmt.Errorf("kad: %d nodes, want 1..%d", n, MaxNodes)
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = rng.Uint64()
	}
	for {
		dup := duplicates(ids)
		if len(dup) == 0 {
			break
		}
		// Redraw every later holder of a repeated ID, in node order (deterministic).
		first := make(map[uint64]bool, len(dup))
		for i, x := range ids {
			if !dup[x] {
				continue
			}
			if first[x] {
				ids[i] = rng.Uint64()
			}
			first[x] = true
		}
	}
	return NewSpace(ids)
}

func duplicates(ids []uint64) map[uint64]bool {
	s := slices.Clone(ids)
	slices.Sort(s)
	var dup map[uint64]bool
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			if dup == nil {
				dup = make(map[uint64]bool)
			}
			dup[s[i]] = true
		}
	}
	return dup
}

// Add gives a new node (an arrival) the ID id, which no node may have, and
// returns its number: the Len before the call. It shifts the sorted arrays,
// O(n): fine for arrivals by the thousand, not for building a population.
func (s *Space) Add(id uint64) (int32, error) {
	if len(s.id) >= MaxNodes {
		return -1, fmt.Errorf("kad: %d nodes already, at most %d", len(s.id), MaxNodes)
	}
	r, found := slices.BinarySearch(s.sorted, id)
	if found {
		return -1, fmt.Errorf("kad: node %d already has ID %#x", s.order[r], id)
	}
	node := int32(len(s.id))
	s.id = append(s.id, id)
	s.sorted = slices.Insert(s.sorted, r, id)
	s.order = slices.Insert(s.order, r, node)
	return node, nil
}

// Taken reports whether some node has ID id.
func (s *Space) Taken(id uint64) bool {
	_, found := slices.BinarySearch(s.sorted, id)
	return found
}

// Len is the number of nodes.
func (s *Space) Len() int { return len(s.id) }

// ID is node's ID.
func (s *Space) ID(node int32) uint64 { return s.id[node] }

// Bytes is the memory the Space holds.
func (s *Space) Bytes() int { return 8*cap(s.id) + 8*cap(s.sorted) + 4*cap(s.order) }

// CommonPrefixLen is the number of leading bits a and b share: the bucket b
// falls in for a node with ID a (64 when a == b). Larger is closer.
func CommonPrefixLen(a, b uint64) int { return bits.LeadingZeros64(a ^ b) }

// split returns the first rank in [lo, hi) whose ID has bit set, given that
// all IDs in the range agree on the bits above it (so the bit is sorted).
func (s *Space) split(lo, hi, bit int) int {
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.sorted[m]>>bit&1 == 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// prefixRange is the ranks [lo, hi) of the IDs that share x's first bits bits.
func (s *Space) prefixRange(x uint64, bits int) (lo, hi int) {
	if bits <= 0 {
		return 0, len(s.sorted)
	}
	low := ^uint64(0) >> bits // 0 when bits is 64
	lo, _ = slices.BinarySearch(s.sorted, x&^low)
	hi, found := slices.BinarySearch(s.sorted, x|low)
	if found {
		hi++
	}
	return lo, hi
}

// Closest appends to dst the k nodes closest to key in XOR distance, nearest
// first, considering only nodes for which ok is true (all nodes if ok is nil),
// and returns it: the exact mode. It walks the binary trie of the sorted IDs
// nearest side first and stops after k accepted nodes, so it costs one binary
// search per level it descends, O(log² n) at worst, plus the nodes it rejects.
func (s *Space) Closest(dst []int32, key uint64, k int, ok func(int32) bool) []int32 {
	if k <= 0 {
		return dst
	}
	w := walker{s: s, key: key, want: len(dst) + k, ok: ok, out: dst}
	w.visit(0, len(s.sorted), 63)
	return w.out
}

// leafSize is the range size below which the walk sorts instead of splitting.
const leafSize = 16

type walker struct {
	s    *Space
	key  uint64
	want int
	ok   func(int32) bool
	out  []int32
	leaf [leafSize]int32
}

// visit emits the nodes of ranks [lo, hi), which agree on every bit above bit,
// in increasing distance to key, until want nodes are out.
func (w *walker) visit(lo, hi, bit int) {
	if len(w.out) >= w.want || lo >= hi {
		return
	}
	if hi-lo <= leafSize || bit < 0 {
		leaf := w.leaf[:0]
		for r := lo; r < hi; r++ {
			leaf = append(leaf, int32(r))
		}
		for i := 1; i < len(leaf); i++ { // insertion sort by distance
			for j := i; j > 0 && w.s.sorted[leaf[j]]^w.key < w.s.sorted[leaf[j-1]]^w.key; j-- {
				leaf[j], leaf[j-1] = leaf[j-1], leaf[j]
			}
		}
		for _, r := range leaf {
			node := w.s.order[r]
			if w.ok == nil || w.ok(node) {
				w.out = append(w.out, node)
				if len(w.out) >= w.want {
					return
				}
			}
		}
		return
	}
	m := w.s.split(lo, hi, bit)
	if w.key>>bit&1 == 0 {
		w.visit(lo, m, bit-1)
		w.visit(m, hi, bit-1)
	} else {
		w.visit(m, hi, bit-1)
		w.visit(lo, m, bit-1)
	}
}
