package audit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"

	"github.com/cairn-storage/cairn/node/codec"
	"lukechampine.com/blake3/bao"
)

// Prove writes the bao slice encodings of rs, in order, for a size-byte shard whose bytes data
// holds and whose outboard (group codec.BaoGroup) is outboard. Each slice is assembled in memory
// first (one at a time, ProofSize of that range) and written with one call. Prove does not check
// the data: a holder proving damaged bytes writes a proof that Verify rejects.
func Prove(w io.Writer, data io.ReaderAt, outboard []byte, size int64, rs []Range) error {
	if size < 0 {
		return fmt.Errorf("audit: negative shard size %d", size)
	}
	if want := bao.EncodedSize(int(size), codec.BaoGroup, true); len(outboard) != want ||
		binary.LittleEndian.Uint64(outboard) != uint64(size) {
		return fmt.Errorf("audit: outboard of %d bytes is not the tree of a %d-byte shard", len(outboard), size)
	}
	var buf bytes.Buffer
	for i, r := range rs {
		if err := r.check(size); err != nil {
			return fmt.Errorf("range %d: %w", i, err)
		}
		// ExtractSlice wants exactly the groups the slice covers, from the first one's start.
		start := r.Off / GroupSize * GroupSize
		end := min(uint64(size), (r.Off+r.Len+GroupSize-1)/GroupSize*GroupSize)
		buf.Reset()
		buf.Grow(sliceSize(uint64(size), r))
		groups := io.NewSectionReader(data, int64(start), int64(end-start))
		if err := bao.ExtractSlice(&buf, groups, bytes.NewReader(outboard), codec.BaoGroup, r.Off, r.Len); err != nil {
			return fmt.Errorf("audit: range %d (offset %d): %w", i, r.Off, err)
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// ProofSize is exactly how many bytes Prove writes for rs of a size-byte shard, so a challenger
// knows how much to read before reading any. It is -1 if a range is empty or outside the shard.
func ProofSize(size int64, rs []Range) int {
	n := 0
	for _, r := range rs {
		if r.check(size) != nil {
			return -1
		}
		n += sliceSize(uint64(size), r)
	}
	return n
}

// sliceSize mirrors bao.ExtractSlice: the size header, then every parent node and every group
// whose span meets r, walking the same tree (left subtree: the largest power-of-two number of
// groups smaller than the whole).
func sliceSize(size uint64, r Range) int {
	n := sliceHeader
	var walk func(pos, span uint64)
	walk = func(pos, span uint64) {
		if pos >= r.Off+r.Len || r.Off >= pos+span {
			return
		}
		if span <= GroupSize {
			n += int(span)
			return
		}
		n += parentSize
		mid := uint64(1) << (bits.Len64(span-1) - 1)
		walk(pos, mid)
		walk(pos+mid, span-mid)
	}
	walk(0, size)
	return n
}
