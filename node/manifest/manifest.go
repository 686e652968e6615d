package manifest

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
)

// Version is the only manifest format version this package reads or writes.
const Version = 1

// CipherAES256GCM is the only supported segment cipher (docs/contracts.md).
const CipherAES256GCM = "aes-256-gcm"

const (
	// MaxShards bounds N; klauspost/reedsolomon over GF(2^8) needs N <= 256.
	MaxShards = 255
	// MaxNameLen is a common file-system limit for one path element.
	MaxNameLen = 255
	// MaxSegmentSize is the largest plaintext AES-GCM may seal under one
	// nonce ((2^32-2) blocks of 16 bytes); bigger segments cannot exist.
	MaxSegmentSize = (1<<32 - 2) * 16
	// gcmTagSize is the ciphertext expansion of each segment.
	gcmTagSize = 16
)

// Segment describes one encrypted, erasure-coded segment of the file.
type Segment struct {
	Size      int64     // plaintext bytes in this segment
	ShardSize int64     // bytes per shard: ceil((Size+16)/K)
	Shards    []cid.Cid // N shard CIDs: K data then N-K parity
}

// Manifest is the immutable description of a stored file. Its identity is
// CID(encoded bytes), which capabilities and locations records name.
type Manifest struct {
	Version     int
	Size        int64 // plaintext file bytes
	SegmentSize int64
	K, N        int
	Cipher      string
	Name        string   // optional original base name
	DeleteHash  [32]byte // blake3 of the manifest's delete token
	Segments    []Segment
}

// SegmentCount is the number of segments a file of size bytes splits into;
// an empty file still has one (empty) segment so it has shards to fetch.
func SegmentCount(size, segmentSize int64) int64 {
	if size <= 0 || segmentSize <= 0 {
		return 1
	}
	n := size / segmentSize
	if size%segmentSize != 0 {
		n++
	}
	return n
}

// ShardSizeFor is ceil((plain+16)/k), written so it cannot overflow.
func ShardSizeFor(plain int64, k int) int64 {
	kk := int64(k)
	q, r := plain/kk, plain%kk
	return q + (r+gcmTagSize+kk-1)/kk
}

// Validate checks every structural rule of the format.
func (m *Manifest) Validate() error {
	if m == nil {
		return errors.New("manifest: nil")
	}
	if m.Version != Version {
		return fmt.Errorf("manifest: unsupported version %d, want %d", m.Version, Version)
	}
	if m.Cipher != CipherAES256GCM {
		return fmt.Errorf("manifest: unknown cipher %q, want %q", clip(m.Cipher), CipherAES256GCM)
	}
	if m.K < 1 || m.K >= m.N || m.N > MaxShards {
		return fmt.Errorf("manifest: bad erasure parameters k=%d n=%d, want 1 <= k < n <= %d", m.K, m.N, MaxShards)
	}
	if m.Size < 0 {
		return fmt.Errorf("manifest: negative size %d", m.Size)
	}
	if m.SegmentSize <= 0 || m.SegmentSize > MaxSegmentSize {
		return fmt.Errorf("manifest: segment size %d out of range 1..%d", m.SegmentSize, int64(MaxSegmentSize))
	}
	if err := validateName(m.Name); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	want := SegmentCount(m.Size, m.SegmentSize)
	if int64(len(m.Segments)) != want {
		return fmt.Errorf("manifest: %d segments, want %d for size %d / segment size %d", len(m.Segments), want, m.Size, m.SegmentSize)
	}
	last := len(m.Segments) - 1
	for i := range m.Segments {
		wantSize := m.SegmentSize
		if i == last {
			wantSize = m.Size - int64(last)*m.SegmentSize // cannot overflow: < Size
		}
		if err := m.validateSegment(&m.Segments[i], wantSize); err != nil {
			return fmt.Errorf("manifest: segment %d: %w", i, err)
		}
	}
	return nil
}

func (m *Manifest) validateSegment(s *Segment, wantSize int64) error {
	if s.Size != wantSize {
		return fmt.Errorf("size %d, want %d", s.Size, wantSize)
	}
	if want := ShardSizeFor(s.Size, m.K); s.ShardSize != want {
		return fmt.Errorf("shard size %d, want %d", s.ShardSize, want)
	}
	if len(s.Shards) != m.N {
		return fmt.Errorf("%d shards, want n=%d", len(s.Shards), m.N)
	}
	seen := make(map[cid.Cid]int, len(s.Shards))
	for j, c := range s.Shards {
		if err := checkCID(c, codecRaw); err != nil {
			return fmt.Errorf("shard %d: %w", j, err)
		}
		if k, dup := seen[c]; dup {
			return fmt.Errorf("shard %d duplicates shard %d (%s)", j, k, c)
		}
		seen[c] = j
	}
	return nil
}

// validateName keeps Name safe to use as a single path element when the
// file is restored: "." and ".." and invalid UTF-8 are rejected as well.
func validateName(name string) error {
	switch {
	case len(name) > MaxNameLen:
		return fmt.Errorf("name is %d bytes, max %d", len(name), MaxNameLen)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("name %q contains '/' or NUL", clip(name))
	case name == "." || name == "..":
		return fmt.Errorf("name %q is not a file name", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("name %q is not valid UTF-8", clip(name))
	}
	return nil
}
