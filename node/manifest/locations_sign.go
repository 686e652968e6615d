package manifest

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// signPrefix separates this signature domain from anything else the same
// peer key signs.
const signPrefix = "cairn-locations-v1:"

// Sign sets Author to priv's peer ID and signs the record. Only keys whose
// peer ID embeds the public key (Ed25519, secp256k1) are accepted, since
// Verify has nothing else to check the signature against.
func (l *Locations) Sign(priv crypto.PrivKey) error {
	if priv == nil {
		return errors.New("locations: sign: nil key")
	}
	if err := l.validateBody(); err != nil {
		return err
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return fmt.Errorf("locations: sign: %w", err)
	}
	if _, err := id.ExtractPublicKey(); err != nil {
		return fmt.Errorf("locations: sign: peer ID %s does not embed its public key (use Ed25519): %w", id, err)
	}
	prev := l.Author
	l.Author = id // signingBytes covers Author
	sig, err := priv.Sign(l.signingBytes())
	if err != nil {
		l.Author = prev
		return fmt.Errorf("locations: sign: %w", err)
	}
	l.Signature = sig
	return nil
}

// Verify checks the record's structure and that Author signed it.
func (l *Locations) Verify() error {
	if err := l.validate(); err != nil {
		return err
	}
	pub, err := l.Author.ExtractPublicKey()
	if err != nil {
		return fmt.Errorf("locations: author %s: cannot extract public key: %w", l.Author, err)
	}
	// An identity multihash can wrap any key; insist it is that key's
	// canonical ID so one signer has one author ID.
	if !l.Author.MatchesPublicKey(pub) {
		return fmt.Errorf("locations: author %s is not the canonical ID of its embedded key", l.Author)
	}
	ok, err := pub.Verify(l.signingBytes(), l.Signature)
	if err != nil {
		return fmt.Errorf("locations: bad signature by %s: %w", l.Author, err)
	}
	if !ok {
		return fmt.Errorf("locations: bad signature by %s", l.Author)
	}
	return nil
}

// signingBytes is a length-prefixed binary encoding of every field but
// Signature. It is independent of the JSON form, so JSON details can never
// change what a signature means.
func (l *Locations) signingBytes() []byte {
	b := []byte(signPrefix)
	b = appendLP(b, l.Manifest.Bytes())
	b = binary.BigEndian.AppendUint64(b, l.Seq)
	b = binary.AppendUvarint(b, uint64(len(l.Peers)))
	for _, p := range l.Peers {
		b = appendLP(b, []byte(p))
	}
	b = binary.AppendUvarint(b, uint64(len(l.Holders)))
	for _, row := range l.Holders {
		b = binary.AppendUvarint(b, uint64(len(row)))
		for _, h := range row {
			b = binary.AppendVarint(b, int64(h))
		}
	}
	b = appendLP(b, []byte(l.Author))
	b = binary.BigEndian.AppendUint64(b, uint64(l.Time))
	return b
}

func appendLP(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}
