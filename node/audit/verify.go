package audit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/ipfs/go-cid"
	"lukechampine.com/blake3/bao"
)

// Verify checks a proof of rs for a size-byte shard against the shard's CID alone. It returns
// nil if every slice verifies, an error wrapping ErrBadProof if the proof is wrong (wrong length,
// wrong size header, a slice that does not hash to the CID), or another error if the question
// itself is invalid (not a BLAKE3 CID, a range outside the shard).
func Verify(shard cid.Cid, size int64, rs []Range, proof []byte) error {
	root, err := codec.Digest(shard)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	want := ProofSize(size, rs)
	if want < 0 {
		return fmt.Errorf("audit: a range is empty or outside the %d-byte shard", size)
	}
	if len(proof) != want {
		return fmt.Errorf("%w: %d bytes, want %d", ErrBadProof, len(proof), want)
	}
	for i, r := range rs {
		n := sliceSize(uint64(size), r)
		slice := proof[:n]
		proof = proof[n:]
		// The size header is authenticated only through the tree shape around the last group:
		// hold it to the size we know, so a slice cannot pretend to come from another tree.
		if got := binary.LittleEndian.Uint64(slice); got != uint64(size) {
			return fmt.Errorf("%w: slice %d claims a %d-byte shard, want %d", ErrBadProof, i, got, size)
		}
		rd := bytes.NewReader(slice)
		ok, err := bao.DecodeSlice(io.Discard, rd, codec.BaoGroup, r.Off, r.Len, root)
		if err != nil || !ok || rd.Len() != 0 {
			return fmt.Errorf("%w: slice %d (offset %d, %d bytes) does not match %s", ErrBadProof, i, r.Off, r.Len, shard)
		}
	}
	return nil
}
