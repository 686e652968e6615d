package manifest

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
)

// MaxLocationsBytes is the hard cap on an encoded record, whatever its
// manifest; MaxLocationsSize gives the tighter bound for one manifest.
const MaxLocationsBytes = 32 << 20

// Worst-case encoded sizes, in bytes, behind MaxLocationsSize. A peer ID
// that embeds its key is at most 44 bytes, a signature at most
// MaxSignatureSize; CBOR adds 2 bytes of header to each, 1 to each small
// array, up to 9 for a 64-bit integer and 5 for a 32-bit one.
const (
	maxIDWire       = 2 + maxPeerIDLen                                                             // 46
	maxSigWire      = 2 + MaxSignatureSize                                                         // 74
	maxSignedWire   = 1 + maxIDWire + maxSigWire                                                   // 121: [signer, sig]
	maxStewardsWire = 1 + 9 + 1 + MaxStewards*maxIDWire + 1 + MaxStewards*maxSignedWire            // 2684: [epoch, members, sigs]
	maxEntryWire    = 1 + (1 + maxIDWire + 5 + 9 + maxSigWire) + 1 + (MaxStewards+1)*maxSignedWire // 2194 + 5 per position
	maxPositionWire = 5
	// recordOverhead: map header, three keys, the 36-byte manifest CID with
	// its header, and the two list headers at their widest.
	recordOverhead = 1 + 3 + (2 + 36) + 3 + 5
)

// MaxLocationsSize bounds the encoding of any valid record for m. Each
// shard has at most MaxHoldersPerShard holders and every entry covers at
// least one shard, so a record has at most shards*MaxHoldersPerShard
// entries and positions; the chain has at most MaxStewardEpochs sets:
//
//	recordOverhead + MaxStewardEpochs*2684 + shards*MaxHoldersPerShard*(2194+5)
//
// capped at MaxLocationsBytes (Verify and Merge enforce the cap). For a
// 4-of-8 file of one segment that is 757,522 bytes, most of it the chain;
// from about 3,740 shards (470 such segments) on, the cap applies.
func MaxLocationsSize(m *Manifest) int {
	shards := int64(0)
	if m != nil && m.N > 0 {
		shards = int64(len(m.Segments)) * int64(m.N)
	}
	n := int64(recordOverhead) + MaxStewardEpochs*maxStewardsWire
	// Saturate before multiplying: shards is below 2^32.
	if shards > MaxLocationsBytes {
		return MaxLocationsBytes
	}
	n += shards * MaxHoldersPerShard * (maxEntryWire + maxPositionWire)
	return int(min(n, MaxLocationsBytes))
}

type wireLocations struct {
	Manifest []byte           `cbor:"1,keyasint"`
	Stewards []wireStewardSet `cbor:"2,keyasint"`
	Entries  []wireEntry      `cbor:"3,keyasint"`
}

type wireStewardSet struct {
	_       struct{} `cbor:",toarray"`
	Epoch   uint64
	Members [][]byte
	Sigs    []wireSig
}

type wireSig struct {
	_      struct{} `cbor:",toarray"`
	Signer []byte
	Sig    []byte
}

type wireEntry struct {
	_            struct{} `cbor:",toarray"`
	Receipt      wireReceipt
	Endorsements []wireSig
}

// wireReceipt is also the receipt's canonical encoding that endorsements
// hash; the manifest is implied by the record.
type wireReceipt struct {
	_         struct{} `cbor:",toarray"`
	Holder    []byte
	Positions []uint32
	Time      int64
	Sig       []byte
}

// Encode returns the canonical CBOR of a structurally valid record. It
// checks no signature: Verify does.
func (l *Locations) Encode() ([]byte, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	b, err := marshal(l.wire())
	if err != nil {
		return nil, fmt.Errorf("locations: encode: %w", err)
	}
	if len(b) > MaxLocationsBytes {
		return nil, fmt.Errorf("locations: encodes to %d bytes, limit %d", len(b), MaxLocationsBytes)
	}
	return b, nil
}

// DecodeLocations parses a record and checks its structure (CID kind,
// peer IDs, sorting, counts, canonical bytes). It checks no signature and
// nothing that needs the manifest: call Verify, or Merge.
func DecodeLocations(b []byte) (*Locations, error) {
	if len(b) > MaxLocationsBytes {
		return nil, fmt.Errorf("locations: %d bytes exceeds limit of %d", len(b), MaxLocationsBytes)
	}
	var w wireLocations
	if err := decodeStrict(b, &w); err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	l, err := w.toLocations()
	if err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	if err := l.validate(); err != nil {
		return nil, err
	}
	canon, err := marshal(l.wire())
	if err != nil {
		return nil, fmt.Errorf("locations: encode: %w", err)
	}
	if err := checkCanonical(b, canon); err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	return l, nil
}

// validate checks everything that needs neither keys nor the manifest.
func (l *Locations) validate() error {
	if err := checkCID(l.Manifest, codecCBOR); err != nil {
		return fmt.Errorf("locations: manifest: %w", err)
	}
	if len(l.Stewards) > MaxStewardEpochs {
		return fmt.Errorf("locations: %d steward epochs, max %d", len(l.Stewards), MaxStewardEpochs)
	}
	for e := range l.Stewards {
		if err := l.Stewards[e].check(e); err != nil {
			return fmt.Errorf("locations: steward epoch %d: %w", e, err)
		}
	}
	for i := range l.Entries {
		if err := l.checkEntry(i); err != nil {
			return fmt.Errorf("locations: %w", err)
		}
	}
	return nil
}

func (l *Locations) checkEntry(i int) error {
	e := &l.Entries[i]
	r := &e.Receipt
	if err := r.check(); err != nil {
		return entryErr(i, r.Holder, "receipt: %w", err)
	}
	if !r.Manifest.Equals(l.Manifest) {
		return entryErr(i, r.Holder, "receipt is for manifest %s, record for %s", r.Manifest, l.Manifest)
	}
	if i > 0 && l.Entries[i-1].Receipt.Holder >= r.Holder {
		return entryErr(i, r.Holder, "entries not sorted by distinct holders")
	}
	if len(e.Endorsements) > MaxStewards+1 {
		return entryErr(i, r.Holder, "%d endorsements, max %d", len(e.Endorsements), MaxStewards+1)
	}
	if err := checkSignatures(e.Endorsements); err != nil {
		return entryErr(i, r.Holder, "endorsements: %w", err)
	}
	return nil
}

func entryErr(i int, holder peer.ID, format string, args ...any) error {
	return fmt.Errorf("entry %d (holder %s): "+format, append([]any{i, holder}, args...)...)
}

func (l *Locations) wire() *wireLocations {
	w := &wireLocations{
		Manifest: l.Manifest.Bytes(),
		Stewards: make([]wireStewardSet, len(l.Stewards)),
		Entries:  make([]wireEntry, len(l.Entries)),
	}
	for i := range l.Stewards {
		w.Stewards[i] = l.Stewards[i].wire()
	}
	for i := range l.Entries {
		w.Entries[i] = l.Entries[i].wire()
	}
	return w
}

func (s *StewardSet) wire() wireStewardSet {
	w := wireStewardSet{Epoch: s.Epoch, Members: make([][]byte, len(s.Members)), Sigs: wireSigs(s.Sigs)}
	for i, p := range s.Members {
		w.Members[i] = []byte(p)
	}
	return w
}

func (e *Entry) wire() wireEntry {
	return wireEntry{Receipt: *e.Receipt.wire(), Endorsements: wireSigs(e.Endorsements)}
}

func (r *Receipt) wire() *wireReceipt {
	return &wireReceipt{Holder: []byte(r.Holder), Positions: r.Positions, Time: r.Time, Sig: r.Sig}
}

func wireSigs(sigs []Signature) []wireSig {
	w := make([]wireSig, len(sigs))
	for i, s := range sigs {
		w[i] = wireSig{Signer: []byte(s.Signer), Sig: s.Sig}
	}
	return w
}

// toLocations converts without checking; empty lists stay nil so a
// decoded record equals one built in memory.
func (w *wireLocations) toLocations() (*Locations, error) {
	c, err := parseCIDBytes(w.Manifest, codecCBOR)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	l := NewLocations(c)
	if len(w.Stewards) > 0 {
		l.Stewards = make([]StewardSet, len(w.Stewards))
	}
	for i, ws := range w.Stewards {
		s := StewardSet{Epoch: ws.Epoch, Sigs: fromWireSigs(ws.Sigs)}
		if len(ws.Members) > 0 {
			s.Members = make([]peer.ID, len(ws.Members))
		}
		for j, p := range ws.Members {
			s.Members[j] = peer.ID(p)
		}
		l.Stewards[i] = s
	}
	if len(w.Entries) > 0 {
		l.Entries = make([]Entry, len(w.Entries))
	}
	for i, we := range w.Entries {
		wr := &we.Receipt
		l.Entries[i] = Entry{
			Receipt: Receipt{
				Manifest:  c,
				Holder:    peer.ID(wr.Holder),
				Positions: nilIfEmpty(wr.Positions),
				Time:      wr.Time,
				Sig:       nilIfEmpty(wr.Sig),
			},
			Endorsements: fromWireSigs(we.Endorsements),
		}
	}
	return l, nil
}

func fromWireSigs(w []wireSig) []Signature {
	if len(w) == 0 {
		return nil
	}
	out := make([]Signature, len(w))
	for i, s := range w {
		out[i] = Signature{Signer: peer.ID(s.Signer), Sig: nilIfEmpty(s.Sig)}
	}
	return out
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
