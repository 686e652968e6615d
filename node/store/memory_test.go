package store

import (
	"io"
	"runtime"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	"lukechampine.com/blake3"
)

// patternReader yields n deterministic bytes without holding them.
type patternReader struct{ off, n int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.off)]
	for i := range p {
		x := uint64(r.off + int64(i))
		p[i] = byte(x*2654435761>>13) ^ byte(x>>8)
	}
	r.off += int64(len(p))
	return len(p), nil
}

func TestPutStreams(t *testing.T) {
	const size = 32 << 20
	h := blake3.New(32, nil)
	io.Copy(h, &patternReader{n: size})
	mh, _ := multihash.Encode(h.Sum(nil), multihash.BLAKE3)
	c := cid.NewCidV1(cid.Raw, mh)

	s := openTest(t, t.TempDir(), Options{NoSync: true})
	_, ref := token("1")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := s.Put(c, size, &patternReader{n: size}, Ref{DeleteHash: ref}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// Outboard (~128 KiB) plus fixed buffers; a buffered blob would be 32 MiB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Fatalf("Put of %d MiB allocated %d KiB", size>>20, alloc>>10)
	}
	if err := s.Verify(c); err != nil {
		t.Fatal(err)
	}
}
