package codec

import (
	"testing"

	"lukechampine.com/blake3"
	"pgregory.net/rapid"
)

func TestSum256MatchesBlake3(t *testing.T) {
	data := randBytes(99, 4<<20+100)
	// Every size class around chunk, group and power-of-two boundaries.
	sizes := []int{0, 1, 64, 1023, 1024, 1025, 2048, 16<<10 - 1, 16 << 10, 16<<10 + 1,
		17 << 10, 31<<10 + 5, 32 << 10, 48<<10 + 1024, 1<<20 + 4, 4 << 20, 4<<20 + 4, 4<<20 + 100}
	for c := 1; c <= 16; c++ {
		sizes = append(sizes, 16<<10+c<<10, 16<<10+c<<10+1, 16<<10+c<<10-1)
	}
	for _, n := range sizes {
		if got, want := sum256(data[:n]), blake3.Sum256(data[:n]); got != want {
			t.Fatalf("len %d: sum256 %x, blake3 %x", n, got, want)
		}
	}
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(0, 300<<10).Draw(rt, "n")
		if got, want := sum256(data[:n]), blake3.Sum256(data[:n]); got != want {
			rt.Fatalf("len %d: mismatch", n)
		}
	})
}

func BenchmarkSum256(b *testing.B) {
	data := randBytes(1, 4<<20+4)
	b.Run("serial", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			sum256(data)
		}
	})
	b.Run("blake3.Sum256", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			blake3.Sum256(data)
		}
	})
}
