package audit

import (
	"encoding/binary"
	"io"
	"slices"

	"github.com/ipfs/go-cid"
	"lukechampine.com/blake3"
)

// rangesContext separates this use of the nonce from any other keyed hash of a CID.
const rangesContext = "cairn audit ranges v1"

// Ranges derives the groups an audit of shard challenges: count distinct whole bao groups
// (the last one of a shard may be shorter), or every group of a shard that has no more than
// count, sorted by offset. They are a BLAKE3 keyed hash (key nonce) of the shard and its size,
// so the challenger and the holder agree on them, and only a holder that learns the nonce
// (with the challenge) can know them. A shard of size <= 0, or count <= 0, gives none.
func Ranges(nonce [32]byte, shard cid.Cid, size int64, count int) []Range {
	if size <= 0 || count <= 0 {
		return nil
	}
	groups := (uint64(size) + GroupSize - 1) / GroupSize
	h := blake3.New(32, nonce[:])
	h.Write([]byte(rangesContext))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(size)))
	h.Write(shard.Bytes())
	picks := pickDistinct(h.XOF(), groups, count)
	slices.Sort(picks)
	out := make([]Range, len(picks))
	for i, g := range picks {
		off := g * GroupSize
		out[i] = Range{Off: off, Len: min(GroupSize, uint64(size)-off)}
	}
	return out
}

// pickDistinct draws min(k, n) distinct values of [0, n) uniformly from rnd: the first steps of
// a Fisher–Yates shuffle of 0..n-1, with only the swapped positions kept, so it takes k draws
// and O(k) memory however large n is.
func pickDistinct(rnd io.Reader, n uint64, k int) []uint64 {
	if uint64(k) >= n {
		out := make([]uint64, n)
		for i := range out {
			out[i] = uint64(i)
		}
		return out
	}
	moved := make(map[uint64]uint64, k) // position → value, where it differs from the position
	at := func(i uint64) uint64 {
		if v, ok := moved[i]; ok {
			return v
		}
		return i
	}
	out := make([]uint64, k)
	for i := uint64(0); i < uint64(k); i++ {
		j := i + uniform(rnd, n-i)
		out[i] = at(j)
		moved[j] = at(i) // position i is never read again
	}
	return out
}

// uniform draws a value of [0, n) without modulo bias, rejecting the 2^64 mod n lowest draws.
func uniform(rnd io.Reader, n uint64) uint64 {
	reject := -n % n
	var b [8]byte
	for {
		_, _ = io.ReadFull(rnd, b[:]) // a BLAKE3 XOF never fails
		if v := binary.LittleEndian.Uint64(b[:]); v >= reject {
			return v % n
		}
	}
}
