package codec

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

// benchEncoder returns a warmed-up default-params Encoder and one full
// segment of plaintext, encoded as a single-segment file.
func benchEncoder(b *testing.B) (*Encoder, []byte) {
	b.Helper()
	p := DefaultParams()
	plain := randBytes(42, p.SegmentSize)
	enc, err := NewEncoder(p, testKey(1))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := enc.Encode(0, 1, int64(len(plain)), plain); err != nil {
		b.Fatal(err)
	}
	return enc, plain
}

// BenchmarkStages measures each stage alone, in plaintext bytes so that the
// figures are comparable, using the Encoder's own stage methods.
func BenchmarkStages(b *testing.B) {
	enc, plain := benchEncoder(b)
	size := int64(len(plain))
	stage := func(name string, f func() error) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				if err := f(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	stage("encrypt", func() error { enc.encrypt(0, 1, size, plain); return nil })
	stage("rs", enc.rsEncode)
	stage("hash", func() error { enc.hashShards(); return nil })
	stage("pipeline", func() error { _, err := enc.Encode(0, 1, size, plain); return err })
}

func BenchmarkEncodeStream(b *testing.B) {
	p := DefaultParams()
	const segs = 8
	file := randBytes(7, segs*p.SegmentSize)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(int64(len(file)))
			for b.Loop() {
				err := EncodeStream(context.Background(), bytes.NewReader(file), int64(len(file)), p, testKey(1), workers,
					func(*Segment) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	enc, plain := benchEncoder(b)
	seg, _ := enc.Encode(0, 1, int64(len(plain)), plain)
	p := enc.p
	dec, err := NewDecoder(p, testKey(1))
	if err != nil {
		b.Fatal(err)
	}
	// Shards as they arrive from the network: separate buffers.
	separate := cloneShards(seg.Shards)
	// Shards read into one buffer: the zero-copy path.
	whole := bytes.Join(seg.Shards, nil)
	contig := make([][]byte, p.N)
	for i := range contig {
		contig[i] = whole[i*seg.ShardSize : (i+1)*seg.ShardSize]
	}
	dst := make([]byte, 0, len(plain))
	for _, c := range []struct {
		name   string
		shards [][]byte
	}{
		{"data-contiguous", contig},
		{"data-separate", separate},
		{"reconstruct-2-data", withMissing(separate, 1<<0|1<<2)},
		{"reconstruct-4-data", withMissing(separate, 1<<0|1<<1|1<<2|1<<3)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(plain)))
			for b.Loop() {
				if dst, err = dec.Decode(0, 1, int64(len(plain)), seg.PlainSize, seg.ShardSize, c.shards, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPipelineBound times every stage alone and the whole Encode on the
// same segment within one run. Rounds interleave the four measurements and
// each keeps its fastest round, so interference from other processes (this
// is a shared 2-CPU box) hits all of them alike instead of skewing one.
// A sequential pipeline can at best reach bound = 1/Σ(1/s_i).
func BenchmarkPipelineBound(b *testing.B) {
	enc, plain := benchEncoder(b)
	size := int64(len(plain))
	names := []string{"encrypt", "rs", "hash", "pipeline"}
	steps := []func(){
		func() { enc.encrypt(0, 1, size, plain) },
		func() { _ = enc.rsEncode() },
		func() { enc.hashShards() },
		func() {
			if _, err := enc.Encode(0, 1, size, plain); err != nil {
				b.Fatal(err)
			}
		},
	}
	best := make([]time.Duration, len(steps))
	rounds := max(b.N, 20) // enough samples even with -benchtime 2x
	b.ResetTimer()
	for r := range rounds {
		for i, f := range steps {
			t0 := time.Now()
			f()
			if d := time.Since(t0); r == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	b.StopTimer()
	mbps := make([]float64, len(steps))
	var inv float64 // Σ 1/s_i over the stages
	slowest := 0
	for i, name := range names {
		mbps[i] = float64(size) / best[i].Seconds() / 1e6
		b.ReportMetric(mbps[i], name+"-MB/s")
		if i < 3 {
			inv += 1 / mbps[i]
			if mbps[i] < mbps[slowest] {
				slowest = i
			}
		}
	}
	bound, pipe := 1/inv, mbps[3]
	b.ReportMetric(bound, "bound-MB/s")
	b.ReportMetric(pipe/bound*100, "efficiency-%")
	b.Logf("%d MiB segment, best of %d rounds: encrypt %.0f, rs %.0f, hash %.0f MB/s; slowest stage: %s; bound %.0f MB/s, pipeline %.0f MB/s = %.1f%% of bound",
		size>>20, rounds, mbps[0], mbps[1], mbps[2], names[slowest], bound, pipe, pipe/bound*100)
}
