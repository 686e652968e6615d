package codec

import (
	"lukechampine.com/blake3"
	"lukechampine.com/blake3/guts"
)

const groupBytes = guts.MaxSIMD * guts.ChunkSize // 16 KiB: one SIMD batch of chunks

// sum256 equals blake3.Sum256 but runs on the calling goroutine.
// blake3.Sum256 spawns a goroutine per 16 KiB of a large input; the Encoder
// instead parallelizes over whole shards, and EncodeStream over segments, so
// that fine-grained fan-out is pure overhead. Same tree walk as
// blake3.Hasher, 16 chunks (one AVX-512 batch) at a time.
func sum256(data []byte) [32]byte {
	if len(data) <= groupBytes {
		return blake3.Sum256(data)
	}
	var (
		stack   [64][8]uint32
		counter uint64 // chunks absorbed; bit i set = stack[i] holds a subtree
		pad     [groupBytes]byte
	)
	push := func(cv [8]uint32, height int) {
		i := height
		for ; counter&(1<<i) != 0; i++ {
			cv = guts.ChainingValue(guts.ParentNode(stack[i], cv, &guts.IV, 0))
		}
		stack[i] = cv
		counter += 1 << height
	}
	// The final chunk (possibly full) is kept back: it is merged last and
	// the root flag goes on whatever node ends up on top.
	rem := len(data) % guts.ChunkSize
	if rem == 0 {
		rem = guts.ChunkSize
	}
	body, last := data[:len(data)-rem], data[len(data)-rem:]
	for len(body) >= groupBytes {
		n := guts.CompressBuffer((*[groupBytes]byte)(body), groupBytes, &guts.IV, counter, 0)
		push(guts.ChainingValue(n), 4)
		body = body[groupBytes:]
	}
	// Fewer than 16 chunks left: push them as power-of-two subtrees, largest
	// first, each via a padded copy since the SIMD kernel reads 16 chunks.
	for h := 3; h >= 0; h-- {
		size := (1 << h) * guts.ChunkSize
		if len(body) < size {
			continue
		}
		var n guts.Node
		if h == 0 {
			n = guts.CompressChunk(body[:size], &guts.IV, counter, 0)
		} else {
			copy(pad[:], body[:size])
			n = guts.CompressBuffer(&pad, size, &guts.IV, counter, 0)
		}
		push(guts.ChainingValue(n), h)
		body = body[size:]
	}
	n := guts.CompressChunk(last, &guts.IV, counter, 0)
	for i := 0; i < 64; i++ {
		if counter&(1<<i) != 0 {
			n = guts.ParentNode(stack[i], guts.ChainingValue(n), &guts.IV, 0)
		}
	}
	n.Flags |= guts.FlagRoot
	out := guts.WordsToBytes(guts.CompressNode(n))
	return [32]byte(out[:32])
}
