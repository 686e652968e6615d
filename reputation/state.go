package reputation

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/fxamacker/cbor/v2"
)

// Book holds this node's record of every peer it has observed. It is not safe for
// concurrent use; the caller locks. Nothing in it depends on map iteration order.
type Book struct {
	p    Params
	recs map[NodeID]Record
}

// NewBook returns an empty book scoring with p.
func NewBook(p Params) *Book { return &Book{p: p, recs: map[NodeID]Record{}} }

// Params returns the book's parameters.
func (b *Book) Params() Params { return b.p }

// Apply records one of this node's own observations.
func (b *Book) Apply(o Observation) {
	if o.Peer == "" {
		return
	}
	r := b.p.Apply(b.recs[o.Peer], o)
	if r.Started {
		b.recs[o.Peer] = r
	}
}

// ApplyReport weighs rep by the reporter's score as observed directly by this node
// (see Params.ApplyReport and the Sybil argument in report.go). It reports whether
// the report counted.
func (b *Book) ApplyReport(rep Report, now int64) bool {
	if rep.Subject == "" || rep.Reporter == rep.Subject {
		return false
	}
	w := b.p.ReporterWeight(b.recs[rep.Reporter], now)
	if w <= 0 {
		return false
	}
	r, ok := b.p.ApplyReport(b.recs[rep.Subject], rep, w, now)
	if ok {
		b.recs[rep.Subject] = r
	}
	return ok
}

// Get returns peer's record; a peer never observed gets a fresh record and false.
func (b *Book) Get(peer NodeID) (Record, bool) {
	r, ok := b.recs[peer]
	if !ok {
		return b.p.NewRecord(), false
	}
	return r, true
}

// Peers lists every peer with a record, sorted.
func (b *Book) Peers() []NodeID {
	ids := make([]NodeID, 0, len(b.recs))
	for id := range b.recs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Status, Eligible and PlacementScore are the Params methods on peer's record
// (a fresh record for a peer never observed).
func (b *Book) Status(peer NodeID, now int64) Status {
	r, _ := b.Get(peer)
	return b.p.Status(r, now)
}

func (b *Book) Eligible(peer NodeID, now int64) bool {
	r, _ := b.Get(peer)
	return b.p.Eligible(r, now)
}

func (b *Book) PlacementScore(peer NodeID, now int64) float64 {
	r, _ := b.Get(peer)
	return b.p.PlacementScore(r, now)
}

// bookWire is the persisted form: peers sorted by ID, so equal books encode equally.
type bookWire struct {
	Version uint        `cbor:"1,keyasint"`
	Peers   []peerEntry `cbor:"2,keyasint"`
}

type peerEntry struct {
	ID     NodeID `cbor:"1,keyasint"`
	Record Record `cbor:"2,keyasint"`
}

const bookVersion = 1

var (
	bookEnc cbor.EncMode
	bookDec cbor.DecMode
)

func init() {
	eo := cbor.CoreDetEncOptions()
	eo.NilContainers = cbor.NilContainerAsEmpty // nil and empty slices encode alike
	var err error
	if bookEnc, err = eo.EncMode(); err != nil {
		panic(fmt.Sprintf("reputation: cbor encoder options: %v", err))
	}
	bookDec, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
		MaxArrayElements:  1 << 24,
	}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("reputation: cbor decoder options: %v", err))
	}
}

// Encode returns the book in deterministic CBOR: the same records give the same bytes
// however and in whatever order they were built.
func (b *Book) Encode() ([]byte, error) {
	w := bookWire{Version: bookVersion, Peers: make([]peerEntry, 0, len(b.recs))}
	for _, id := range b.Peers() {
		w.Peers = append(w.Peers, peerEntry{ID: id, Record: b.recs[id]})
	}
	out, err := bookEnc.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("reputation: encode book of %d peers: %w", len(w.Peers), err)
	}
	return out, nil
}

// DecodeBook restores a book written by Encode, scoring with p. It refuses unknown
// versions, duplicate or unsorted peers, and negative or out-of-order values.
func DecodeBook(p Params, data []byte) (*Book, error) {
	var w bookWire
	if err := bookDec.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("reputation: decode book (%d bytes): %w", len(data), err)
	}
	if w.Version != bookVersion {
		return nil, fmt.Errorf("reputation: book version %d, want %d", w.Version, bookVersion)
	}
	b := NewBook(p)
	for i, e := range w.Peers {
		if e.ID == "" || i > 0 && w.Peers[i-1].ID >= e.ID {
			return nil, fmt.Errorf("reputation: book entry %d (%q) empty, duplicate or out of order", i, e.ID)
		}
		if err := checkRecord(e.Record); err != nil {
			return nil, fmt.Errorf("reputation: book entry %q: %w", e.ID, err)
		}
		b.recs[e.ID] = e.Record
	}
	return b, nil
}

func checkRecord(r Record) error {
	if !r.Started {
		return fmt.Errorf("record not started")
	}
	if r.Alpha < 0 || r.Beta < 0 || r.SuspAlpha < 0 || r.SuspBeta < 0 || r.Throughput < 0 {
		return fmt.Errorf("negative value in α %v β %v suspension α %v β %v throughput %d",
			r.Alpha, r.Beta, r.SuspAlpha, r.SuspBeta, r.Throughput)
	}
	for i, h := range r.Reports {
		if h.Reporter == "" || h.Penalty <= 0 || i > 0 && cmp.Compare(r.Reports[i-1].Reporter, h.Reporter) >= 0 {
			return fmt.Errorf("hearsay entry %d (%q, %v) invalid or out of order", i, h.Reporter, h.Penalty)
		}
	}
	return nil
}
