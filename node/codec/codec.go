// Package codec is Cairn's pure, I/O-free segment pipeline:
// plaintext segment → AES-256-GCM → Reed–Solomon shards → BLAKE3 shard CIDs,
// and its inverse. The wire formats are fixed by docs/contracts.md.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	// KeySize is the file key length (AES-256).
	KeySize = 32
	// BaoGroup is the bao chunk-group exponent: 2^4 chunks = 16 KiB groups.
	BaoGroup = 4
	// DefaultSegmentSize is the plaintext size of every segment but the last.
	DefaultSegmentSize = 16 << 20

	// TagSize is the GCM tag appended to each segment's ciphertext.
	TagSize = 16

	// MinSegmentSize and MaxSegmentSize bound Params.SegmentSize.
	MinSegmentSize = 64 << 10
	MaxSegmentSize = 256 << 20
)

var (
	// ErrAuth reports a segment that failed authentication: wrong key, wrong
	// segment coordinates (index/total/fileSize) or corrupted shards.
	ErrAuth = errors.New("codec: authentication failed: wrong key or corrupted data")
	// ErrTooFewShards reports fewer than K usable shards; the wrapping error
	// says how many were present.
	ErrTooFewShards = errors.New("codec: too few shards")
)

// Key is a per-file AES-256 key.
type Key [KeySize]byte

// NewKey returns a fresh random file key.
func NewKey() (Key, error) {
	var k Key
	if _, err := rand.Read(k[:]); err != nil {
		return Key{}, fmt.Errorf("codec: new key: %w", err)
	}
	return k, nil
}

// Params fixes the erasure code and segmentation of one file.
type Params struct {
	K, N        int // K data shards, N total shards per segment
	SegmentSize int // plaintext bytes per segment (the last may be shorter)
}

// DefaultParams is 4-of-8 with 16 MiB segments.
func DefaultParams() Params {
	return Params{K: 4, N: 8, SegmentSize: DefaultSegmentSize}
}

// Validate checks 2 <= K < N <= 255 and MinSegmentSize <= SegmentSize <= MaxSegmentSize.
func (p Params) Validate() error {
	switch {
	case p.K < 2:
		// K=1 is plain replication: every shard would be the same bytes under the same CID.
		return fmt.Errorf("codec: invalid params: K=%d, need K >= 2 (K=1 would make every shard an identical copy)", p.K)
	case p.N > 255:
		return fmt.Errorf("codec: invalid params: N=%d, need N <= 255", p.N)
	case p.N <= p.K:
		return fmt.Errorf("codec: invalid params: N=%d with K=%d, need N > K (at least one parity shard)", p.N, p.K)
	case p.SegmentSize < MinSegmentSize || p.SegmentSize > MaxSegmentSize:
		return fmt.Errorf("codec: invalid params: SegmentSize=%d, need %d <= SegmentSize <= %d",
			p.SegmentSize, MinSegmentSize, MaxSegmentSize)
	}
	return nil
}

// SegmentCount is ceil(fileSize/segSize); an empty file still has one
// (empty) segment so that it has shards and a manifest entry. It returns 0 for
// a negative fileSize or non-positive segSize.
func SegmentCount(fileSize int64, segSize int) int {
	if fileSize < 0 || segSize <= 0 {
		return 0
	}
	if fileSize == 0 {
		return 1
	}
	return int((fileSize + int64(segSize) - 1) / int64(segSize))
}

// SegmentPlainSize is the plaintext length of segment index of a file, or -1
// if index is out of range.
func SegmentPlainSize(fileSize int64, segSize, index int) int {
	if index < 0 || index >= SegmentCount(fileSize, segSize) {
		return -1
	}
	return int(min(int64(segSize), fileSize-int64(index)*int64(segSize)))
}

// ShardSize is ceil((plainLen+TagSize)/k): the ciphertext split into k shards.
func ShardSize(plainLen, k int) int {
	return (plainLen + TagSize + k - 1) / k
}

// checkSegment verifies that (index, total, fileSize) describe a segment of
// a file cut with p and that plainLen is that segment's size. Catching caller
// mix-ups here gives clearer errors than a later GCM failure.
func (p Params) checkSegment(index, total int, fileSize int64, plainLen int) error {
	if fileSize < 0 {
		return fmt.Errorf("codec: negative fileSize %d", fileSize)
	}
	if want := SegmentCount(fileSize, p.SegmentSize); total != want {
		return fmt.Errorf("codec: total=%d segments, but a %d-byte file has %d segments of %d bytes",
			total, fileSize, want, p.SegmentSize)
	}
	if index < 0 || index >= total {
		return fmt.Errorf("codec: segment index %d out of range [0,%d)", index, total)
	}
	if want := SegmentPlainSize(fileSize, p.SegmentSize, index); plainLen != want {
		return fmt.Errorf("codec: segment %d of a %d-byte file has %d bytes, got %d",
			index, fileSize, want, plainLen)
	}
	return nil
}

// aadPrefix starts every segment's additional data (contracts.md).
const aadPrefix = "cairn/v1"

// segHeader holds the per-segment GCM nonce and AAD, kept in the
// Encoder/Decoder so that passing them to the AEAD does not allocate.
type segHeader struct {
	nonce [12]byte
	aad   [len(aadPrefix) + 24]byte
}

// set fills nonce = 0^4 || u64be(index) and
// aad = "cairn/v1" || u64be(index) || u64be(total) || u64be(fileSize).
func (h *segHeader) set(index, total int, fileSize int64) {
	binary.BigEndian.PutUint32(h.nonce[:4], 0)
	binary.BigEndian.PutUint64(h.nonce[4:], uint64(index))
	a := h.aad[:]
	copy(a, aadPrefix)
	binary.BigEndian.PutUint64(a[len(aadPrefix):], uint64(index))
	binary.BigEndian.PutUint64(a[len(aadPrefix)+8:], uint64(total))
	binary.BigEndian.PutUint64(a[len(aadPrefix)+16:], uint64(fileSize))
}

func newAEAD(key Key) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("codec: aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("codec: gcm: %w", err)
	}
	return aead, nil
}
