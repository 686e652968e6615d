package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/libp2p/go-libp2p/core/peer"
)

// getAhead is how many segments are fetched ahead of the one being written. A get holds at most
// getAhead+2 segment buffers, each the k data shards side by side (decrypted in place), so with
// 16 MiB segments 64 MiB, whatever the file size. More ahead did not fetch faster on loopback.
const getAhead = 2

// hedgeAfter is how long a segment may go without any shard arriving before another shard is
// requested from a different holder. Far above a healthy 4 MiB transfer, well below the
// shard timeout.
const hedgeAfter = 2 * time.Second

// segmentBuffers recycles get's segment buffers across gets, so a busy node does not allocate
// and page in fresh memory for every file it serves.
var segmentBuffers sync.Pool

// parseCap turns a capability string into its parts or a bad_capability error.
func parseCap(s string) (manifest.Capability, error) {
	c, err := manifest.ParseCapability(s)
	if err != nil {
		return c, coded(api.CodeBadCap, "%v", err)
	}
	return c, nil
}

// Get finds the file's manifest through the DHT, fetches each segment's shards in parallel from
// their holders (any k suffice; every shard is verified against its CID as it streams in, so a
// holder that lies is caught and another shard is fetched instead), decodes, decrypts and writes
// the plaintext to w in order.
func (n *Node) Get(ctx context.Context, capStr string, w io.Writer, start func(size int64)) error {
	cp, err := parseCap(capStr)
	if err != nil {
		return err
	}
	res, err := n.resolve(ctx, cp.Manifest, false)
	if err != nil {
		return err
	}
	m := res.m
	defer releaseMemory(m.Size)
	if start != nil {
		start(m.Size)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	p := codec.Params{K: m.K, N: m.N, SegmentSize: int(m.SegmentSize)}
	decoders := make(chan *codec.Decoder, getAhead+2)
	for range cap(decoders) {
		d, err := codec.NewDecoder(p, cp.Key)
		if err != nil {
			return err
		}
		decoders <- d
	}
	g := &getter{n: n, m: m, loc: res.loc}

	type result struct {
		plain []byte
		buf   []byte
		dec   *codec.Decoder
		err   error
	}
	// Segment buffers are recycled: each holds the k data shards side by side, which is also
	// where the segment is decrypted in place, so a get allocates a bounded set once.
	bufs := make(chan []byte, cap(decoders))
	for range cap(bufs) {
		b, _ := segmentBuffers.Get().([]byte)
		bufs <- b
	}
	defer func() {
		// Every segment goroutine has handed its buffer back once the queue is drained.
		for range cap(bufs) {
			if b := <-bufs; b != nil {
				segmentBuffers.Put(b) //nolint:staticcheck // a slice header is fine here
			}
		}
	}()
	queue := make(chan chan result, getAhead)
	go func() {
		defer close(queue)
		for i := range m.Segments {
			ch := make(chan result, 1)
			select {
			case queue <- ch:
			case <-ctx.Done():
				return
			}
			go func() {
				dec, buf := <-decoders, <-bufs
				plain, buf, err := g.segment(ctx, i, dec, buf)
				ch <- result{plain, buf, dec, err}
			}()
		}
	}()
	var firstErr error
	for ch := range queue {
		r := <-ch
		if firstErr == nil {
			firstErr = r.err
			if firstErr == nil {
				if _, err := w.Write(r.plain); err != nil {
					firstErr = fmt.Errorf("write output: %w", err)
				}
			}
			if firstErr != nil {
				cancel()
			}
		}
		decoders <- r.dec
		bufs <- r.buf
	}
	return firstErr
}

// getter fetches and decodes the segments of one file.
type getter struct {
	n   *Node
	m   *manifest.Manifest
	loc *manifest.Locations
}

// segment fetches any k shards of segment i, data shards first (no decoding needed when all k
// arrive), starting another shard whenever one fails, and returns the plaintext.
func (g *getter) segment(ctx context.Context, i int, dec *codec.Decoder, buf []byte) (plain, _ []byte, _ error) {
	seg := g.m.Segments[i]
	k, nShards := g.m.K, g.m.N
	ss := int(seg.ShardSize)
	if cap(buf) < k*ss {
		buf = make([]byte, k*ss)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Every fetch must have stopped writing into buf before it is decoded or reused.
	defer wg.Wait()
	defer cancel()

	type outcome struct {
		idx  int
		data []byte
		err  error
	}
	results := make(chan outcome, nShards)
	next := 0
	launch := func() bool {
		for next < nShards {
			idx := next
			next++
			holder, ok := g.loc.Holder(i, idx)
			if !ok {
				results <- outcome{idx: idx, err: fmt.Errorf("no known holder")}
				return true
			}
			var dst []byte
			if idx < k {
				// Capacity runs to the end of buf so the decoder sees the data shards as one
				// contiguous ciphertext; the verifier never writes more than ss bytes.
				dst = buf[idx*ss : idx*ss]
			} else {
				dst = make([]byte, 0, ss) // parity: the rare path, not worth pooling
			}
			wg.Go(func() {
				data, err := g.fetch(ctx, holder, seg, idx, dst)
				results <- outcome{idx, data, err}
			})
			return true
		}
		return false
	}
	running := 0
	for range k {
		if launch() {
			running++
		}
	}
	shards := make([][]byte, nShards)
	got := 0
	var failures []string
	// A holder that is slow rather than failed would stall the segment; when no shard has
	// arrived for hedgeAfter, one more is requested and the first k to arrive are used.
	hedge := time.NewTimer(hedgeAfter)
	defer hedge.Stop()
	for running > 0 && got < k {
		var o outcome
		select {
		case o = <-results:
		case <-hedge.C:
			if launch() {
				running++
			}
			hedge.Reset(hedgeAfter)
			continue
		}
		running--
		if o.err == nil {
			shards[o.idx] = o.data
			got++
			hedge.Reset(hedgeAfter)
			continue
		}
		failures = append(failures, fmt.Sprintf("shard %d: %s", o.idx, brief(o.err)))
		if ctx.Err() != nil {
			return nil, buf, ctx.Err()
		}
		if launch() {
			running++
		}
	}
	cancel()
	wg.Wait()
	if got < k {
		return nil, buf, coded(api.CodeTooFewShards, "segment %d: only %d of %d shards could be fetched and verified, need %d (%s)", i, got, nShards, k, strings.Join(failures, "; "))
	}
	plain, err := dec.Decode(i, len(g.m.Segments), g.m.Size, int(seg.Size), ss, shards, buf[:0])
	if err != nil {
		return nil, buf, fmt.Errorf("segment %d: %w", i, err)
	}
	return plain, buf, nil
}

// fetch gets one shard, verified, from its holder.
func (g *getter) fetch(ctx context.Context, holder peer.ID, seg manifest.Segment, idx int, dst []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(g.n.repo.Config.Put.ShardTimeout))
	defer cancel()
	c := seg.Shards[idx]
	data, err := g.n.xfer.GetShard(ctx, holder, c, seg.ShardSize, dst)
	if errors.Is(err, transfer.ErrCorrupt) {
		// Later the reputation service records this as a failed transfer against the holder.
		g.n.log.Warn("holder served corrupt shard; using another", "holder", holder, "cid", c)
	}
	if err != nil {
		return nil, err
	}
	return data, nil
}
