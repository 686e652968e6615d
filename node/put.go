package node

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/cairn-storage/cairn/reputation"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// encodeWorkers is how many segments are encoded in parallel while the previous one uploads.
// One suffices (the encoder hashes a segment's shards on all cores) and bounds a put's codec
// buffers to 2 plaintext segments plus one segment's n shards: 64 MiB with 16 MiB segments and
// 4-of-8. Two measured no faster on the 10-node devnet and held 45 MiB more.
const encodeWorkers = 1

// rollbackTimeout bounds how long a failed put spends taking back what it placed.
const rollbackTimeout = 20 * time.Second

// shardAttempts bounds how many nodes one shard is offered to before the put fails.
const shardAttempts = 3

// storedShard remembers where a shard went, so a failed put can take it back.
type storedShard struct {
	holder peer.ID
	cid    cid.Cid
	// uncertain: the send was cancelled, so the holder may still be committing the shard when
	// the rollback asks; "not found" is then retried for a moment.
	uncertain bool
}

// uncertainRetries and uncertainDelay bound how long a rollback waits for a cancelled send that
// the holder may still be committing.
const (
	uncertainRetries = 4
	uncertainDelay   = 250 * time.Millisecond
)

// putJob is the state of one put while it runs.
type putJob struct {
	n       *Node
	ctx     context.Context // the put's own context: ends with the caller or node shutdown
	p       codec.Params
	partner string // the manifest's partner tag
	kdel    [32]byte
	cands   []candidate
	repCand []reputation.Candidate
	rng     *mrand.Rand
	timeout time.Duration

	mu        sync.Mutex
	published bool           // the caller got the capability: never roll back
	aborted   bool           // cancelled before publishing: everything placed is taken back
	inflight  sync.WaitGroup // shard sends running; abort waits for them before taking back

	rollbackMu sync.Mutex
	failed     map[peer.ID]bool
	stored     []storedShard
	holders    [][]peer.ID
	segs       []manifest.Segment
}

// Put encrypts, erasure-codes and spreads a file over the network, then publishes its manifest
// on the manifest's stewards. Only then does the file exist: a put that fails midway takes back
// the shards it placed and publishes nothing, so get and ls never see half a file.
func (n *Node) Put(ctx context.Context, r io.Reader, size int64, opt api.PutOptions) (*api.PutResult, error) {
	cfg := n.repo.Config.Put
	p := codec.Params{K: cfg.K, N: cfg.N, SegmentSize: int(cfg.SegmentSize)}
	if opt.K != 0 {
		p.K = opt.K
	}
	if opt.N != 0 {
		p.N = opt.N
	}
	if err := p.Validate(); err != nil {
		return nil, coded(api.CodeBadRequest, "%v", err)
	}
	if size < 0 {
		return nil, coded(api.CodeBadRequest, "file size unknown: the API needs Content-Length")
	}
	partner := opt.Partner
	if partner == "" {
		partner = cfg.Partner
	}
	if err := manifest.CheckPartner(partner); err != nil {
		return nil, coded(api.CodeBadRequest, "--partner: %v", err)
	}
	key, err := codec.NewKey()
	if err != nil {
		return nil, err
	}
	done, ok := n.beginPut()
	if !ok {
		return nil, coded(api.CodeInternal, "node is shutting down")
	}
	var doneOnce sync.Once
	finish := func() { doneOnce.Do(done) }
	defer finish()
	// The put stops when its caller goes away or the node shuts down.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(n.putsCtx, cancel)
	defer stop()
	defer releaseMemory(size)
	job := &putJob{n: n, ctx: ctx, p: p, partner: partner, kdel: codec.DeleteKey(key), rng: newRNG(),
		timeout: time.Duration(cfg.ShardTimeout), failed: map[peer.ID]bool{}}
	// Once cancelled, take back what was placed at once, even while the put itself may still be
	// blocked reading its input; Close waits for this rollback, not for the reader.
	unwatch := context.AfterFunc(ctx, func() {
		if job.abort() {
			finish()
		}
	})
	defer unwatch()

	// Find enough nodes before reading a byte, so a too-small network stores nothing.
	job.cands = n.discover(ctx)
	job.repCand = n.toReputation(job.cands)
	firstShard := int64(codec.ShardSize(int(min(size, int64(p.SegmentSize))), p.K))
	if _, err := reputation.Place(job.repCand, reputation.Rules{N: p.N, ShardSize: firstShard, UnvettedShare: n.unvettedShare()}, job.rng); err != nil {
		var tf *reputation.TooFewError
		if errors.As(err, &tf) {
			return nil, coded(api.CodeTooFewNodes, "too few nodes for k=%d n=%d: %v (each shard of a segment goes to a different node; start more nodes or lower --n)", p.K, p.N, err)
		}
		return nil, err
	}

	err = codec.EncodeStream(ctx, r, size, p, key, encodeWorkers, job.storeSegment)
	if err == nil {
		var res *api.PutResult
		if res, err = job.publish(ctx, key, size, opt.Name); err == nil && job.succeed() {
			return res, nil
		}
	}
	job.rollback() // whatever an abort's rollback did not already take back
	if ctx.Err() != nil {
		return nil, fmt.Errorf("put cancelled: %w", ctx.Err())
	}
	return nil, err
}

// succeed marks the put published unless it was aborted meanwhile.
func (j *putJob) succeed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.aborted {
		return false
	}
	j.published = true
	return true
}

// abort marks an unpublished put aborted and takes back what it placed; false if it had already
// been published or aborted.
func (j *putJob) abort() bool {
	j.mu.Lock()
	if j.published || j.aborted {
		j.mu.Unlock()
		return false
	}
	j.aborted = true
	j.mu.Unlock()
	// Sends already running end quickly (their context is cancelled); one may still succeed, so
	// wait for them all before taking back, or its shard would stay behind.
	j.inflight.Wait()
	j.rollback()
	return true
}

func newRNG() *mrand.Rand {
	var seed [16]byte
	_, _ = rand.Read(seed[:])
	return mrand.New(mrand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
}

// storeSegment places the segment's n shards on n distinct nodes and sends them in parallel.
// A node that fails is excluded for the rest of the put and its shard offered to another.
func (j *putJob) storeSegment(seg *codec.Segment) error {
	j.mu.Lock()
	exclude := j.excluded()
	idx, err := reputation.Place(j.repCand, reputation.Rules{N: j.p.N, ShardSize: int64(seg.ShardSize), Exclude: exclude, UnvettedShare: j.n.unvettedShare()}, j.rng)
	j.mu.Unlock()
	if err != nil {
		return coded(api.CodeTooFewNodes, "segment %d: %v", seg.Index, err)
	}
	holders := make([]peer.ID, j.p.N)
	used := map[peer.ID]bool{}
	for i, ci := range idx {
		holders[i] = j.cands[ci].id
		used[holders[i]] = true
	}
	errs := make([]error, j.p.N)
	var wg sync.WaitGroup
	j.mu.Lock()
	if j.aborted {
		j.mu.Unlock()
		return context.Canceled
	}
	j.inflight.Add(j.p.N) // under mu, so never after abort started waiting
	j.mu.Unlock()
	for i := range holders {
		wg.Go(func() {
			defer j.inflight.Done()
			errs[i] = j.sendShard(seg, i, holders, used)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.holders = append(j.holders, holders)
	dhs := make([][32]byte, len(seg.CIDs))
	for i, c := range seg.CIDs {
		dhs[i] = codec.DeleteHash(codec.DeleteToken(j.kdel, c))
	}
	j.segs = append(j.segs, manifest.Segment{Size: int64(seg.PlainSize), ShardSize: int64(seg.ShardSize),
		Shards: append([]cid.Cid(nil), seg.CIDs...), DeleteHashes: dhs})
	return nil
}

// sendShard sends shard i to holders[i], moving it to a fresh node if that one fails.
func (j *putJob) sendShard(seg *codec.Segment, i int, holders []peer.ID, used map[peer.ID]bool) error {
	c := seg.CIDs[i]
	dh := codec.DeleteHash(codec.DeleteToken(j.kdel, c))
	var last error
	for attempt := 0; attempt < shardAttempts; attempt++ {
		if attempt > 0 {
			next, ok := j.replacement(int64(seg.ShardSize), used)
			if !ok {
				break
			}
			holders[i] = next
		}
		ctx, cancel := context.WithTimeout(j.ctx, j.timeout)
		start := time.Now()
		err := j.n.xfer.PutShard(ctx, holders[i], c, seg.Shards[i], dh)
		j.n.observeTransfer(ctx, holders[i], int64(len(seg.Shards[i])), time.Since(start), err)
		cancel()
		if err == nil || j.ctx.Err() != nil {
			// Cancelled mid-send, the holder may still have received every byte and kept the
			// shard: a rollback must try to take it back too (a "not found" costs nothing).
			j.mu.Lock()
			j.stored = append(j.stored, storedShard{holder: holders[i], cid: c, uncertain: err != nil})
			j.mu.Unlock()
		}
		if err == nil {
			return nil
		}
		last = fmt.Errorf("store shard %d of segment %d on %s: %w", i, seg.Index, holders[i].ShortString(), err)
		j.n.log.Info("shard store failed, trying another node", "err", last)
		j.mu.Lock()
		j.failed[holders[i]] = true
		j.mu.Unlock()
	}
	return coded(api.CodeTooFewNodes, "%v (no other node left to take it)", last)
}

// replacement picks one more node not yet used in this segment and not failed in this put.
func (j *putJob) replacement(shardSize int64, used map[peer.ID]bool) (peer.ID, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	ex := j.excluded()
	for p := range used {
		ex = append(ex, reputation.NodeID(p))
	}
	idx, err := reputation.Place(j.repCand, reputation.Rules{N: 1, ShardSize: shardSize, Exclude: ex, UnvettedShare: j.n.unvettedShare()}, j.rng)
	if err != nil {
		return "", false
	}
	p := j.cands[idx[0]].id
	used[p] = true
	return p, true
}

func (j *putJob) excluded() []reputation.NodeID {
	var ex []reputation.NodeID
	for p := range j.failed {
		ex = append(ex, reputation.NodeID(p))
	}
	return ex
}

// rollback takes back every shard (and manifest copy) a failed put placed. Best effort, bounded,
// and not cut short by the put's own cancellation or a node shutdown (Close waits for it): what
// it cannot reach stays unconfirmed on its holder, which collects it after the orphan lease.
func (j *putJob) rollback() {
	// One rollback at a time: an abort's rollback must not report done (and let Close shut the
	// host) while the put's own rollback is still deleting.
	j.rollbackMu.Lock()
	defer j.rollbackMu.Unlock()
	j.mu.Lock()
	stored := j.stored
	j.stored = nil // taken: a second rollback handles only what was placed since
	j.mu.Unlock()
	if len(stored) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(j.ctx), rollbackTimeout)
	defer cancel()
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	mtok := codec.ManifestDeleteToken(j.kdel)
	for _, s := range stored {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var err error
			if s.cid.Type() != cid.Raw {
				err = j.n.xfer.DeleteManifest(ctx, s.holder, s.cid, mtok)
			} else {
				tok := codec.DeleteToken(j.kdel, s.cid)
				err = j.n.xfer.DeleteShard(ctx, s.holder, s.cid, tok)
				for try := 0; s.uncertain && transfer.IsNotFound(err) && try < uncertainRetries; try++ {
					time.Sleep(uncertainDelay)
					err = j.n.xfer.DeleteShard(ctx, s.holder, s.cid, tok)
				}
				if s.uncertain && transfer.IsNotFound(err) {
					err = nil // it never arrived
				}
			}
			if err != nil {
				j.n.log.Info("rollback: could not take back", "cid", s.cid, "holder", s.holder, "err", err)
			}
		})
	}
	wg.Wait()
}
