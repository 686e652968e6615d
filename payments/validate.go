package payments

import (
	"bytes"
	"sync"
	"unicode"

	"lukechampine.com/blake3"
)

// Bounds on what entries may claim. Every node must apply the same ones: they decide which
// entries exist in the ledger.
const (
	// MaxShardSize bounds a shard, as node/transfer.MaxShard does.
	MaxShardSize = 256 << 20
	// MaxStorageSpan bounds one Storage attestation's span: stewards attest at least monthly.
	MaxStorageSpan = 31 * 24 * 3600
	// MaxPrice bounds a price per GiB (or GiB-month): a million units, so that honest epochs
	// cannot overflow settlement's int64 totals.
	MaxPrice Amount = 1_000_000_000_000
	// MaxPartnerIDLen and MaxPartnerNameLen bound a partner's tag and display name.
	MaxPartnerIDLen   = 64
	MaxPartnerNameLen = 128
	// NonceSize is the length of a Download nonce.
	NonceSize = 16
	// maxPartnerShareBPS is 100% in basis points.
	maxPartnerShareBPS = 10000
	// DefaultMaxSkew is how far (seconds) an entry's Time may run ahead of the validator's clock.
	DefaultMaxSkew = 300
)

// ValidatorParams configure a Validator.
type ValidatorParams struct {
	// MaxSkew is how many seconds an entry's Time may be ahead of now; <= 0 means DefaultMaxSkew.
	MaxSkew int64
	// Lookup returns the canonical bytes of an accepted entry by ID, or nil: the store's. The
	// validator keeps no entries, so it needs them to turn a fork it detects into a ForkProof
	// others can check. Nil (or a miss) still excludes the author locally, without a proof.
	Lookup func(ID) []byte
}

// Validator decides which entries enter the ledger. Entries of one author must arrive in Seq
// order. It keeps no entries, only per accepted entry its ID (32 bytes in a per-author slice,
// up to 64 with slice growth) and, for a Download, its nonce in a per-author set (about 40
// bytes with map overhead); per author about 200 bytes. Measured: 54 bytes per entry for
// 20,000 entries of 50 authors, half of them Downloads. Safe for concurrent use; calls are
// serialized.
type Validator struct {
	p ValidatorParams

	mu       sync.Mutex
	authors  map[string]*authorState // key: string(author peer ID bytes)
	proofs   []*ForkProof
	accepted int
}

// authorState is what the validator remembers of one author's chain.
type authorState struct {
	ids           []ID   // ids[s-1] is the accepted entry at Seq s; dropped once forked
	frontier      uint64 // the last accepted Seq
	lastTime      int64  // Time of the entry at frontier: an author's clock never goes back
	lastStatement uint64 // Epoch of the author's last Statement, if hasStatement
	hasStatement  bool
	nonces        map[[NonceSize]byte]struct{} // Download nonces already posted
	forked        bool
	proof         *ForkProof // nil if the fork was seen but its other entry was not at hand
}

// NewValidator returns an empty validator.
func NewValidator(p ValidatorParams) *Validator {
	if p.MaxSkew <= 0 {
		p.MaxSkew = DefaultMaxSkew
	}
	return &Validator{p: p, authors: make(map[string]*authorState)}
}

// Add validates raw entry bytes at unix time now and, if they pass, records the entry and
// returns it with its ID (the ID is also returned with most refusals, for logs). The error is a
// Rejection (ReasonOf); reasons.go gives the order of the checks. A ReasonFork error means the author is now excluded: its proof is in
// ForkProofs (if the other entry could be looked up). Entries of kind ForkProof exclude the
// author they prove forked when accepted.
func (v *Validator) Add(b []byte, now int64) (*Entry, ID, error) {
	e, err := decodeEnvelope(b)
	if err != nil {
		return nil, ID{}, err
	}
	body, err := decodeBody(e)
	if err != nil {
		return nil, ID{}, err
	}
	id := ID(blake3.Sum256(b))

	v.mu.Lock()
	defer v.mu.Unlock()
	st := v.authors[string(e.Author)]
	if st == nil {
		st = &authorState{} // stored only on acceptance
	}
	if st.forked {
		return nil, id, rejectf(ReasonForkedAuthor, "author %s forked its chain", accountName(string(e.Author)))
	}
	if e.Seq <= st.frontier && st.ids[e.Seq-1] == id {
		return nil, id, rejectf(ReasonDuplicate, "seq %d already accepted", e.Seq)
	}
	if e.Time > now+v.p.MaxSkew {
		return nil, id, rejectf(ReasonFuture, "time %d is %d s ahead of now", e.Time, e.Time-now)
	}
	if e.Seq > st.frontier+1 {
		return nil, id, rejectf(ReasonOutOfOrder, "seq %d, author's frontier is %d", e.Seq, st.frontier)
	}
	if err := e.VerifySig(); err != nil {
		return nil, id, err
	}
	if e.Seq <= st.frontier {
		v.recordFork(e.Author, st, st.ids[e.Seq-1], b)
		return nil, id, rejectf(ReasonFork, "author %s signed two entries at seq %d", accountName(string(e.Author)), e.Seq)
	}
	if e.Seq > 1 && !bytes.Equal(e.Prev, st.ids[e.Seq-2][:]) {
		return nil, id, rejectf(ReasonBadChain, "prev is not the ID of seq %d", e.Seq-1)
	}
	if e.Seq > 1 && e.Time < st.lastTime {
		return nil, id, rejectf(ReasonBadChain, "time %d is before the previous entry's %d", e.Time, st.lastTime)
	}
	var forked string
	switch body := body.(type) {
	case *Download:
		err = checkDownload(e, body, st)
	case *Storage:
		err = checkStorage(e, body)
	case *Price:
		err = checkPrice(body)
	case *Partner:
		err = checkPartner(body)
	case *Statement:
		err = checkStatement(body, st)
	case *ForkProof:
		forked, _, err = body.check()
	}
	if err != nil {
		return nil, id, err
	}
	v.commit(e, id, st, body)
	if fp, ok := body.(*ForkProof); ok {
		v.markForked([]byte(forked), fp)
	}
	return e, id, nil
}

// commit records an accepted entry.
func (v *Validator) commit(e *Entry, id ID, st *authorState, body any) {
	if st.frontier == 0 {
		v.authors[string(e.Author)] = st
	}
	st.ids = append(st.ids, id)
	st.frontier = e.Seq
	st.lastTime = e.Time
	switch body := body.(type) {
	case *Download:
		if st.nonces == nil {
			st.nonces = make(map[[NonceSize]byte]struct{})
		}
		st.nonces[[NonceSize]byte(body.Nonce)] = struct{}{}
	case *Statement:
		st.lastStatement, st.hasStatement = body.Epoch, true
	}
	v.accepted++
}

// recordFork excludes author after a second signed entry (bytes b) at a Seq where the entry
// with ID prev was accepted, building the proof if the store still has that entry.
func (v *Validator) recordFork(author []byte, st *authorState, prev ID, b []byte) {
	var proof *ForkProof
	if v.p.Lookup != nil {
		if old := v.p.Lookup(prev); old != nil && blake3.Sum256(old) == prev {
			a, c := old, b
			if bytes.Compare(a, c) > 0 {
				a, c = c, a
			}
			p := &ForkProof{A: bytes.Clone(a), B: bytes.Clone(c)}
			if _, _, err := p.check(); err == nil { // fails only for entries too large to carry
				proof = p
			}
		}
	}
	v.markForked(author, proof)
}

// markForked excludes author from now on, keeping the first proof of it.
func (v *Validator) markForked(author []byte, proof *ForkProof) {
	st := v.authors[string(author)]
	if st == nil {
		st = &authorState{}
		v.authors[string(author)] = st
	}
	if st.forked && st.proof != nil {
		return
	}
	st.forked = true
	st.ids, st.nonces = nil, nil // only the frontier is still of use
	if proof != nil {
		st.proof = proof
		v.proofs = append(v.proofs, proof)
	}
}

// ForkProofs returns the proofs of the forks seen so far, in the order they were found (one per
// author). Gossip them: each makes its author excluded everywhere. Do not modify them.
func (v *Validator) ForkProofs() []*ForkProof {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]*ForkProof(nil), v.proofs...)
}

// Excluded reports whether author (raw peer ID bytes, e.g. string(peerID)) is proven forked:
// none of its entries, even ones accepted before, may count.
func (v *Validator) Excluded(author string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	st := v.authors[string(author)]
	return st != nil && st.forked
}

// ExcludedAuthors returns the forked authors keyed as SettleParams.Excluded expects
// (string(Entry.Author)).
func (v *Validator) ExcludedAuthors() map[string]bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]bool)
	for a, st := range v.authors {
		if st.forked {
			out[a] = true
		}
	}
	return out
}

// Frontier returns, per author (peer ID string), the last accepted Seq, for anti-entropy: a
// peer sends the entries after it. Forked authors are included with the Seq they had; their
// further entries are refused, so exchange ForkProofs for them instead.
func (v *Validator) Frontier() map[string]uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]uint64, len(v.authors))
	for a, st := range v.authors {
		if st.frontier > 0 {
			out[accountName(a)] = st.frontier
		}
	}
	return out
}

// Accepted is the number of entries accepted so far (of forked authors too).
func (v *Validator) Accepted() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.accepted
}

// checkDownload checks a download receipt's values, that its nonce is new for the author, and
// last (the costly part) the server's countersignature.
func checkDownload(e *Entry, d *Download, st *authorState) error {
	switch {
	case !isEd25519ID(d.Server) || !isEd25519ID(d.Owner) || !isEd25519ID(d.Downloader):
		return rejectf(ReasonBadValue, "server, owner and downloader must be Ed25519 peer IDs")
	case !bytes.Equal(d.Downloader, e.Author):
		return rejectf(ReasonBadValue, "downloader is not the entry's author")
	case bytes.Equal(d.Server, e.Author):
		return rejectf(ReasonBadValue, "server receipts its own download")
	case !isCID(d.Manifest, cidCodecCBOR) || !isCID(d.Shard, cidCodecRaw):
		return rejectf(ReasonBadValue, "manifest or shard is not a Cairn CID")
	case len(d.Nonce) != NonceSize:
		return rejectf(ReasonBadValue, "nonce is %d bytes, want %d", len(d.Nonce), NonceSize)
	}
	if err := checkPartnerTag(d.Partner, true); err != nil {
		return err
	}
	if d.ShardSize <= 0 || d.ShardSize > MaxShardSize || d.Bytes <= 0 || d.Bytes > d.ShardSize {
		return rejectf(ReasonUsageExceeds, "%d bytes of a %d-byte shard (max %d)", d.Bytes, d.ShardSize, MaxShardSize)
	}
	if _, seen := st.nonces[[NonceSize]byte(d.Nonce)]; seen {
		return rejectf(ReasonReplay, "the author already posted a download with this nonce")
	}
	return d.VerifyCounterSig()
}

// checkStorage checks an attestation: real peers and CIDs, a shard's size, and a past span no
// longer than MaxStorageSpan that ends by the time the steward wrote the entry.
func checkStorage(e *Entry, s *Storage) error {
	switch {
	case !isEd25519ID(s.Holder) || !isEd25519ID(s.Owner):
		return rejectf(ReasonBadValue, "holder and owner must be Ed25519 peer IDs")
	case bytes.Equal(s.Holder, e.Author):
		return rejectf(ReasonBadValue, "holder attests its own storage")
	case !isCID(s.Manifest, cidCodecCBOR) || !isCID(s.Shard, cidCodecRaw):
		return rejectf(ReasonBadValue, "manifest or shard is not a Cairn CID")
	}
	if err := checkPartnerTag(s.Partner, true); err != nil {
		return err
	}
	switch {
	case s.Bytes <= 0 || s.Bytes > MaxShardSize:
		return rejectf(ReasonUsageExceeds, "%d bytes, want 1..%d", s.Bytes, MaxShardSize)
	case s.From <= 0 || s.To <= s.From:
		return rejectf(ReasonUsageExceeds, "span [%d, %d) is empty or before 1970", s.From, s.To)
	case s.To > e.Time:
		return rejectf(ReasonUsageExceeds, "span ends at %d, after the entry's time %d", s.To, e.Time)
	case s.To-s.From > MaxStorageSpan:
		return rejectf(ReasonUsageExceeds, "span of %d s, max %d", s.To-s.From, MaxStorageSpan)
	}
	return nil
}

func checkPrice(p *Price) error {
	if p.StorageGiBMonth < 0 || p.StorageGiBMonth > MaxPrice || p.EgressGiB < 0 || p.EgressGiB > MaxPrice {
		return rejectf(ReasonBadValue, "prices %d and %d, want 0..%d", p.StorageGiBMonth, p.EgressGiB, MaxPrice)
	}
	return nil
}

func checkPartner(p *Partner) error {
	if err := checkPartnerTag(p.ID, false); err != nil {
		return err
	}
	if len(p.Name) > MaxPartnerNameLen {
		return rejectf(ReasonBadValue, "partner name is %d bytes, max %d", len(p.Name), MaxPartnerNameLen)
	}
	for _, r := range p.Name { // valid UTF-8: the decoder refuses anything else
		if !unicode.IsPrint(r) {
			return rejectf(ReasonBadValue, "partner name has unprintable %U", r)
		}
	}
	if !isEd25519ID(p.Payout) {
		return rejectf(ReasonBadValue, "payout is not an Ed25519 peer ID")
	}
	if p.ShareBPS > maxPartnerShareBPS {
		return rejectf(ReasonBadValue, "share %d bps, max %d", p.ShareBPS, maxPartnerShareBPS)
	}
	return nil
}

// checkStatement wants a 32-byte root and epochs that only move forward per author: a second
// root for one epoch would be equivocation.
func checkStatement(s *Statement, st *authorState) error {
	if len(s.Root) != 32 {
		return rejectf(ReasonBadValue, "root is %d bytes, want 32", len(s.Root))
	}
	if st.hasStatement && s.Epoch <= st.lastStatement {
		return rejectf(ReasonReplay, "statement for epoch %d, the author already stated epoch %d", s.Epoch, st.lastStatement)
	}
	return nil
}

// checkPartnerTag wants a plain identifier, as node/manifest does: 1..64 bytes of [a-z0-9._-]
// ("" allowed where the tag is optional).
func checkPartnerTag(tag string, optional bool) error {
	if tag == "" && optional {
		return nil
	}
	if len(tag) == 0 || len(tag) > MaxPartnerIDLen {
		return rejectf(ReasonBadValue, "partner tag is %d bytes, want 1..%d", len(tag), MaxPartnerIDLen)
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return rejectf(ReasonBadValue, "partner tag has byte 0x%02x at %d, want only [a-z0-9._-]", c, i)
		}
	}
	return nil
}

// Cairn CIDs (docs/contracts.md, node/codec): CIDv1, codec raw (shards) or cbor (manifests),
// multihash BLAKE3-256. Their binary form is exactly 0x01, codec, 0x1e, 0x20, 32 digest bytes.
const (
	cidCodecRaw  = 0x55
	cidCodecCBOR = 0x51
)

func isCID(b []byte, codec byte) bool {
	return len(b) == 36 && b[0] == 0x01 && b[1] == codec && b[2] == 0x1e && b[3] == 0x20
}
