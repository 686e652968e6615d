package store

import (
	"bytes"
	"sync/atomic"
	"testing"

	"github.com/ipfs/go-cid"
)

// BenchmarkPut measures Put of 4 MiB blobs: streaming, bao hashing,
// verification, file write (+fsyncs unless nosync) and index commit.
// Inputs are precomputed and each blob is deleted after its Put so it can be
// stored afresh next time (and disk use stays bounded). The sequential cases
// time Put alone; the parallel cases time Put+Delete cycles from
// 2×GOMAXPROCS goroutines, each on its own blob.
func BenchmarkPut(b *testing.B) {
	const size = 4 << 20
	for _, bc := range []struct {
		name     string
		noSync   bool
		parallel bool
	}{
		{"sync", false, false},
		{"nosync", true, false},
		{"sync-parallel", false, true},
		{"nosync-parallel", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := openTest(b, b.TempDir(), Options{NoSync: bc.noSync})
			tok, h := token("bench")
			const nblobs = 64
			datas := make([][]byte, nblobs)
			cids := make([]cid.Cid, nblobs)
			for i := range datas {
				datas[i] = randBytes(uint64(i), size)
				cids[i] = cidOf(b, datas[i])
			}
			cycle := func(i int, timeDelete bool) {
				if _, err := s.Put(cids[i], size, bytes.NewReader(datas[i]), Ref{DeleteHash: h}); err != nil {
					b.Fatal(err)
				}
				if !timeDelete {
					b.StopTimer()
					defer b.StartTimer()
				}
				if err := s.Delete(cids[i], tok); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(size)
			b.ResetTimer()
			if !bc.parallel {
				for i := range b.N {
					cycle(i%nblobs, false)
				}
				return
			}
			var worker atomic.Int64
			b.SetParallelism(2)
			b.RunParallel(func(pb *testing.PB) {
				w := int(worker.Add(1)-1) % nblobs
				for pb.Next() {
					cycle(w, true)
				}
			})
		})
	}
}
