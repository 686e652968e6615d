package codec

import (
	"crypto/cipher"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ipfs/go-cid"
	"github.com/klauspost/reedsolomon"
)

// Segment is one encoded segment. Shards alias the Encoder's buffers.
type Segment struct {
	Index     int
	PlainSize int
	ShardSize int
	Shards    [][]byte  // len N, each ShardSize bytes; valid until the next Encode on this Encoder
	CIDs      []cid.Cid // len N
}

// Encoder turns plaintext segments into shards. It owns one segment's worth
// of shard memory, reused by every Encode; it is not safe for concurrent use.
type Encoder struct {
	p    Params
	aead cipher.AEAD
	rs   reedsolomon.Encoder
	hdr  segHeader
	buf  []byte // N*ShardSize: ciphertext + padding in the first K shards, then parity
	seg  Segment
}

// NewEncoder validates p and prepares an Encoder for key. Shard memory is
// allocated on first use and grows to the largest segment seen.
func NewEncoder(p Params, key Key) (*Encoder, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	rs, err := newRS(p)
	if err != nil {
		return nil, err
	}
	return &Encoder{
		p:    p,
		aead: aead,
		rs:   rs,
		seg:  Segment{Shards: make([][]byte, p.N), CIDs: make([]cid.Cid, p.N)},
	}, nil
}

// newRS builds the systematic code fixed by contracts.md. Only default
// (format-defining) matrix options may be used here: parity bytes are part of
// the stored format. Goroutine tuning does not change output.
func newRS(p Params) (reedsolomon.Encoder, error) {
	rs, err := reedsolomon.New(p.K, p.N-p.K,
		reedsolomon.WithAutoGoroutines(ShardSize(p.SegmentSize, p.K)))
	if err != nil {
		return nil, fmt.Errorf("codec: reed-solomon %d/%d: %w", p.K, p.N, err)
	}
	return rs, nil
}

// Encode encrypts plain (segment index of total, file of fileSize bytes),
// RS-encodes it and hashes every shard. The returned Segment and its shards
// are valid until the next Encode on e.
func (e *Encoder) Encode(index, total int, fileSize int64, plain []byte) (*Segment, error) {
	if err := e.p.checkSegment(index, total, fileSize, len(plain)); err != nil {
		return nil, err
	}
	ss := ShardSize(len(plain), e.p.K)
	e.layout(ss)
	e.encrypt(index, total, fileSize, plain)
	if err := e.rsEncode(); err != nil {
		return nil, err
	}
	e.hashShards()
	e.seg.Index, e.seg.PlainSize, e.seg.ShardSize = index, len(plain), ss
	return &e.seg, nil
}

// layout points the N shards at consecutive ss-byte slices of buf, so the
// data shards are exactly the (padded) ciphertext with no copy. Capacity is
// clipped so an append on one shard cannot spill into the next.
func (e *Encoder) layout(ss int) {
	need := e.p.N * ss
	if cap(e.buf) < need {
		// Exact size: only a single-segment (small) file starts with a short
		// segment, and it should not pay for a full one.
		e.buf = make([]byte, need)
	}
	e.buf = e.buf[:need]
	for i := range e.seg.Shards {
		e.seg.Shards[i] = e.buf[i*ss : (i+1)*ss : (i+1)*ss]
	}
}

// encrypt seals plain straight into the data shards and zeroes the padding.
func (e *Encoder) encrypt(index, total int, fileSize int64, plain []byte) {
	e.hdr.set(index, total, fileSize)
	data := e.buf[:e.p.K*len(e.seg.Shards[0])]
	ct := e.aead.Seal(data[:0], e.hdr.nonce[:], plain, e.hdr.aad[:])
	clear(data[len(ct):])
}

func (e *Encoder) rsEncode() error {
	if err := e.rs.Encode(e.seg.Shards); err != nil {
		return fmt.Errorf("codec: reed-solomon encode: %w", err)
	}
	return nil
}

// parallelHashMin is the shard size from which hashing is spread over
// goroutines; below it the goroutine handoff costs more than it saves.
const parallelHashMin = 256 << 10

// hashShards computes every shard's CID. Hashing is the costliest stage
// (it reads N/K times the plaintext), so shards are spread over up to
// GOMAXPROCS goroutines, one whole shard each: coarse enough that the handoff
// is noise, and harmless when EncodeStream already keeps every core busy.
func (e *Encoder) hashShards() {
	shards := e.seg.Shards
	par := min(runtime.GOMAXPROCS(0), len(shards))
	if par <= 1 || len(shards[0]) < parallelHashMin {
		for i, s := range shards {
			e.seg.CIDs[i] = CIDFromDigest(CodecRaw, sum256(s))
		}
		return
	}
	var next atomic.Int32
	work := func() {
		for i := int(next.Add(1) - 1); i < len(shards); i = int(next.Add(1) - 1) {
			e.seg.CIDs[i] = CIDFromDigest(CodecRaw, sum256(shards[i]))
		}
	}
	var wg sync.WaitGroup
	for range par - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}
