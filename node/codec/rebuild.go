package codec

import (
	"fmt"

	"github.com/klauspost/reedsolomon"
)

// Rebuilder recreates lost shards of segments coded K-of-N from any K present
// ones, at the ciphertext level: repair needs no file key. It verifies
// nothing; callers check the results against the manifest's shard CIDs.
// A Rebuilder is not safe for concurrent use.
type Rebuilder struct {
	k, n     int
	rs       reedsolomon.Encoder
	work     [][]byte // our view of the shards, so caller slices stay untouched
	required []bool
}

// NewRebuilder prepares a Rebuilder for a K-of-N code (2 <= K < N <= 255).
func NewRebuilder(k, n int) (*Rebuilder, error) {
	// Any valid segment size: it only tunes goroutines, never the matrix,
	// so the code is exactly the one the Encoder used.
	p := Params{K: k, N: n, SegmentSize: DefaultSegmentSize}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	rs, err := newRS(p)
	if err != nil {
		return nil, err
	}
	return &Rebuilder{k: k, n: n, rs: rs, work: make([][]byte, n), required: make([]bool, n)}, nil
}

// Rebuild returns the shards at indices want (out[i] is shard want[i], a
// fresh shardSize-byte slice) recreated from have: len N, nil for an absent
// shard, every present one shardSize bytes. A wanted shard that is present is
// returned as a copy. have is never modified.
//
// Errors: bad shardSize, slot count, shard length or want index (out of range
// or repeated), and ErrTooFewShards (wrapped, with counts) for fewer than K
// present shards.
func (r *Rebuilder) Rebuild(shardSize int, have [][]byte, want []int) ([][]byte, error) {
	if shardSize <= 0 {
		return nil, fmt.Errorf("codec: rebuild: shardSize %d, need > 0", shardSize)
	}
	if len(have) != r.n {
		return nil, fmt.Errorf("codec: rebuild: got %d shard slots, want N=%d", len(have), r.n)
	}
	present := 0
	for i, s := range have {
		if s == nil {
			continue
		}
		if len(s) != shardSize {
			return nil, fmt.Errorf("codec: rebuild: shard %d has %d bytes, want %d", i, len(s), shardSize)
		}
		present++
	}
	clear(r.required)
	for _, w := range want {
		if w < 0 || w >= r.n {
			return nil, fmt.Errorf("codec: rebuild: wanted shard %d out of range [0,%d)", w, r.n)
		}
		if r.required[w] {
			return nil, fmt.Errorf("codec: rebuild: shard %d wanted twice", w)
		}
		r.required[w] = true
	}
	if present < r.k {
		return nil, fmt.Errorf("%w: rebuild has %d of %d shards, need %d", ErrTooFewShards, present, r.n, r.k)
	}

	// One allocation for all outputs; each gets capacity but zero length so
	// reedsolomon writes the rebuilt shard in place.
	buf := make([]byte, len(want)*shardSize)
	out := make([][]byte, len(want))
	for i, w := range want {
		out[i] = buf[i*shardSize : (i+1)*shardSize : (i+1)*shardSize]
		if have[w] != nil {
			copy(out[i], have[w])
		}
	}
	for i := range r.work {
		r.work[i] = have[i]
	}
	for i, w := range want {
		if have[w] == nil {
			r.work[w] = out[i][:0]
		}
	}
	// Outputs have capacity shardSize, so reedsolomon fills them in place.
	err := r.rs.ReconstructSome(r.work, r.required)
	clear(r.work) // drop references to caller memory
	if err != nil {
		return nil, fmt.Errorf("codec: rebuild: reed-solomon reconstruct: %w", err)
	}
	return out, nil
}

// Rebuild is a one-shot Rebuilder: see (*Rebuilder).Rebuild. Repairing many
// segments of one code should reuse a Rebuilder.
func Rebuild(k, n, shardSize int, have [][]byte, want []int) ([][]byte, error) {
	r, err := NewRebuilder(k, n)
	if err != nil {
		return nil, err
	}
	return r.Rebuild(shardSize, have, want)
}
