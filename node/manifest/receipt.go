package manifest

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"lukechampine.com/blake3"
)

// Signature domains: each says what is signed, so a signature made for one
// purpose can never be replayed as another.
const (
	receiptDomain  = "cairn-receipt-v2\x00"
	endorseDomain  = "cairn-endorse-v2\x00"
	stewardsDomain = "cairn-stewards-v2\x00"
)

// Receipt is a holder's signed statement that it stores the shards at
// Positions of one manifest, having checked their bytes against the CIDs.
type Receipt struct {
	// Manifest is implied by the enclosing Locations on the wire.
	Manifest  cid.Cid
	Holder    peer.ID  // must embed its public key
	Positions []uint32 // strictly ascending flat positions seg*N + shard, non-empty
	// Time is unix seconds by the holder's clock: a newer receipt from the
	// same holder replaces an older one.
	Time int64
	Sig  []byte // Holder's signature over SigningBytes
}

// Signature is one peer's signature; Signer must embed its public key.
type Signature struct {
	Signer peer.ID
	Sig    []byte
}

// manifestView is a validated manifest with its CID computed once:
// encoding a big manifest is too costly to repeat per signature.
type manifestView struct {
	m  *Manifest
	id cid.Cid
}

func viewOf(m *Manifest) (*manifestView, error) {
	enc, err := m.Encode()
	if err != nil {
		return nil, err
	}
	return &manifestView{m: m, id: CID(enc)}, nil
}

// SigningBytes is what Holder signs: the domain, the manifest CID, the
// holder, the time, and each position with the shard CID at it, so the
// signature covers the actual CIDs the holder verified.
func (r *Receipt) SigningBytes(m *Manifest) ([]byte, error) {
	v, err := viewOf(m)
	if err != nil {
		return nil, err
	}
	b, err := r.signingBytes(v)
	if err != nil {
		return nil, fmt.Errorf("receipt: %w", err)
	}
	return b, nil
}

func (r *Receipt) signingBytes(v *manifestView) ([]byte, error) {
	if !r.Manifest.Equals(v.id) {
		return nil, fmt.Errorf("receipt is for manifest %s, not %s", r.Manifest, v.id)
	}
	return receiptMessage(v.id, r.Holder, r.Time, r.Positions, func(_ int, p uint32) (cid.Cid, error) {
		c, ok := v.m.shardAt(p)
		if !ok {
			return cid.Undef, fmt.Errorf("position %d out of range (manifest has %d shards)", p, v.m.shardCount())
		}
		return c, nil
	})
}

// receiptMessage is the byte string a receipt's signature covers; shardAt gives the shard CID at
// the i-th position (from the manifest, or from the uploader's request when the holder signs).
func receiptMessage(mc cid.Cid, holder peer.ID, time int64, positions []uint32, shardAt func(i int, p uint32) (cid.Cid, error)) ([]byte, error) {
	if err := checkPositions(positions); err != nil {
		return nil, err
	}
	b := []byte(receiptDomain)
	b = appendLP(b, mc.Bytes())
	b = appendLP(b, []byte(holder))
	b = binary.BigEndian.AppendUint64(b, uint64(time))
	b = binary.AppendUvarint(b, uint64(len(positions)))
	for i, p := range positions {
		c, err := shardAt(i, p)
		if err != nil {
			return nil, err
		}
		b = binary.BigEndian.AppendUint32(b, p)
		b = appendLP(b, c.Bytes())
	}
	return b, nil
}

// Sign sets Manifest to m's CID and Holder to priv's peer ID, and signs.
// Positions and Time must be set.
func (r *Receipt) Sign(priv crypto.PrivKey, m *Manifest) error {
	v, err := viewOf(m)
	if err != nil {
		return fmt.Errorf("receipt: sign: %w", err)
	}
	id, err := signerID(priv)
	if err != nil {
		return fmt.Errorf("receipt: sign: %w", err)
	}
	if r.Time < 0 {
		return fmt.Errorf("receipt: sign: negative time %d", r.Time)
	}
	prevM, prevH := r.Manifest, r.Holder
	r.Manifest, r.Holder = v.id, id
	msg, err := r.signingBytes(v)
	var sig []byte
	if err == nil {
		_, sig, err = sign(priv, msg)
	}
	if err != nil {
		r.Manifest, r.Holder = prevM, prevH
		return fmt.Errorf("receipt: sign: %w", err)
	}
	r.Sig = sig
	return nil
}

// Verify checks the receipt's structure and the holder's signature for m.
func (r *Receipt) Verify(m *Manifest) error {
	v, err := viewOf(m)
	if err != nil {
		return err
	}
	if err := r.verify(v); err != nil {
		return fmt.Errorf("receipt: %w", err)
	}
	return nil
}

func (r *Receipt) verify(v *manifestView) error {
	if err := r.check(); err != nil {
		return err
	}
	msg, err := r.signingBytes(v)
	if err != nil {
		return err
	}
	return verifySig(r.Holder, msg, r.Sig)
}

// check is the structural part of verify, all a decoder can check.
func (r *Receipt) check() error {
	if err := checkPeerID(r.Holder); err != nil {
		return fmt.Errorf("holder: %w", err)
	}
	if err := checkPositions(r.Positions); err != nil {
		return err
	}
	if r.Time < 0 {
		return fmt.Errorf("negative time %d", r.Time)
	}
	return checkSig(r.Sig)
}

func checkPositions(ps []uint32) error {
	if len(ps) == 0 {
		return errors.New("no positions")
	}
	for i := 1; i < len(ps); i++ {
		if ps[i] <= ps[i-1] {
			return fmt.Errorf("positions not strictly ascending (%d then %d)", ps[i-1], ps[i])
		}
	}
	return nil
}

// receiptBytes is the receipt's canonical encoding, as inside Locations.
func (r *Receipt) receiptBytes() []byte {
	b, err := marshal(r.wire())
	if err != nil {
		// Only ints and byte strings: the encoder cannot fail.
		panic(fmt.Sprintf("manifest: encode receipt: %v", err))
	}
	return b
}

// Endorse signs r (as it is, signature included) for r.Manifest, vouching
// that r's holder counts for the positions it names. Owners endorse at put
// time, stewards after a repair.
func Endorse(priv crypto.PrivKey, r *Receipt) (Signature, error) {
	if err := checkCID(r.Manifest, codecCBOR); err != nil {
		return Signature{}, fmt.Errorf("endorse: manifest: %w", err)
	}
	if err := r.check(); err != nil {
		return Signature{}, fmt.Errorf("endorse: receipt: %w", err)
	}
	id, sig, err := sign(priv, endorseBytes(r.Manifest, r))
	if err != nil {
		return Signature{}, fmt.Errorf("endorse: %w", err)
	}
	return Signature{Signer: id, Sig: sig}, nil
}

func endorseBytes(m cid.Cid, r *Receipt) []byte {
	h := blake3.Sum256(r.receiptBytes())
	b := []byte(endorseDomain)
	b = appendLP(b, m.Bytes())
	return append(b, h[:]...)
}

func appendLP(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}
