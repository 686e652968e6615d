package audit

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkProve is a holder answering one shard's audit: derive the ranges, read the groups
// and write their slices. proof-bytes/op is what the answer costs on the wire.
func BenchmarkProve(b *testing.B) {
	s := newShard(b, 1, 4<<20)
	data := bytes.NewReader(s.data)
	var proofBytes int
	b.SetBytes(0)
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		rs := Ranges(nonce(i), s.cid, s.size(), DefaultRangesPerShard)
		if err := Prove(io.Discard, data, s.outboard, s.size(), rs); err != nil {
			b.Fatal(err)
		}
		proofBytes = ProofSize(s.size(), rs)
		i++
	}
	b.ReportMetric(float64(proofBytes), "proof-bytes/op")
}

// BenchmarkVerify is the challenger checking one shard's answer against its CID.
func BenchmarkVerify(b *testing.B) {
	s := newShard(b, 1, 4<<20)
	const variants = 64
	type q struct {
		rs    []Range
		proof []byte
	}
	qs := make([]q, variants)
	for i := range qs {
		rs := Ranges(nonce(uint64(i)), s.cid, s.size(), DefaultRangesPerShard)
		qs[i] = q{rs, s.prove(b, rs)}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		x := qs[i%variants]
		if err := Verify(s.cid, s.size(), x.rs, x.proof); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(len(qs[0].proof)), "proof-bytes/op")
}
