package manifest

import (
	"fmt"
)

// Verify checks everything: structure, that the record is for m, the
// steward chain, and every entry: the holder's receipt is valid for m, each
// endorsement is a valid signature by the Owner or a chain member, and the
// Owner or a strict majority of one steward set endorsed it. It also checks
// the per-shard holder limit and the size bound, so a verified record
// encodes within MaxLocationsSize(m).
func (l *Locations) Verify(m *Manifest) error {
	if err := l.validate(); err != nil {
		return err
	}
	v, err := viewOf(m)
	if err != nil {
		return fmt.Errorf("locations: %w", err)
	}
	if !l.Manifest.Equals(v.id) {
		return fmt.Errorf("locations: record is for manifest %s, not %s", l.Manifest, v.id)
	}
	if _, err := verifyChain(v, l.Stewards); err != nil {
		return fmt.Errorf("locations: %w", err)
	}
	au := &authority{owner: m.Owner, chain: l.Stewards}
	for i := range l.Entries {
		e := &l.Entries[i]
		if err := verifyEntry(v, au, e); err != nil {
			return fmt.Errorf("locations: %w", entryErr(i, e.Receipt.Holder, "%w", err))
		}
	}
	counts := make([]uint8, m.shardCount())
	for i := range l.Entries {
		for _, p := range l.Entries[i].Receipt.Positions {
			if counts[p]++; counts[p] > MaxHoldersPerShard {
				seg, j := int(p)/m.N, int(p)%m.N
				return fmt.Errorf("locations: segment %d shard %d has more than %d holders", seg, j, MaxHoldersPerShard)
			}
		}
	}
	if size, max := l.accountedSize(), locationsLimit(m); size > max {
		return fmt.Errorf("locations: record takes %d bytes, max %d for this manifest", size, max)
	}
	return nil
}

// verifyEntry checks one entry in full; errors do not repeat the entry.
func verifyEntry(v *manifestView, au *authority, e *Entry) error {
	r := &e.Receipt
	if err := r.verify(v); err != nil {
		return fmt.Errorf("receipt: %w", err)
	}
	msg := endorseBytes(v.id, r)
	for _, s := range e.Endorsements {
		if !au.knows(s.Signer) {
			return fmt.Errorf("endorsement by %s, who is neither the owner nor a steward", s.Signer)
		}
		if err := verifySig(s.Signer, msg, s.Sig); err != nil {
			return fmt.Errorf("endorsement: %w", err)
		}
	}
	if au.justifying(e.Endorsements) == nil {
		return errNotEndorsed
	}
	return nil
}

// locationsLimit is MaxLocationsSize; tests lower it, since reaching the
// real limit takes tens of thousands of signatures.
var locationsLimit = MaxLocationsSize

// accountedSize bounds the record's encoding from above: the exact bytes of
// its chain and entries plus the widest record overhead. Verify and Merge
// both apply the size limit to this number, so Merge keeps every valid
// record whole and the real encoding is never larger.
func (l *Locations) accountedSize() int {
	n := recordOverhead + chainSize(l.Stewards)
	for i := range l.Entries {
		n += entrySize(&l.Entries[i])
	}
	return n
}

func chainSize(chain []StewardSet) int {
	n := 0
	for i := range chain {
		b, err := marshal(chain[i].wire())
		if err != nil {
			panic(fmt.Sprintf("manifest: encode steward set: %v", err)) // ints and byte strings only
		}
		n += len(b)
	}
	return n
}

func entrySize(e *Entry) int {
	b, err := marshal(e.wire())
	if err != nil {
		panic(fmt.Sprintf("manifest: encode entry: %v", err)) // ints and byte strings only
	}
	return len(b)
}
