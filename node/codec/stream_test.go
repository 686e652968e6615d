package codec

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"pgregory.net/rapid"
)

// failer is the part of testing.TB that *rapid.T also has.
type failer interface {
	Fatal(args ...any)
	Error(args ...any)
	Errorf(format string, args ...any)
}

// collect runs EncodeStream and decodes every emitted segment on the spot
// (shards are only valid during emit), returning the reassembled file.
func collect(t failer, r io.Reader, size int64, p Params, key Key, workers int) ([]byte, []int, error) {
	dec, err := NewDecoder(p, key)
	if err != nil {
		t.Fatal(err)
	}
	total := SegmentCount(size, p.SegmentSize)
	var out []byte
	var order []int
	var inEmit atomic.Int32
	err = EncodeStream(context.Background(), r, size, p, key, workers, func(s *Segment) error {
		if inEmit.Add(1) != 1 {
			t.Error("emit called concurrently")
		}
		defer inEmit.Add(-1)
		order = append(order, s.Index)
		for i, sh := range s.Shards {
			if s.CIDs[i] != ShardCID(sh) {
				t.Errorf("segment %d shard %d: CID mismatch", s.Index, i)
			}
		}
		// Drop the first N-K shards to make Decode use parity.
		in := make([][]byte, p.N)
		copy(in[p.N-p.K:], s.Shards[p.N-p.K:])
		plain, err := dec.Decode(s.Index, total, size, s.PlainSize, s.ShardSize, in, nil)
		if err != nil {
			return err
		}
		out = append(out, plain...)
		return nil
	})
	return out, order, err
}

func TestEncodeStreamRoundTrip(t *testing.T) {
	p := smallParams
	key := testKey(20)
	for _, size := range []int{0, 1, p.SegmentSize, 7*p.SegmentSize + 3} {
		file := randBytes(uint64(size)+1, size)
		for _, workers := range []int{0, 1, 3, 16} {
			// OneByteReader/HalfReader exercise short reads.
			got, order, err := collect(t, iotest.HalfReader(bytes.NewReader(file)), int64(size), p, key, workers)
			if err != nil {
				t.Fatalf("size %d workers %d: %v", size, workers, err)
			}
			if !bytes.Equal(got, file) {
				t.Fatalf("size %d workers %d: round trip differs", size, workers)
			}
			for i, idx := range order {
				if idx != i {
					t.Fatalf("size %d workers %d: emission order %v", size, workers, order)
				}
			}
			if len(order) != SegmentCount(int64(size), p.SegmentSize) {
				t.Fatalf("size %d: emitted %d segments", size, len(order))
			}
		}
	}
}

func TestEncodeStreamShortInput(t *testing.T) {
	p := smallParams
	size := 3*p.SegmentSize + 10
	for _, have := range []int{0, 5, p.SegmentSize, size - 1} {
		emitted := 0
		err := EncodeStream(context.Background(), bytes.NewReader(make([]byte, have)), int64(size), p, testKey(1), 2,
			func(*Segment) error { emitted++; return nil })
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("have %d of %d: error %v, want ErrUnexpectedEOF", have, size, err)
		}
		if full := have / p.SegmentSize; emitted > full {
			t.Errorf("have %d: emitted %d segments, only %d were complete", have, emitted, full)
		}
	}
}

func TestEncodeStreamErrors(t *testing.T) {
	p := smallParams
	size := int64(6 * p.SegmentSize)
	file := make([]byte, size)

	boom := errors.New("boom")
	calls := 0
	err := EncodeStream(context.Background(), bytes.NewReader(file), size, p, testKey(1), 2, func(s *Segment) error {
		calls++
		if s.Index == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls != 3 {
		t.Errorf("emit error: err=%v after %d calls, want boom after 3", err, calls)
	}

	readErr := errors.New("disk on fire")
	r := io.MultiReader(bytes.NewReader(file[:p.SegmentSize+7]), iotest.ErrReader(readErr))
	if err := EncodeStream(context.Background(), r, size, p, testKey(1), 2, func(*Segment) error { return nil }); !errors.Is(err, readErr) {
		t.Errorf("read error: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	err = EncodeStream(ctx, bytes.NewReader(file), size, p, testKey(1), 3, func(s *Segment) error {
		if s.Index == 1 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: %v", err)
	}

	if err := EncodeStream(context.Background(), bytes.NewReader(nil), 0, Params{K: 2, N: 2, SegmentSize: MinSegmentSize}, Key{}, 1, nil); err == nil {
		t.Error("bad params accepted")
	}
}

// TestEncodeStreamMemoryBound checks that no more than workers+1 plaintext
// segments have been read ahead of the segment being emitted.
func TestEncodeStreamMemoryBound(t *testing.T) {
	p := smallParams
	for _, workers := range []int{1, 2, 4} {
		size := int64(12 * p.SegmentSize)
		cr := &countingReader{r: bytes.NewReader(make([]byte, size))}
		err := EncodeStream(context.Background(), cr, size, p, testKey(1), workers, func(s *Segment) error {
			// Segments s.Index..(read-1) are alive, including this one.
			alive := (cr.n.Load() + int64(p.SegmentSize) - 1) / int64(p.SegmentSize)
			if alive-int64(s.Index) > int64(workers+1) {
				t.Errorf("workers %d: %d segments alive at emit of %d", workers, alive-int64(s.Index), s.Index)
			}
			time.Sleep(2 * time.Millisecond) // a slow consumer lets the reader run ahead
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestEncodeStreamProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		k := rapid.IntRange(2, 6).Draw(rt, "k")
		n := rapid.IntRange(k+1, 10).Draw(rt, "n")
		segSize := rapid.IntRange(MinSegmentSize, MinSegmentSize+5000).Draw(rt, "segSize")
		size := rapid.IntRange(0, 4*segSize+1).Draw(rt, "size")
		workers := rapid.IntRange(1, 4).Draw(rt, "workers")
		seed := rapid.Uint64().Draw(rt, "seed")
		p := Params{K: k, N: n, SegmentSize: segSize}
		file := randBytes(seed, size)
		key := testKey(byte(seed))
		got, order, err := collect(rt, bytes.NewReader(file), int64(size), p, key, workers)
		if err != nil {
			rt.Fatalf("%+v size %d: %v", p, size, err)
		}
		if !bytes.Equal(got, file) {
			rt.Fatalf("%+v size %d: round trip differs", p, size)
		}
		for i, idx := range order {
			if idx != i {
				rt.Fatalf("out of order: %v", order)
			}
		}
	})
}
