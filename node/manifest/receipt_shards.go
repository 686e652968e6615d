package manifest

import (
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
)

// SignShards signs r as a holder that has not seen the manifest: receipts are signed at publish
// time, before the manifest is public. shards[i] is the CID the holder stores at r.Positions[i];
// the signature covers those CIDs, so if the uploader named the wrong ones the receipt simply
// fails Verify against the real manifest. r.Manifest, Positions and Time must be set.
func (r *Receipt) SignShards(priv crypto.PrivKey, shards []cid.Cid) error {
	if len(shards) != len(r.Positions) {
		return fmt.Errorf("receipt: sign: %d shard CIDs for %d positions", len(shards), len(r.Positions))
	}
	if err := checkCID(r.Manifest, codecCBOR); err != nil {
		return fmt.Errorf("receipt: sign: manifest: %w", err)
	}
	if r.Time < 0 {
		return fmt.Errorf("receipt: sign: negative time %d", r.Time)
	}
	id, err := signerID(priv)
	if err != nil {
		return fmt.Errorf("receipt: sign: %w", err)
	}
	msg, err := receiptMessage(r.Manifest, id, r.Time, r.Positions, func(i int, _ uint32) (cid.Cid, error) {
		if err := checkCID(shards[i], codecRaw); err != nil {
			return cid.Undef, err
		}
		return shards[i], nil
	})
	if err != nil {
		return fmt.Errorf("receipt: sign: %w", err)
	}
	_, sig, err := sign(priv, msg)
	if err != nil {
		return fmt.Errorf("receipt: sign: %w", err)
	}
	r.Holder, r.Sig = id, sig
	return nil
}
