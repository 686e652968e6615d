// Package audit proves that a holder still stores a shard, without the challenger keeping a
// copy. The challenger draws a fresh random nonce; both sides derive from it the same few 16 KiB
// bao groups of the shard (Ranges); the holder answers with their bao slice encodings (Prove),
// which the challenger checks against the shard CID alone (Verify), since a shard's CID digest
// is the root of its bao tree. The package is pure: it does no I/O besides what it is handed.
//
// A holder that lost or damaged a fraction f of its groups passes one audit of r ranges with
// probability about (1-f)^r; ranges it cannot predict make precomputed answers useless.
package audit

import (
	"errors"
	"fmt"

	"github.com/cairn-storage/cairn/node/codec"
	"lukechampine.com/blake3/guts"
)

// DefaultRangesPerShard is how many groups an audit challenges per shard: two 16 KiB groups of a
// 4 MiB shard cost the holder one disk read each and the wire about 34 KiB.
const DefaultRangesPerShard = 2

// GroupSize is one bao group (codec.BaoGroup), the unit Ranges challenges.
const GroupSize = guts.ChunkSize << codec.BaoGroup

// sliceHeader is the 8-byte little-endian shard size that opens every slice encoding.
const sliceHeader = 8

// parentSize is one bao parent node on a slice's path: two chaining values.
const parentSize = 64

// ErrBadProof means a proof does not show possession of the challenged ranges.
var ErrBadProof = errors.New("audit: proof does not verify")

// Range is a byte range of a shard: Len bytes from Off.
type Range struct{ Off, Len uint64 }

// check tells whether r is a non-empty range inside a size-byte shard.
func (r Range) check(size int64) error {
	if size < 0 || r.Len == 0 || r.Len > uint64(size) || r.Off > uint64(size)-r.Len {
		return fmt.Errorf("audit: range [%d, +%d) is empty or outside a %d-byte shard", r.Off, r.Len, size)
	}
	return nil
}
