package manifest

import (
	"bytes"
	"math"
	"slices"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// MaxHoldersPerShard bounds how many holders a record may list for one
// shard, so a record's size follows from its manifest. It leaves room for
// repairs: Merge keeps the newest receipts when a shard has more.
const MaxHoldersPerShard = 4

// Entry is one holder's receipt with the endorsements that make it count.
type Entry struct {
	Receipt Receipt
	// Endorsements by the Owner or steward set members: sorted by signer,
	// distinct, at most MaxStewards+1.
	Endorsements []Signature
}

// Locations says which peers hold which shards of one manifest. Anyone
// may serve it; Verify checks every entry against the manifest, and Merge
// combines copies from different stewards as a set.
type Locations struct {
	Manifest cid.Cid
	Stewards []StewardSet // the chain, epochs 0..e consecutive
	Entries  []Entry      // at most one per holder, sorted by holder bytes
}

// NewLocations returns an empty record for manifest m.
func NewLocations(m cid.Cid) *Locations {
	return &Locations{Manifest: m}
}

// Add inserts e, or merges it with the entry of the same holder: the newer
// receipt wins; on equal Time the one whose canonical bytes sort lower; for
// the same receipt the endorsements are united. It checks nothing: Verify
// the record, or build it with Merge, before trusting it.
func (l *Locations) Add(e Entry) {
	e = cloneEntry(e)
	var sigs []Signature
	for _, s := range e.Endorsements {
		sigs = addSignature(sigs, s)
	}
	e.Endorsements = sigs
	i, found := slices.BinarySearchFunc(l.Entries, e.Receipt.Holder, func(x Entry, p peer.ID) int {
		return cmpID(x.Receipt.Holder, p)
	})
	if !found {
		l.Entries = slices.Insert(l.Entries, i, e)
		return
	}
	old := &l.Entries[i]
	switch c := compareReceipts(&e.Receipt, &old.Receipt); {
	case c > 0:
		*old = e
	case c == 0:
		for _, s := range e.Endorsements {
			old.Endorsements = addSignature(old.Endorsements, s)
		}
	}
}

// compareReceipts orders receipts of one holder: newer first, then lower
// canonical bytes. It returns >0 if a should replace b, 0 if they are the
// same receipt.
func compareReceipts(a, b *Receipt) int {
	if a.Time != b.Time {
		if a.Time > b.Time {
			return 1
		}
		return -1
	}
	return bytes.Compare(b.receiptBytes(), a.receiptBytes())
}

// Holders returns every holder whose receipt covers shard of segment seg,
// in holder order; n is the manifest's N.
func (l *Locations) Holders(seg, shard, n int) []peer.ID {
	if seg < 0 || shard < 0 || n <= 0 || shard >= n {
		return nil
	}
	pos := uint64(seg)*uint64(n) + uint64(shard)
	if pos > math.MaxUint32 {
		return nil
	}
	var out []peer.ID
	for i := range l.Entries {
		if _, ok := slices.BinarySearch(l.Entries[i].Receipt.Positions, uint32(pos)); ok {
			out = append(out, l.Entries[i].Receipt.Holder)
		}
	}
	return out
}

// Positions returns the flat positions (seg*N + shard) holder's receipt
// covers, or nil if holder has no entry.
func (l *Locations) Positions(holder peer.ID) []uint32 {
	i, found := slices.BinarySearchFunc(l.Entries, holder, func(x Entry, p peer.ID) int {
		return cmpID(x.Receipt.Holder, p)
	})
	if !found {
		return nil
	}
	return slices.Clone(l.Entries[i].Receipt.Positions)
}

// ReceiptTime is the time of holder's receipt, or 0 if holder has no entry.
func (l *Locations) ReceiptTime(holder peer.ID) int64 {
	i, found := slices.BinarySearchFunc(l.Entries, holder, func(x Entry, p peer.ID) int {
		return cmpID(x.Receipt.Holder, p)
	})
	if !found {
		return 0
	}
	return l.Entries[i].Receipt.Time
}

func cloneEntry(e Entry) Entry {
	e.Receipt.Positions = slices.Clone(e.Receipt.Positions)
	e.Receipt.Sig = slices.Clone(e.Receipt.Sig)
	e.Endorsements = cloneSigs(e.Endorsements)
	return e
}

func cloneSigs(sigs []Signature) []Signature {
	if sigs == nil {
		return nil
	}
	out := make([]Signature, len(sigs))
	for i, s := range sigs {
		out[i] = Signature{Signer: s.Signer, Sig: slices.Clone(s.Sig)}
	}
	return out
}

func cloneChain(chain []StewardSet) []StewardSet {
	if chain == nil {
		return nil
	}
	out := make([]StewardSet, len(chain))
	for i, s := range chain {
		out[i] = StewardSet{Epoch: s.Epoch, Members: slices.Clone(s.Members), Sigs: cloneSigs(s.Sigs)}
	}
	return out
}
