package payments

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"github.com/mr-tron/base58"
	"lukechampine.com/blake3"
)

const (
	// MaxEntrySize bounds the encoding of every entry but a fork proof. Real entries are
	// 150..500 bytes; the slack is for partner names.
	MaxEntrySize = 4 << 10
	// MaxForkProofSize bounds a fork proof entry: two entries of up to MaxEntrySize plus the
	// envelope around them (at most 178 bytes: CBOR headers, author, seq, prev, time, sig).
	MaxForkProofSize = 2*MaxEntrySize + 256

	// signatureSize is an Ed25519 signature's length: the only kind of key entries are signed with.
	signatureSize = 64
	// prevSize is an ID's length, as Prev carries it.
	prevSize = len(ID{})
)

// Signature domains, so that a signature made for the ledger can never be replayed as one made
// for another Cairn purpose (receipts, endorsements, ...) with the same node key, nor an entry
// signature as a countersignature.
const (
	entryDomain          = "cairn-ledger-entry-v1\x00"
	counterSignDomain    = "cairn-ledger-download-v1\x00"
	ledgerMaxMapPairs    = 16 // our maps have at most 9 keys; 16 is the library minimum
	ledgerMaxArrayLength = 16 // no arrays in these formats; 16 is the library minimum
	ledgerMaxNesting     = 4  // entry → body map → byte strings; 4 is the library minimum
)

var (
	ledgerEnc cbor.EncMode
	ledgerDec cbor.DecMode
	// ledgerProbe reads only the version of an entry strict decoding refused, so that a
	// newer format is reported as unknown_version rather than malformed.
	ledgerProbe cbor.DecMode
)

func init() {
	eo := cbor.CoreDetEncOptions()
	// A nil slice must encode like an empty one, else null and h'' would both round-trip and
	// one value would have two encodings.
	eo.NilContainers = cbor.NilContainerAsEmpty
	var err error
	if ledgerEnc, err = eo.EncMode(); err != nil {
		panic(fmt.Sprintf("payments: cbor encoder options: %v", err))
	}
	strict := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxArrayElements:  ledgerMaxArrayLength,
		MaxMapPairs:       ledgerMaxMapPairs,
		MaxNestedLevels:   ledgerMaxNesting,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
	}
	if ledgerDec, err = strict.DecMode(); err != nil {
		panic(fmt.Sprintf("payments: cbor decoder options: %v", err))
	}
	probe := strict
	probe.ExtraReturnErrors = cbor.ExtraDecErrorNone
	if ledgerProbe, err = probe.DecMode(); err != nil {
		panic(fmt.Sprintf("payments: cbor probe options: %v", err))
	}
}

// Encode returns e's canonical bytes after checking that Decode would accept them: known
// version and kind, a well-formed envelope, a canonical body of the kind's type, and the size
// bound. It does not check the signature.
func Encode(e *Entry) ([]byte, error) {
	if err := checkEnvelope(e); err != nil {
		return nil, err
	}
	if _, err := decodeBody(e); err != nil {
		return nil, err
	}
	b, err := marshalEntry(e)
	if err != nil {
		return nil, err
	}
	if err := checkSize(e.Kind, len(b)); err != nil {
		return nil, err
	}
	return b, nil
}

// Decode parses one entry from the network: bounded, strict, canonical (Encode of the result
// gives back b exactly), envelope well-formed and body a canonical value of the kind's type.
// Values inside the body, the signature and the chain are the Validator's business. Errors
// carry a Rejection.
func Decode(b []byte) (*Entry, error) {
	e, err := decodeEnvelope(b)
	if err != nil {
		return nil, err
	}
	if _, err := decodeBody(e); err != nil {
		return nil, err
	}
	return e, nil
}

// decodeEnvelope is Decode without the body: what a fork proof needs of its two entries.
func decodeEnvelope(b []byte) (*Entry, error) {
	if len(b) > MaxForkProofSize {
		return nil, rejectf(ReasonTooLarge, "%d bytes, limit %d", len(b), MaxForkProofSize)
	}
	var e Entry
	if err := ledgerDec.Unmarshal(b, &e); err != nil {
		var probe struct {
			Version uint64 `cbor:"1,keyasint"`
		}
		if ledgerProbe.Unmarshal(b, &probe) == nil && probe.Version != Version {
			return nil, rejectf(ReasonUnknownVersion, "version %d, want %d", probe.Version, Version)
		}
		return nil, rejectf(ReasonMalformed, "%v", err)
	}
	if err := checkEnvelope(&e); err != nil {
		return nil, err
	}
	if err := checkSize(e.Kind, len(b)); err != nil {
		return nil, err
	}
	canon, err := marshalEntry(&e)
	if err != nil {
		return nil, rejectf(ReasonMalformed, "re-encode: %v", err)
	}
	if err := checkCanonical(b, canon); err != nil {
		return nil, err
	}
	return &e, nil
}

// checkEnvelope checks the fields every entry has, except the signature.
func checkEnvelope(e *Entry) error {
	switch {
	case e.Version != Version:
		return rejectf(ReasonUnknownVersion, "version %d, want %d", e.Version, Version)
	case e.Kind < KindDownload || e.Kind > KindForkProof:
		return rejectf(ReasonUnknownKind, "kind %d", e.Kind)
	case !isEd25519ID(e.Author):
		return rejectf(ReasonMalformed, "author is not an Ed25519 peer ID (%d bytes)", len(e.Author))
	case e.Seq == 0:
		return rejectf(ReasonMalformed, "seq 0: sequences count from 1")
	case e.Seq == 1 && len(e.Prev) != 0:
		return rejectf(ReasonMalformed, "seq 1 has a prev")
	case e.Seq > 1 && len(e.Prev) != prevSize:
		return rejectf(ReasonMalformed, "prev is %d bytes, want %d", len(e.Prev), prevSize)
	case e.Time < 0:
		return rejectf(ReasonMalformed, "negative time %d", e.Time)
	}
	return nil
}

func checkSize(k Kind, n int) error {
	limit := MaxEntrySize
	if k == KindForkProof {
		limit = MaxForkProofSize
	}
	if n > limit {
		return rejectf(ReasonTooLarge, "%d bytes, limit %d for kind %d", n, limit, k)
	}
	return nil
}

// checkCanonical rejects inputs that decode but are not the bytes we would emit (long integer
// forms, unsorted keys, null for empty, ...), which would make one value have several IDs.
func checkCanonical(got, canon []byte) error {
	if i := firstDifference(got, canon); i >= 0 {
		return rejectf(ReasonNonCanonical, "first difference at byte %d", i)
	}
	return nil
}

// firstDifference is the index of the first byte where a and b differ, -1 if they are equal.
func firstDifference(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// marshalEntry encodes e with no checks: the hot path of IDs and signing bytes.
func marshalEntry(e *Entry) ([]byte, error) {
	b, err := ledgerEnc.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("payments: encode entry: %w", err)
	}
	return b, nil
}

// SigningBytes is what the author signs: a domain string, then the canonical encoding of e with
// Sig empty (so the signature covers every other field, Body bytes included).
func (e *Entry) SigningBytes() ([]byte, error) {
	u := *e
	u.Sig = nil
	b, err := marshalEntry(&u)
	if err != nil {
		return nil, err
	}
	return append([]byte(entryDomain), b...), nil
}

// ID is BLAKE3-256 of e's canonical encoding, signature included.
func (e *Entry) ID() (ID, error) {
	b, err := Encode(e)
	if err != nil {
		return ID{}, err
	}
	return blake3.Sum256(b), nil
}

// Signer is an Ed25519 private key as libp2p's crypto.PrivKey presents one: Raw is the 64-byte
// private key (seed then public key). Taking this instead of crypto.PrivKey keeps the ledger core
// free of libp2p's networking packages; verification uses crypto/ed25519 directly.
type Signer interface {
	Sign(msg []byte) ([]byte, error)
	Raw() ([]byte, error)
}

// Sign makes e an entry of priv's author: it sets Version and Author, signs, and checks that
// the result encodes within bounds. Seq, Prev, Time, Kind and Body are the caller's (see Next).
func Sign(priv Signer, e *Entry) error {
	author, err := ed25519ID(priv)
	if err != nil {
		return err
	}
	e.Version = Version
	e.Author = author
	e.Sig = nil
	if _, err := Encode(e); err != nil {
		return err
	}
	msg, err := e.SigningBytes()
	if err != nil {
		return err
	}
	sig, err := priv.Sign(msg)
	if err != nil {
		return fmt.Errorf("payments: sign: %w", err)
	}
	e.Sig = sig
	if _, err := Encode(e); err != nil {
		e.Sig = nil
		return err
	}
	return nil
}

// VerifySig checks that Sig is Author's signature over SigningBytes.
func (e *Entry) VerifySig() error {
	pub, err := ed25519Key(e.Author)
	if err != nil {
		return rejectf(ReasonBadSignature, "author: %v", err)
	}
	return e.verifyWith(pub)
}

func (e *Entry) verifyWith(pub ed25519.PublicKey) error {
	if len(e.Sig) != signatureSize {
		return rejectf(ReasonBadSignature, "signature is %d bytes, want %d", len(e.Sig), signatureSize)
	}
	msg, err := e.SigningBytes()
	if err != nil {
		return rejectf(ReasonMalformed, "%v", err)
	}
	if !ed25519.Verify(pub, msg, e.Sig) {
		return rejectf(ReasonBadSignature, "signature does not verify under the author's key")
	}
	return nil
}

// Next returns the Seq and Prev of the entry that follows prev in its author's chain; prev nil
// starts a chain. An entry that cannot be encoded has no successor: (0, nil), which Sign refuses.
func Next(prev *Entry) (seq uint64, prevID []byte) {
	if prev == nil {
		return 1, nil
	}
	b, err := marshalEntry(prev)
	if err != nil {
		return 0, nil
	}
	id := blake3.Sum256(b)
	return prev.Seq + 1, id[:]
}

// EncodeBody returns the canonical encoding of a body value (Download, Storage, ... or a
// pointer to one) for Entry.Body.
func EncodeBody(v any) (cbor.RawMessage, error) {
	switch v.(type) {
	case Download, *Download, Storage, *Storage, Price, *Price, Partner, *Partner,
		Statement, *Statement, ForkProof, *ForkProof:
	default:
		return nil, fmt.Errorf("payments: %T is not an entry body", v)
	}
	b, err := ledgerEnc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("payments: encode body: %w", err)
	}
	return b, nil
}

// decodeBody decodes e.Body into the kind's type (structure and canonical form only).
func decodeBody(e *Entry) (any, error) {
	switch e.Kind {
	case KindDownload:
		return DecodeDownload(e)
	case KindStorage:
		return DecodeStorage(e)
	case KindPrice:
		return DecodePrice(e)
	case KindPartner:
		return DecodePartner(e)
	case KindStatement:
		return DecodeStatement(e)
	case KindForkProof:
		return DecodeForkProof(e)
	}
	return nil, rejectf(ReasonUnknownKind, "kind %d", e.Kind)
}

// The typed body decoders check the kind, decode strictly and insist on the canonical form.
// They check structure only: whether the values make sense is the Validator's job.

func DecodeDownload(e *Entry) (*Download, error)   { return decodeBodyAs[Download](e, KindDownload) }
func DecodeStorage(e *Entry) (*Storage, error)     { return decodeBodyAs[Storage](e, KindStorage) }
func DecodePrice(e *Entry) (*Price, error)         { return decodeBodyAs[Price](e, KindPrice) }
func DecodePartner(e *Entry) (*Partner, error)     { return decodeBodyAs[Partner](e, KindPartner) }
func DecodeStatement(e *Entry) (*Statement, error) { return decodeBodyAs[Statement](e, KindStatement) }
func DecodeForkProof(e *Entry) (*ForkProof, error) { return decodeBodyAs[ForkProof](e, KindForkProof) }

func decodeBodyAs[T any](e *Entry, k Kind) (*T, error) {
	if e.Kind != k {
		return nil, rejectf(ReasonMalformed, "entry is kind %d, not %d", e.Kind, k)
	}
	v := new(T)
	if err := ledgerDec.Unmarshal(e.Body, v); err != nil {
		return nil, rejectf(ReasonMalformed, "body: %v", err)
	}
	canon, err := ledgerEnc.Marshal(v)
	if err != nil {
		return nil, rejectf(ReasonMalformed, "body re-encode: %v", err)
	}
	if i := firstDifference(e.Body, canon); i >= 0 {
		return nil, rejectf(ReasonNonCanonical, "body: first difference at byte %d", i)
	}
	return v, nil
}

// counterSigningBytes is what the server signs: a domain string, then the canonical body with
// ServerSig empty. The body names the Downloader, so only that author can post it.
func (d *Download) counterSigningBytes() ([]byte, error) {
	u := *d
	u.ServerSig = nil
	b, err := ledgerEnc.Marshal(&u)
	if err != nil {
		return nil, fmt.Errorf("payments: encode download: %w", err)
	}
	return append([]byte(counterSignDomain), b...), nil
}

// CounterSign is the serving node's signature on a download receipt: it sets Server to priv's
// peer ID and ServerSig to its signature. The downloader then puts d in its entry.
func CounterSign(priv Signer, d *Download) error {
	server, err := ed25519ID(priv)
	if err != nil {
		return err
	}
	d.Server = server
	d.ServerSig = nil
	msg, err := d.counterSigningBytes()
	if err != nil {
		return err
	}
	sig, err := priv.Sign(msg)
	if err != nil {
		return fmt.Errorf("payments: countersign: %w", err)
	}
	d.ServerSig = sig
	return nil
}

// VerifyCounterSig checks ServerSig against the key embedded in Server.
func (d *Download) VerifyCounterSig() error {
	if len(d.ServerSig) == 0 {
		return rejectf(ReasonMissingCountersignature, "download has no server signature")
	}
	if len(d.ServerSig) != signatureSize {
		return rejectf(ReasonBadCountersignature, "server signature is %d bytes, want %d", len(d.ServerSig), signatureSize)
	}
	pub, err := ed25519Key(d.Server)
	if err != nil {
		return rejectf(ReasonBadCountersignature, "server: %v", err)
	}
	msg, err := d.counterSigningBytes()
	if err != nil {
		return rejectf(ReasonMalformed, "%v", err)
	}
	if !ed25519.Verify(pub, msg, d.ServerSig) {
		return rejectf(ReasonBadCountersignature, "server signature does not verify")
	}
	return nil
}

// NewForkProof proves that a and b, both validly signed by one author at one Seq and different,
// fork that author's chain. The two encodings are stored in byte order, so one pair of entries
// has exactly one proof (and one proof entry ID per finder and position).
func NewForkProof(a, b *Entry) (*ForkProof, error) {
	ab, err := Encode(a)
	if err != nil {
		return nil, fmt.Errorf("payments: fork proof entry a: %w", err)
	}
	bb, err := Encode(b)
	if err != nil {
		return nil, fmt.Errorf("payments: fork proof entry b: %w", err)
	}
	if bytes.Compare(ab, bb) > 0 {
		ab, bb = bb, ab
	}
	p := &ForkProof{A: ab, B: bb}
	if _, _, err := p.check(); err != nil {
		return nil, err
	}
	return p, nil
}

// check verifies a fork proof and returns the forked author and Seq.
func (p *ForkProof) check() (author string, seq uint64, err error) {
	if len(p.A) > MaxEntrySize || len(p.B) > MaxEntrySize {
		return "", 0, rejectf(ReasonBadForkProof, "entries of %d and %d bytes, limit %d", len(p.A), len(p.B), MaxEntrySize)
	}
	if bytes.Compare(p.A, p.B) >= 0 {
		return "", 0, rejectf(ReasonBadForkProof, "entries equal or not in byte order")
	}
	a, err := decodeEnvelope(p.A)
	if err != nil {
		return "", 0, rejectf(ReasonBadForkProof, "entry a: %v", err)
	}
	b, err := decodeEnvelope(p.B)
	if err != nil {
		return "", 0, rejectf(ReasonBadForkProof, "entry b: %v", err)
	}
	if !bytes.Equal(a.Author, b.Author) || a.Seq != b.Seq {
		return "", 0, rejectf(ReasonBadForkProof, "entries are not by one author at one seq")
	}
	pub, err := ed25519Key(a.Author)
	if err != nil {
		return "", 0, rejectf(ReasonBadForkProof, "author: %v", err)
	}
	if err := a.verifyWith(pub); err != nil {
		return "", 0, rejectf(ReasonBadForkProof, "entry a: %v", err)
	}
	if err := b.verifyWith(pub); err != nil {
		return "", 0, rejectf(ReasonBadForkProof, "entry b: %v", err)
	}
	return string(a.Author), a.Seq, nil
}

// ed25519Prefix is how an Ed25519 peer ID starts: identity multihash (0x00) of 36 bytes, then
// the protobuf PublicKey{Type: Ed25519 (0x08 0x01), Data: 32 bytes (0x12 0x20)}. It is the
// only form of an Ed25519 key's ID, so one key has one identity in the ledger.
var ed25519Prefix = []byte{0x00, 0x24, 0x08, 0x01, 0x12, 0x20}

const ed25519IDSize = 38

func isEd25519ID(b []byte) bool {
	return len(b) == ed25519IDSize && bytes.HasPrefix(b, ed25519Prefix)
}

// ed25519Key returns the public key an Ed25519 peer ID embeds.
func ed25519Key(id []byte) (ed25519.PublicKey, error) {
	if !isEd25519ID(id) {
		return nil, errors.New("not an Ed25519 peer ID")
	}
	return ed25519.PublicKey(bytes.Clone(id[len(ed25519Prefix):])), nil
}

// ed25519ID is priv's peer ID bytes, refusing other key types (verifiers take the key from the
// ID, and the ledger reads Ed25519 only). It checks that the key's two halves agree and that it
// signs, so a key of another type cannot pass for Ed25519.
func ed25519ID(priv Signer) ([]byte, error) {
	if priv == nil {
		return nil, errors.New("payments: no signing key")
	}
	raw, err := priv.Raw()
	if err != nil || len(raw) != ed25519.PrivateKeySize {
		return nil, errors.New("payments: signing key must be Ed25519")
	}
	pub := ed25519.PrivateKey(raw).Public().(ed25519.PublicKey)
	if !bytes.Equal(pub, raw[ed25519.SeedSize:]) {
		return nil, errors.New("payments: signing key must be Ed25519")
	}
	probe := []byte("cairn-ledger-key-check")
	if sig, err := priv.Sign(probe); err != nil || !ed25519.Verify(pub, probe, sig) {
		return nil, errors.New("payments: signing key must be Ed25519")
	}
	return append(bytes.Clone(ed25519Prefix), pub...), nil
}

// accountName is how settlement names a peer: its ID in base58btc, as libp2p prints peer IDs.
func accountName(raw string) string { return base58.Encode([]byte(raw)) }
