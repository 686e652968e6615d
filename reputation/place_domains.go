package reputation

import "slices"

// pool separates vetted nodes from newcomers inside a diversity domain.
type pool int

const (
	vetted pool = iota
	unvetted
)

// domain holds the eligible candidates of one diversity domain, as indices into the
// candidates, per pool.
type domain [2][]int

func (d *domain) size() int { return len(d[vetted]) + len(d[unvetted]) }

// count adds delta to the tally of each pool d has nodes of.
func (d *domain) count(tally *[2]int, delta int) {
	for p := range d {
		if len(d[p]) > 0 {
			tally[p] += delta
		}
	}
}

func poolOf(c *Candidate) pool {
	if c.Vetted {
		return vetted
	}
	return unvetted
}

// eligibleDomains groups the eligible candidates into diversity domains. Domains and
// their members are ordered by sorted candidate order, so nothing depends on the input
// order or on map iteration.
func eligibleDomains(cands []Candidate, r Rules) (doms []domain, have int, rej rejections) {
	order := make([]int, len(cands))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return compareCand(&cands[a], &cands[b]) })

	excluded := make(map[NodeID]bool, len(r.Exclude))
	for _, id := range r.Exclude {
		excluded[id] = true
	}
	// Sorted by ID first, a node's entries are adjacent: the first eligible one is taken and
	// any later one is a duplicate.
	var taken NodeID
	anyTaken := false
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
		case anyTaken && c.ID == taken:
			rej.duplicate++
			continue
		}
		taken, anyTaken = c.ID, true
		have++
		d := len(doms)
		if c.Subnet != "" { // unknown subnet: its own domain
			if known, ok := domOf[c.Subnet]; ok {
				d = known
			} else {
				domOf[c.Subnet] = d
			}
		}
		if d == len(doms) {
			doms = append(doms, domain{})
		}
		p := poolOf(c)
		doms[d][p] = append(doms[d][p], i)
	}
	return doms, have, rej
}
