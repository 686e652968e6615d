package manifest

import (
	"bytes"
	"slices"

	"github.com/ipfs/go-cid"
)

// Merge combines two copies of a record for m (either may be nil) into a
// valid one, without modifying them. Invalid entries are dropped, not
// fatal: a copy from a hostile peer can add nothing, and a copy missing
// entries loses nothing, because entries are united as a set.
//
//   - Chain: the longer valid prefix of the two chains; at equal length the
//     one with the lower canonical bytes.
//   - Entries: each kept if its receipt is valid for m and the Owner or a
//     majority of a steward set of that chain endorsed it (endorsements by
//     anyone else are dropped); per holder as Add. An entry left with more
//     than MaxStewards+1 endorsements keeps only those that justify it.
//   - Limits: if a shard would have more than MaxHoldersPerShard holders or
//     the record would exceed MaxLocationsSize(m), the newest receipts are
//     kept (a re-placed shard's fresh holder beats one that stopped
//     renewing).
//
// The result depends only on the set of inputs: Merge(m, a, b) encodes
// like Merge(m, b, a), and Merge(m, l, l) is l for a valid l. If m is
// invalid, the result is an empty record with an undefined manifest.
func Merge(m *Manifest, a, b *Locations) *Locations {
	v, err := viewOf(m)
	if err != nil {
		return NewLocations(cid.Undef)
	}
	out := NewLocations(v.id)
	out.Stewards = pickChain(v, a, b)
	au := &authority{owner: m.Owner, chain: out.Stewards}
	for _, l := range []*Locations{a, b} {
		if l == nil || !l.Manifest.Equals(v.id) {
			continue
		}
		for i := range l.Entries {
			if e, ok := admit(v, au, &l.Entries[i]); ok {
				out.Add(e)
			}
		}
	}
	for i := range out.Entries {
		if e := &out.Entries[i]; len(e.Endorsements) > MaxStewards+1 {
			e.Endorsements = au.justifying(e.Endorsements)
		}
	}
	out.applyLimits(m)
	return out
}

// pickChain returns a copy of the better valid chain prefix of a and b.
func pickChain(v *manifestView, a, b *Locations) []StewardSet {
	var best []StewardSet
	var bestBytes []byte
	for _, l := range []*Locations{a, b} {
		if l == nil || !l.Manifest.Equals(v.id) {
			continue
		}
		n, _ := verifyChain(v, l.Stewards[:min(len(l.Stewards), MaxStewardEpochs)])
		chain := l.Stewards[:n]
		cb := chainBytes(chain)
		if len(chain) > len(best) || len(chain) == len(best) && best != nil && bytes.Compare(cb, bestBytes) < 0 {
			best, bestBytes = chain, cb
		}
	}
	return cloneChain(best)
}

func chainBytes(chain []StewardSet) []byte {
	var b []byte
	for i := range chain {
		enc, err := marshal(chain[i].wire())
		if err != nil {
			panic("manifest: encode steward set: " + err.Error()) // ints and byte strings only
		}
		b = append(b, enc...)
	}
	return b
}

// admit returns e reduced to what is valid under au, or false if its
// receipt is invalid or no longer justified.
func admit(v *manifestView, au *authority, e *Entry) (Entry, bool) {
	r := &e.Receipt
	if !r.Manifest.Equals(v.id) || r.verify(v) != nil {
		return Entry{}, false
	}
	msg := endorseBytes(v.id, r)
	var sigs []Signature
	for _, s := range e.Endorsements {
		if au.knows(s.Signer) && verifySig(s.Signer, msg, s.Sig) == nil {
			sigs = addSignature(sigs, s)
		}
	}
	if au.justifying(sigs) == nil {
		return Entry{}, false
	}
	return cloneEntry(Entry{Receipt: *r, Endorsements: sigs}), true
}

// applyLimits drops entries, oldest receipts first, until every shard has
// at most MaxHoldersPerShard holders and the record fits MaxLocationsSize.
// Entries are taken greedily newest first (ties by holder), so the result
// depends only on the set of entries.
func (l *Locations) applyLimits(m *Manifest) {
	order := make([]int, len(l.Entries))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ta, tb := l.Entries[a].Receipt.Time, l.Entries[b].Receipt.Time
		if ta != tb {
			if ta > tb {
				return -1
			}
			return 1
		}
		return a - b // entries are sorted by holder
	})
	counts := make([]uint8, m.shardCount())
	budget := locationsLimit(m) - recordOverhead - chainSize(l.Stewards)
	keep := make([]bool, len(l.Entries))
	for _, i := range order {
		e := &l.Entries[i]
		size := entrySize(e)
		if size > budget || !roomFor(counts, e.Receipt.Positions) {
			continue
		}
		budget -= size
		for _, p := range e.Receipt.Positions {
			counts[p]++
		}
		keep[i] = true
	}
	kept := l.Entries[:0]
	for i := range l.Entries {
		if keep[i] {
			kept = append(kept, l.Entries[i])
		}
	}
	l.Entries = nilIfEmpty(kept)
}

func roomFor(counts []uint8, positions []uint32) bool {
	for _, p := range positions {
		if counts[p] >= MaxHoldersPerShard {
			return false
		}
	}
	return true
}
