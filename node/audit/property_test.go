package audit

import (
	"errors"
	"testing"

	"pgregory.net/rapid"
)

// For any shard size and nonce, an honest proof verifies, and any truncated, extended or
// bit-flipped one does not.
func TestProveVerifyProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.OneOf(
			rapid.IntRange(1, 3*GroupSize),
			rapid.IntRange(1, 1<<20),
			rapid.SampledFrom([]int{GroupSize - 1, GroupSize, GroupSize + 1, 2 * GroupSize, 1 << 20}),
		).Draw(t, "size")
		s := newShard(t, rapid.Uint64().Draw(t, "seed"), size)
		var n [32]byte
		copy(n[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "nonce"))
		count := rapid.IntRange(1, 8).Draw(t, "count")
		rs := Ranges(n, s.cid, s.size(), count)
		checkRanges(t, rs, s.size(), count)
		proof := s.prove(t, rs)
		if err := Verify(s.cid, s.size(), rs, proof); err != nil {
			t.Fatalf("honest proof: %v", err)
		}
		cut := rapid.IntRange(1, len(proof)).Draw(t, "cut")
		if err := Verify(s.cid, s.size(), rs, proof[:len(proof)-cut]); !errors.Is(err, ErrBadProof) {
			t.Fatalf("proof truncated by %d bytes: %v", cut, err)
		}
		if err := Verify(s.cid, s.size(), rs, append(proof, 0)); !errors.Is(err, ErrBadProof) {
			t.Fatalf("proof with a trailing byte: %v", err)
		}
		i := rapid.IntRange(0, len(proof)-1).Draw(t, "flip")
		proof[i] ^= 1 << rapid.IntRange(0, 7).Draw(t, "bit")
		if err := Verify(s.cid, s.size(), rs, proof); !errors.Is(err, ErrBadProof) {
			t.Fatalf("proof with byte %d flipped: %v", i, err)
		}
	})
}
