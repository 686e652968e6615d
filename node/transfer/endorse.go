package transfer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ProtoEndorse lets a file's stewards change its locations record without the owner. One steward
// asks its co-stewards (the members of the latest steward set) to endorse new holders' storage
// receipts, after a repair or a holder's graceful exit, and/or to sign the next steward set (a
// handover). An entry counts once a strict majority of one set endorsed it, and set e+1 once a
// strict majority of set e signed it (manifest.Merge), so no single steward can do either alone.
//
// Exchange: header (manifest, entry count, body length, optional proposed set) → go-ahead → body:
// a locations record (manifest.Locations encoding) holding the asker's steward chain and the
// entries → answer: per entry a signature or a reason, and the set signature or a reason.
const ProtoEndorse = "/cairn/locations/endorse/2.0.0"

const (
	// MaxEndorseEntries bounds the entries of one request; a repair batches past it.
	MaxEndorseEntries = 256
	// MaxEndorseBody bounds a request body; it is further bounded by what a record of the manifest
	// may take (manifest.MaxLocationsSize), since the body is one.
	MaxEndorseBody = MaxLocations
	// DefaultVetTimeout is how long an Endorser's Vet and VetSet hooks may take per request. It
	// must stay well below the askers' deadline, so they get reasons rather than a reset.
	DefaultVetTimeout = 30 * time.Second
)

const (
	// maxReason bounds each refusal reason, so an answer for MaxEndorseEntries refusals fits a
	// header (256 × ~185 bytes < wire.MaxHeader).
	maxReason = 160
	// maxEndorsing bounds requests served at once: each holds a manifest and record loaded from
	// disk (not charged to the budget) and runs audits through Vet.
	maxEndorsing = 4
	// vetParallel bounds the entries of one request vetted at once.
	vetParallel = 8
)

type endorseReq struct {
	Manifest string       `json:"manifest"`
	Entries  int          `json:"entries"` // entries in the body
	Len      int          `json:"len"`     // body bytes
	Next     *proposedSet `json:"next,omitempty"`
}

// proposedSet is the next steward set the asker wants signed.
type proposedSet struct {
	Epoch   uint64   `json:"epoch"`
	Members [][]byte `json:"members"`
}

type endorseResp struct {
	Status
	Entries  []entryAnswer `json:"entries,omitempty"` // one per body entry, in body order
	SetSig   []byte        `json:"set_sig,omitempty"`
	SetCode  string        `json:"set_code,omitempty"`
	SetError string        `json:"set_error,omitempty"`
}

// entryAnswer is this node's endorsement of one entry, or why it refused.
type entryAnswer struct {
	Sig   []byte `json:"sig,omitempty"`
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

// refuse builds a refusal with a reason short enough for the answer's bound.
func refuse(code string, err error) entryAnswer {
	return entryAnswer{Code: code, Error: clipReason(err.Error())}
}

// clipReason cuts s to maxReason bytes on a rune boundary (headers must be valid UTF-8).
func clipReason(s string) string {
	if len(s) <= maxReason {
		return s
	}
	s = s[:maxReason]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// parseEndorseReq checks a request header; next is nil if no set is proposed.
func parseEndorseReq(req *endorseReq) (mc cid.Cid, next *manifest.StewardSet, err error) {
	if mc, err = parseCID(req.Manifest); err != nil {
		return cid.Undef, nil, err
	}
	if req.Entries < 0 || req.Entries > MaxEndorseEntries {
		return cid.Undef, nil, fmt.Errorf("%d entries, want 0..%d", req.Entries, MaxEndorseEntries)
	}
	if req.Len <= 0 || req.Len > MaxEndorseBody {
		return cid.Undef, nil, fmt.Errorf("body of %d bytes, want 1..%d", req.Len, MaxEndorseBody)
	}
	if req.Entries == 0 && req.Next == nil {
		return cid.Undef, nil, errors.New("nothing to endorse: no entries and no steward set")
	}
	if req.Next != nil {
		if next, err = parseProposedSet(req.Next); err != nil {
			return cid.Undef, nil, fmt.Errorf("proposed steward set: %w", err)
		}
	}
	return mc, next, nil
}

func parseProposedSet(p *proposedSet) (*manifest.StewardSet, error) {
	if len(p.Members) == 0 || len(p.Members) > manifest.MaxStewards {
		return nil, fmt.Errorf("%d members, want 1..%d", len(p.Members), manifest.MaxStewards)
	}
	s := &manifest.StewardSet{Epoch: p.Epoch, Members: make([]peer.ID, len(p.Members))}
	for i, b := range p.Members {
		id, err := peer.IDFromBytes(b)
		if err != nil {
			return nil, fmt.Errorf("member %d: %w", i, err)
		}
		s.Members[i] = id
	}
	slices.Sort(s.Members)
	for i := 1; i < len(s.Members); i++ {
		if s.Members[i] == s.Members[i-1] {
			return nil, fmt.Errorf("member %s listed twice", s.Members[i])
		}
	}
	return s, nil
}

// decodeEndorseBody parses a request body: a structurally valid locations record for mc with
// exactly the entries the header announced. Signatures are checked later, against the manifest.
func decodeEndorseBody(b []byte, mc cid.Cid, entries int) (*manifest.Locations, error) {
	loc, err := manifest.DecodeLocations(b)
	if err != nil {
		return nil, err
	}
	if !loc.Manifest.Equals(mc) {
		return nil, fmt.Errorf("body is for manifest %s, header for %s", loc.Manifest, mc)
	}
	if len(loc.Entries) != entries {
		return nil, fmt.Errorf("body has %d entries, header announced %d", len(loc.Entries), entries)
	}
	return loc, nil
}

// Endorser answers ProtoEndorse for the files this node stewards.
type Endorser struct {
	// Vet decides whether this node vouches for an entry whose receipt is validly signed by its
	// holder, e.g. by auditing the new holder first; nil accepts. Set before peers can connect.
	Vet func(ctx context.Context, m *manifest.Manifest, mc cid.Cid, e manifest.Entry) error
	// VetSet decides whether this node signs next, proposed to follow cur; nil accepts.
	VetSet func(ctx context.Context, m *manifest.Manifest, mc cid.Cid, cur, next manifest.StewardSet) error
	// VetTimeout bounds the hooks of one request (0: DefaultVetTimeout).
	VetTimeout time.Duration

	h      host.Host
	sw     *Stewardship
	priv   crypto.PrivKey
	self   peer.ID // priv's
	budget *Budget
	slots  chan struct{}
	ctx    context.Context // cancelled by Close, so hooks under way stop
	cancel context.CancelFunc
}

// NewEndorser answers ProtoEndorse on h, endorsing with priv (the host's key) for the files sw
// keeps. A nil b means NewBudget(DefaultBudget()).
func NewEndorser(h host.Host, sw *Stewardship, priv crypto.PrivKey, b *Budget) *Endorser {
	if b == nil {
		b = NewBudget(DefaultBudget())
	}
	var self peer.ID // without a usable key it stays empty, and every request is refused
	if priv != nil {
		self, _ = peer.IDFromPrivateKey(priv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Endorser{h: h, sw: sw, priv: priv, self: self, budget: b, slots: make(chan struct{}, maxEndorsing), ctx: ctx, cancel: cancel}
	h.SetStreamHandler(ProtoEndorse, handler(ProtoEndorse, nil, e.serve))
	return e
}

// Close stops answering and cancels the hooks of requests under way.
func (e *Endorser) Close() {
	e.h.RemoveStreamHandler(ProtoEndorse)
	e.cancel()
}

func (e *Endorser) serve(st network.Stream) error {
	var req endorseReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	mc, next, err := parseEndorseReq(&req)
	if err != nil {
		return wire.Write(st, endorseResp{Status: wire.Fail(wire.CodeBadInput, err)})
	}
	select {
	case e.slots <- struct{}{}:
		defer func() { <-e.slots }()
	default:
		return wire.Write(st, endorseResp{Status: busy(fmt.Errorf("%w: %d endorsements under way", ErrBusy, maxEndorsing))})
	}
	asker := st.Conn().RemotePeer()
	m, loc, err := e.sw.kept(mc)
	var steward bool
	if err == nil {
		steward, err = e.mayEndorse(loc, asker)
	}
	if err == nil && !steward && next != nil {
		err = fmt.Errorf("%w: only a steward may propose a steward set", ErrNotAllowed)
	}
	if err != nil {
		return wire.Write(st, endorseResp{Status: endorseStatus(err)})
	}
	if max := manifest.MaxLocationsSize(m); req.Len > max {
		err = fmt.Errorf("body of %d bytes exceeds %d for this manifest", req.Len, max)
		return wire.Write(st, endorseResp{Status: wire.Fail(wire.CodeBadInput, err)})
	}
	// The body is charged like any network body. The manifest and record loaded from our own
	// store (up to 48 MiB for the largest file; charging them too would refuse such files for
	// good under the 64 MiB per-peer share) are bounded by maxEndorsing instead.
	release, err := e.budget.Acquire(st, req.Len)
	if err != nil {
		return wire.Write(st, endorseResp{Status: busy(err)})
	}
	defer release()
	if err := wire.Write(st, Status{OK: true}); err != nil {
		return err
	}
	_ = st.SetWriteDeadline(time.Now().Add(bodyTimeout(int64(req.Len)) + headerTimeout))
	body, err := readExactly(paced(st, int64(req.Len)), req.Len)
	if err != nil {
		return err
	}
	in, err := decodeEndorseBody(body, mc, req.Entries)
	if err != nil {
		return wire.Write(st, endorseResp{Status: wire.Fail(wire.CodeBadInput, err)})
	}
	if len(in.Stewards) > len(loc.Stewards) {
		// Adopt the asker's longer chain: Merge keeps it only if it is valid. Both sides must
		// still be members of the latest set afterwards: a steward handed over stops vouching.
		if loc, err = e.sw.MergeRecord(mc, &manifest.Locations{Manifest: mc, Stewards: in.Stewards}); err == nil {
			steward, err = e.mayEndorse(loc, asker)
		}
		if err != nil {
			return wire.Write(st, endorseResp{Status: endorseStatus(err)})
		}
	}
	timeout := e.VetTimeout
	if timeout <= 0 {
		timeout = DefaultVetTimeout
	}
	_ = st.SetDeadline(time.Now().Add(timeout + headerTimeout))
	ctx, cancel := context.WithTimeout(e.ctx, timeout)
	defer cancel()
	resp, err := e.endorse(ctx, m, mc, in.Entries, func(ent *manifest.Entry) error {
		if steward {
			return nil
		}
		return handsOverOwn(loc, asker, ent)
	})
	if err != nil {
		return wire.Write(st, endorseResp{Status: endorseStatus(err)})
	}
	if next != nil {
		resp.SetSig, resp.SetCode, resp.SetError = e.signSet(ctx, m, mc, loc.Stewards, *next)
	}
	return wire.Write(st, resp)
}

// ErrNotAllowed: the asker may not ask this of this node.
var ErrNotAllowed = errors.New("not allowed")

// mayEndorse checks that this node is a member of the latest steward set of loc, this node's own
// record, and that the asker is a member too or a holder listed in the record. Only stewards
// vouch. A co-steward may bring any holders (it repaired); a holder may only hand over its own
// positions (a graceful exit, see handsOverOwn), so a stranger cannot crowd a file's record with
// holders of its choosing.
func (e *Endorser) mayEndorse(loc *manifest.Locations, asker peer.ID) (steward bool, err error) {
	if len(loc.Stewards) == 0 {
		return false, fmt.Errorf("%w: the record has no steward set", ErrNotAllowed)
	}
	latest := loc.Stewards[len(loc.Stewards)-1]
	if _, ok := slices.BinarySearch(latest.Members, e.self); !ok {
		return false, fmt.Errorf("%w: this node is not a steward of epoch %d", ErrNotAllowed, latest.Epoch)
	}
	if _, ok := slices.BinarySearch(latest.Members, asker); ok {
		return true, nil
	}
	if len(loc.Positions(asker)) > 0 {
		return false, nil
	}
	return false, fmt.Errorf("%w: %s is neither a steward of epoch %d nor a holder of this file", ErrNotAllowed, asker, latest.Epoch)
}

// handsOverOwn checks that every position ent adds to its holder's entry in loc is one the
// asking holder holds itself.
func handsOverOwn(loc *manifest.Locations, asker peer.ID, ent *manifest.Entry) error {
	mine := loc.Positions(asker)
	had := loc.Positions(ent.Receipt.Holder)
	for _, p := range ent.Receipt.Positions {
		if _, ok := slices.BinarySearch(had, p); ok {
			continue
		}
		if _, ok := slices.BinarySearch(mine, p); !ok {
			return fmt.Errorf("%w: position %d is not the asking holder's to hand over", ErrNotAllowed, p)
		}
	}
	return nil
}

// endorseStatus maps a refusal of the whole request; a removed file is forbidden, as in Accept.
func endorseStatus(err error) Status {
	if errors.Is(err, ErrRemoved) {
		return wire.Fail(wire.CodeForbidden, err)
	}
	return statusOf(err)
}

// endorse checks, vets and endorses each entry, then merges those it endorsed (with the
// endorsements they carry) into this node's record. Merge drops those still short of a majority.
func (e *Endorser) endorse(ctx context.Context, m *manifest.Manifest, mc cid.Cid, entries []manifest.Entry, allowed func(*manifest.Entry) error) (endorseResp, error) {
	resp := endorseResp{Status: Status{OK: true}, Entries: make([]entryAnswer, len(entries))}
	signed := make([]*manifest.Entry, len(entries))
	sem := make(chan struct{}, vetParallel)
	var wg sync.WaitGroup
	for i := range entries {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := allowed(&entries[i]); err != nil {
				resp.Entries[i] = refuse(wire.CodeForbidden, err)
				return
			}
			resp.Entries[i], signed[i] = e.endorseOne(ctx, m, mc, entries[i])
		}()
	}
	wg.Wait()
	var merge []manifest.Entry
	for _, s := range signed {
		if s != nil {
			merge = append(merge, *s)
		}
	}
	if len(merge) > 0 {
		if _, err := e.sw.MergeEntries(mc, merge); err != nil {
			return endorseResp{}, err
		}
	}
	return resp, nil
}

// endorseOne returns this node's answer for ent and, if it endorsed, ent with the endorsement.
func (e *Endorser) endorseOne(ctx context.Context, m *manifest.Manifest, mc cid.Cid, ent manifest.Entry) (entryAnswer, *manifest.Entry) {
	if err := ent.Receipt.Verify(m); err != nil {
		return refuse(wire.CodeBadInput, err), nil
	}
	if e.Vet != nil {
		if err := e.Vet(ctx, m, mc, ent); err != nil {
			return refuse(wire.CodeForbidden, fmt.Errorf("not vouched for: %w", err)), nil
		}
	}
	sig, err := manifest.Endorse(e.priv, &ent.Receipt)
	if err != nil {
		return refuse(wire.CodeInternal, err), nil
	}
	ent.Endorsements = append(slices.Clone(ent.Endorsements), sig)
	return entryAnswer{Sig: sig.Sig}, &ent
}

// signSet signs next if it follows the latest set of chain and VetSet agrees.
func (e *Endorser) signSet(ctx context.Context, m *manifest.Manifest, mc cid.Cid, chain []manifest.StewardSet, next manifest.StewardSet) (sig []byte, code, reason string) {
	cur := chain[len(chain)-1]
	if next.Epoch != cur.Epoch+1 {
		return nil, wire.CodeBadInput, fmt.Sprintf("proposed epoch %d, but the latest is %d", next.Epoch, cur.Epoch)
	}
	if e.VetSet != nil {
		if err := e.VetSet(ctx, m, mc, cur, next); err != nil {
			return nil, wire.CodeForbidden, clipReason("not signed: " + err.Error())
		}
	}
	if err := next.SignBy(e.priv, mc); err != nil {
		return nil, wire.CodeBadInput, clipReason(err.Error())
	}
	for _, s := range next.Sigs {
		if s.Signer == e.self {
			return s.Sig, "", ""
		}
	}
	return nil, wire.CodeInternal, "own signature missing after signing"
}
