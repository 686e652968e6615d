package manifest

import (
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
)

const (
	// MaxSignatureSize bounds every signature. Only keys small enough to be
	// inlined in a peer ID can be checked from the ID alone (Ed25519: 64-byte
	// signatures, secp256k1: DER, at most 72 bytes).
	MaxSignatureSize = 72
	// maxInlineKey is libp2p's limit for keys inlined in an identity peer
	// ID; bigger keys are hashed, so their IDs cannot embed them.
	maxInlineKey = 42
	// maxPeerIDLen is the longest peer ID that embeds its key.
	maxPeerIDLen = 2 + maxInlineKey
)

// checkPeerID is the structural check decoders apply: p is an identity
// multihash of a plausible key length. Whether the bytes really are a key,
// and that key's canonical ID, is checkSigner's job.
func checkPeerID(p peer.ID) error {
	if p == "" {
		return errors.New("empty peer ID")
	}
	dm, err := mh.Decode([]byte(p))
	if err != nil {
		return fmt.Errorf("peer ID is not a multihash: %w", err)
	}
	if dm.Code != mh.IDENTITY {
		return fmt.Errorf("peer ID %s does not embed its public key (multihash 0x%x, want identity; use Ed25519)", p, dm.Code)
	}
	if dm.Length < 1 || dm.Length > maxInlineKey {
		return fmt.Errorf("peer ID %s embeds %d key bytes, want 1..%d", p, dm.Length, maxInlineKey)
	}
	return nil
}

// checkSigner returns the public key p embeds, insisting p is that key's
// canonical ID so one key has one identity in our records.
func checkSigner(p peer.ID) (crypto.PubKey, error) {
	if err := checkPeerID(p); err != nil {
		return nil, err
	}
	pub, err := p.ExtractPublicKey()
	if err != nil {
		return nil, fmt.Errorf("peer ID %s: cannot extract public key: %w", p, err)
	}
	if !p.MatchesPublicKey(pub) {
		return nil, fmt.Errorf("peer ID %s is not the canonical ID of its embedded key", p)
	}
	return pub, nil
}

// verifySig checks that p signed msg.
func verifySig(p peer.ID, msg, sig []byte) error {
	if err := checkSig(sig); err != nil {
		return err
	}
	pub, err := checkSigner(p)
	if err != nil {
		return err
	}
	ok, err := pub.Verify(msg, sig)
	if err != nil {
		return fmt.Errorf("bad signature by %s: %w", p, err)
	}
	if !ok {
		return fmt.Errorf("bad signature by %s", p)
	}
	return nil
}

func checkSig(sig []byte) error {
	if len(sig) == 0 {
		return errors.New("missing signature")
	}
	if len(sig) > MaxSignatureSize {
		return fmt.Errorf("signature is %d bytes, max %d", len(sig), MaxSignatureSize)
	}
	return nil
}

// signerID is priv's peer ID, refusing keys whose ID cannot carry them
// (verifiers have nothing else to check signatures against).
func signerID(priv crypto.PrivKey) (peer.ID, error) {
	if priv == nil {
		return "", errors.New("nil key")
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return "", err
	}
	if _, err := checkSigner(id); err != nil {
		return "", fmt.Errorf("%w (use an Ed25519 key)", err)
	}
	return id, nil
}

// sign signs msg with priv and returns priv's peer ID.
func sign(priv crypto.PrivKey, msg []byte) (peer.ID, []byte, error) {
	id, err := signerID(priv)
	if err != nil {
		return "", nil, err
	}
	sig, err := priv.Sign(msg)
	if err != nil {
		return "", nil, err
	}
	if err := checkSig(sig); err != nil {
		return "", nil, err
	}
	return id, sig, nil
}
