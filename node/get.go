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
	"github.com/ipfs/go-cid"
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
	g := &getter{n: n, m: m, loc: res.loc, c: cp.Manifest}

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
	if firstErr == nil {
		n.receiptDownloads(m, cp.Manifest, g)
	}
	return firstErr
}

// getter fetches and decodes the segments of one file.
type getter struct {
	n *Node
	m *manifest.Manifest
	c cid.Cid

	mu        sync.Mutex
	loc       *manifest.Locations // grows once if a segment runs short (see widen)
	widenOnce sync.Once
	fetched   []fetchedShard // from other nodes, for download receipts (usage_download.go)
}

// holders returns who holds shard idx of segment seg, per the current record.
func (g *getter) holders(seg, idx int) []peer.ID {
	g.mu.Lock()
	hs := g.loc.Holders(seg, idx, g.m.N)
	g.mu.Unlock()
	return g.n.byReputation(hs)
}

// widen asks every steward, not just the first that answered, and merges all their records: a
// segment that found too few shards may have met a steward that withholds receipts. Once per get.
func (g *getter) widen(ctx context.Context) bool {
	widened := false
	g.widenOnce.Do(func() {
		res, err := g.n.resolve(ctx, g.c, true)
		if err != nil {
			return
		}
		g.mu.Lock()
		g.loc = manifest.Merge(g.m, g.loc, res.loc)
		g.mu.Unlock()
		widened = true
	})
	return widened
}

// segment fetches any k shards of segment i and returns the plaintext; if too few arrive, it
// widens the record once to every steward's copy and tries again.
func (g *getter) segment(ctx context.Context, i int, dec *codec.Decoder, buf []byte) (plain, _ []byte, _ error) {
	plain, buf, err := g.trySegment(ctx, i, dec, buf)
	var ce *codedError
	if errors.As(err, &ce) && ce.code == api.CodeTooFewShards && g.widen(ctx) {
		return g.trySegment(ctx, i, dec, buf)
	}
	return plain, buf, err
}

// trySegment fetches any k shards of segment i, data shards first (no decoding needed when all k
// arrive), starting another shard whenever one fails, and returns the plaintext.
func (g *getter) trySegment(ctx context.Context, i int, dec *codec.Decoder, buf []byte) (plain, _ []byte, _ error) {
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
			holders := g.holders(i, idx)
			if len(holders) == 0 {
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
				data, err := g.fetchAny(ctx, holders, seg, idx, dst)
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

// fetchAny gets one shard from the first of its holders that serves it verified.
func (g *getter) fetchAny(ctx context.Context, holders []peer.ID, seg manifest.Segment, idx int, dst []byte) ([]byte, error) {
	var err error
	for _, h := range holders {
		var data []byte
		if data, err = g.fetch(ctx, h, seg, idx, dst); err == nil {
			return data, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

// fetch gets one shard, verified, from its holder.
func (g *getter) fetch(ctx context.Context, holder peer.ID, seg manifest.Segment, idx int, dst []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(g.n.repo.Config.Put.ShardTimeout))
	defer cancel()
	c := seg.Shards[idx]
	start := time.Now()
	data, err := g.n.xfer.GetShard(ctx, holder, c, seg.ShardSize, dst)
	g.n.observeTransfer(ctx, holder, seg.ShardSize, time.Since(start), err)
	if errors.Is(err, transfer.ErrCorrupt) {
		g.n.log.Warn("holder served corrupt shard; using another", "holder", holder, "cid", c)
	}
	if err != nil {
		return nil, err
	}
	g.noteFetched(holder, c, seg.ShardSize)
	return data, nil
}
