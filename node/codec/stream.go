package codec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// EncodeStream reads exactly size bytes from r, cuts them into p.SegmentSize
// segments and encodes them with workers parallel Encoders (workers < 1 means
// 1; never more than the segment count), calling emit once per segment in
// index order and from one goroutine at a time. The *Segment passed to emit is
// only valid during the call.
//
// Memory bound: at most workers+1 segments are alive at once (a segment is
// alive from the start of its read until emit returns). Peak buffer memory is
// (workers+1)·SegmentSize of plaintext plus workers·N·ShardSize of shards,
// i.e. for 4/8 with 16 MiB segments about 48 MiB per worker + 16 MiB.
//
// It stops at the first error — from r, short input, emit, or ctx — and
// returns it. It waits for its goroutines before returning; a Read that is
// blocked in r delays the return until it completes.
func EncodeStream(ctx context.Context, r io.Reader, size int64, p Params, key Key, workers int, emit func(*Segment) error) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("codec: negative stream size %d", size)
	}
	total := SegmentCount(size, p.SegmentSize)
	workers = max(1, min(workers, total))
	encs := make([]*Encoder, workers)
	for i := range encs {
		var err error
		if encs[i], err = NewEncoder(p, key); err != nil {
			return err
		}
	}

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		cancel()
	}

	type job struct {
		index int
		plain []byte
	}
	// Segment i goes to worker i%workers, so collecting round-robin yields
	// index order without a reorder buffer.
	jobs := make([]chan job, workers)
	done := make([]chan *Segment, workers)
	acks := make([]chan struct{}, workers) // buffered: sending never blocks
	for i := range workers {
		jobs[i] = make(chan job, 1)
		done[i] = make(chan *Segment)
		acks[i] = make(chan struct{}, 1)
	}
	// A token is held from a segment's read until its emit returns. free
	// recycles plaintext buffers; a buffer is only allocated when all
	// existing ones are held by token owners, so at most workers+1 exist and
	// sends to free never block.
	tokens := make(chan struct{}, workers+1)
	free := make(chan []byte, workers+1)
	bufSize := int(min(int64(p.SegmentSize), size))

	var wg sync.WaitGroup
	wg.Go(func() { // reader
		defer func() {
			for _, j := range jobs {
				close(j)
			}
		}()
		for i := range total {
			if ctx.Err() != nil {
				return
			}
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			var buf []byte
			select {
			case buf = <-free:
			default:
				buf = make([]byte, bufSize)
			}
			n := SegmentPlainSize(size, p.SegmentSize, i)
			if got, err := io.ReadFull(r, buf[:n]); err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					err = fmt.Errorf("codec: short input: segment %d: got %d of %d bytes (stream size %d): %w",
						i, got, n, size, io.ErrUnexpectedEOF)
				} else {
					err = fmt.Errorf("codec: read segment %d: %w", i, err)
				}
				fail(err)
				return
			}
			select {
			case jobs[i%workers] <- job{i, buf[:n]}:
			case <-ctx.Done():
				return
			}
		}
	})
	for w := range workers {
		wg.Go(func() {
			defer close(done[w])
			for j := range jobs[w] {
				seg, err := encs[w].Encode(j.index, total, size, j.plain)
				free <- j.plain[:cap(j.plain)]
				if err != nil {
					fail(err)
					return
				}
				select {
				case done[w] <- seg:
				case <-ctx.Done():
					return
				}
				// The shards live in encs[w]: wait until emit is done with them.
				select {
				case <-acks[w]:
				case <-ctx.Done():
					return
				}
			}
		})
	}

	emitted := 0
	for emitted < total {
		seg, ok := <-done[emitted%workers]
		if !ok || ctx.Err() != nil { // a worker stopped, an error, or cancellation
			break
		}
		if err := emit(seg); err != nil {
			fail(err)
			break
		}
		acks[emitted%workers] <- struct{}{}
		<-tokens
		emitted++
	}
	cancel()
	wg.Wait()
	switch {
	case emitted == total:
		return nil
	case firstErr != nil:
		return firstErr
	default:
		return fmt.Errorf("codec: encode stream stopped at segment %d of %d: %w",
			emitted, total, context.Cause(parent))
	}
}
