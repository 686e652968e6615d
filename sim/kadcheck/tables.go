package kadcheck

import (
	"fmt"
	"slices"

	"gonum.org/v1/gonum/stat"

	"github.com/cairn-storage/cairn/sim/kad"
)

// snapshot holds the real routing tables as node numbers and the model Table
// built from them, rebuilt only when a real table has changed.
type snapshot struct {
	space    *kad.Space
	k        int
	contacts [][]int32 // node → its real table, bucket by bucket
	scratch  []int32
	table    *kad.Table
	changes  int // tables found changed since the first snapshot
}

// update reads every node's real table; it rebuilds the model Table if any
// differ from the last read and reports whether it did.
func (s *snapshot) update(nw *network) (bool, error) {
	changed := s.table == nil
	stray := 0
	for i := range nw.dhts {
		s.scratch = nw.contacts(s.scratch[:0], i, &stray)
		if s.table != nil && slices.Equal(s.scratch, s.contacts[i]) {
			continue
		}
		if s.table != nil {
			s.changes++
		}
		s.contacts[i] = append(s.contacts[i][:0], s.scratch...)
		changed = true
	}
	if stray > 0 {
		return false, fmt.Errorf("kadcheck: %d routing-table entries are not nodes of the network", stray)
	}
	if !changed {
		return false, nil
	}
	t, err := kad.FromContacts(s.space, s.k, func(node int32) []int32 { return s.contacts[node] })
	if err != nil {
		return false, err
	}
	// FromContacts keeps at most K a CPL; a real bucket never holds more, so
	// every entry must survive or the model would route over other tables.
	for i, cs := range s.contacts {
		if kept := entries(t, int32(i)); kept != len(cs) {
			return false, fmt.Errorf("kadcheck: node %d: model table keeps %d of its %d real entries", i, kept, len(cs))
		}
	}
	s.table = t
	return true, nil
}

// entries is how many peers node's table holds.
func entries(t *kad.Table, node int32) int {
	n := 0
	for b := range t.Buckets(node) {
		n += len(t.Bucket(node, b))
	}
	return n
}

// statsOf summarizes a table: mean entries a node and, for each CPL, the
// mean entries at that CPL over K (counted by CPL, whatever bucket holds them).
func statsOf(t *kad.Table) TableStats {
	s := t.Space()
	n := s.Len()
	var st TableStats
	var fill []float64
	for i := range n {
		node := int32(i)
		for b := range t.Buckets(node) {
			for _, p := range t.Bucket(node, b) {
				c := kad.CommonPrefixLen(s.ID(node), s.ID(p))
				for len(fill) <= c {
					fill = append(fill, 0)
				}
				fill[c]++
				st.MeanEntries++
			}
		}
	}
	st.MeanEntries /= float64(n)
	in := make([]float64, n)
	for i := range n {
		for b := range t.Buckets(int32(i)) {
			for _, p := range t.Bucket(int32(i), b) {
				in[p]++
			}
		}
	}
	// Pairs of peers in one bucket share CPL+1 bits at least; a sample
	// spread over the bucket's range shares about one more, a cluster more.
	pairs := 0.0
	for i := range n {
		if t.Buckets(int32(i)) < 2 {
			continue
		}
		bk := t.Bucket(int32(i), 0)
		for a := range bk {
			for _, q := range bk[a+1:] {
				st.Bucket0PairCPL += float64(kad.CommonPrefixLen(s.ID(bk[a]), s.ID(q)))
				pairs++
			}
		}
	}
	st.Bucket0PairCPL /= max(1, pairs)
	mean, sd := stat.MeanStdDev(in, nil)
	st.InDegreeCV = sd / mean
	st.InDegreeMax = int(slices.Max(in))
	for c := range fill {
		fill[c] /= float64(n) * float64(t.K())
	}
	st.BucketFill = fill
	return st
}
