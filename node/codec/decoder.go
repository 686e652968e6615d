package codec

import (
	"crypto/cipher"
	"fmt"

	"github.com/klauspost/reedsolomon"
)

// Decoder rebuilds plaintext segments from shards. It owns reusable scratch
// memory and is not safe for concurrent use.
type Decoder struct {
	p       Params
	aead    cipher.AEAD
	rs      reedsolomon.Encoder
	hdr     segHeader
	scratch []byte   // K*ShardSize: the ciphertext being reassembled
	work    [][]byte // our view of the shards, so caller slices stay untouched
}

// NewDecoder validates p and prepares a Decoder for key.
func NewDecoder(p Params, key Key) (*Decoder, error) {
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
	return &Decoder{p: p, aead: aead, rs: rs, work: make([][]byte, p.N)}, nil
}

// Decode rebuilds segment index (of total, file of fileSize bytes) from any K
// of the N shards (nil = missing; present ones must be shardSize bytes),
// authenticates and decrypts it, and returns dst[:0] with the plainSize
// plaintext bytes appended.
//
// When shards 0..K-1 are all present no RS work is done; if they are also
// consecutive slices of one buffer (cap of shards[0] spans all K), they are
// decrypted in place without copying. Caller shards are never modified.
//
// Errors: ErrTooFewShards (wrapped, with counts) and ErrAuth (wrong key,
// wrong segment coordinates or corrupted shards).
func (d *Decoder) Decode(index, total int, fileSize int64, plainSize, shardSize int, shards [][]byte, dst []byte) ([]byte, error) {
	k := d.p.K
	if err := d.p.checkSegment(index, total, fileSize, plainSize); err != nil {
		return nil, err
	}
	if want := ShardSize(plainSize, k); shardSize != want {
		return nil, fmt.Errorf("codec: shardSize %d, want %d for a %d-byte segment with K=%d",
			shardSize, want, plainSize, k)
	}
	if len(shards) != d.p.N {
		return nil, fmt.Errorf("codec: got %d shard slots, want N=%d", len(shards), d.p.N)
	}
	present, dataPresent := 0, 0
	for i, s := range shards {
		if s == nil {
			continue
		}
		if len(s) != shardSize {
			return nil, fmt.Errorf("codec: shard %d has %d bytes, want %d", i, len(s), shardSize)
		}
		present++
		if i < k {
			dataPresent++
		}
	}
	if present < k {
		return nil, fmt.Errorf("%w: segment %d has %d of %d shards, need %d",
			ErrTooFewShards, index, present, d.p.N, k)
	}

	var ct []byte // K*shardSize: ciphertext then zero padding
	switch {
	case dataPresent == k && contiguous(shards[:k], shardSize):
		ct = shards[0][:k*shardSize]
	case dataPresent == k:
		ct = d.gather(shards, shardSize)
	default:
		var err error
		if ct, err = d.reconstruct(shards, shardSize); err != nil {
			return nil, err
		}
	}

	// Padding lies outside GCM's coverage; it must be the encoder's zeros.
	for _, b := range ct[plainSize+TagSize:] {
		if b != 0 {
			return nil, fmt.Errorf("%w: segment %d: non-zero shard padding", ErrAuth, index)
		}
	}
	d.hdr.set(index, total, fileSize)
	out, err := d.aead.Open(dst[:0], d.hdr.nonce[:], ct[:plainSize+TagSize], d.hdr.aad[:])
	if err != nil {
		return nil, fmt.Errorf("%w (segment %d)", ErrAuth, index)
	}
	return out, nil
}

// contiguous reports whether data are consecutive ss-byte slices of one
// buffer reachable from data[0], so they can be read as one ciphertext.
func contiguous(data [][]byte, ss int) bool {
	if cap(data[0]) < len(data)*ss {
		return false
	}
	whole := data[0][:len(data)*ss]
	for i := 1; i < len(data); i++ {
		if &whole[i*ss] != &data[i][0] {
			return false
		}
	}
	return true
}

// buffer returns scratch of K*ss bytes, grown to the largest segment seen.
func (d *Decoder) buffer(ss int) []byte {
	need := d.p.K * ss
	if cap(d.scratch) < need {
		d.scratch = make([]byte, need)
	}
	return d.scratch[:need]
}

// gather copies the data shards into scratch as one ciphertext.
func (d *Decoder) gather(shards [][]byte, ss int) []byte {
	buf := d.buffer(ss)
	for i := 0; i < d.p.K; i++ {
		copy(buf[i*ss:], shards[i])
	}
	return buf
}

// reconstruct rebuilds missing data shards directly into their place in
// scratch; present data shards are copied there, parity is read in place.
func (d *Decoder) reconstruct(shards [][]byte, ss int) ([]byte, error) {
	buf := d.buffer(ss)
	for i := range d.work {
		switch {
		case i >= d.p.K:
			d.work[i] = shards[i]
		case shards[i] != nil:
			d.work[i] = buf[i*ss : (i+1)*ss : (i+1)*ss]
			copy(d.work[i], shards[i])
		default:
			// Zero length with capacity: reedsolomon writes the shard here.
			d.work[i] = buf[i*ss : i*ss : (i+1)*ss]
		}
	}
	err := d.rs.ReconstructData(d.work)
	clear(d.work) // drop references to caller memory
	if err != nil {
		return nil, fmt.Errorf("codec: reed-solomon reconstruct: %w", err)
	}
	return buf, nil
}
