package manifest

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Version is the only manifest format version this package reads or writes.
const Version = 2

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
	// MaxPartnerLen bounds the partner tag.
	MaxPartnerLen = 64
	// MinMetaSize is an empty sealed plaintext: nonce and tag.
	MinMetaSize = metaNonceSize + gcmTagSize
	// MaxMetaSize bounds the sealed metadata every steward stores.
	MaxMetaSize = 4096
	// gcmTagSize is the ciphertext expansion of each segment.
	gcmTagSize = 16
)

// Segment describes one encrypted, erasure-coded segment of the file.
type Segment struct {
	Size      int64     // plaintext bytes in this segment
	ShardSize int64     // bytes per shard: ceil((Size+16)/K)
	Shards    []cid.Cid // N shard CIDs (raw, blake3-256): K data then N-K parity
	// DeleteHashes[j] is blake3 of shard j's delete token, so a steward
	// re-placing the shard can give the new holder the right hash.
	DeleteHashes [][32]byte
}

// Manifest is the immutable description of a stored file. Its identity is
// CID(encoded bytes), which capabilities and locations records name.
type Manifest struct {
	Version     int
	Size        int64 // plaintext file bytes
	SegmentSize int64
	K, N        int
	Cipher      string
	// Owner is the uploader. Its ID must embed its public key: it endorses
	// locations (and pays, once there is a ledger).
	Owner peer.ID
	// Partner tags the open source partner in the revenue share; "" = none.
	Partner string
	// Meta is user metadata (file name...) sealed with the file key by
	// SealMeta; stewards see only its padded length.
	Meta       []byte
	DeleteHash [32]byte // blake3 of the manifest's delete token
	Segments   []Segment
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
	if _, err := checkSigner(m.Owner); err != nil {
		return fmt.Errorf("manifest: owner: %w", err)
	}
	if err := validatePartner(m.Partner); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if len(m.Meta) < MinMetaSize || len(m.Meta) > MaxMetaSize {
		return fmt.Errorf("manifest: sealed metadata is %d bytes, want %d..%d", len(m.Meta), MinMetaSize, MaxMetaSize)
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
	if len(s.DeleteHashes) != m.N {
		return fmt.Errorf("%d delete hashes, want n=%d", len(s.DeleteHashes), m.N)
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

// validatePartner keeps the tag a plain identifier: it is read by the
// ledger and shown to people, so no spaces, case or Unicode look-alikes.
func validatePartner(p string) error {
	if len(p) > MaxPartnerLen {
		return fmt.Errorf("partner tag is %d bytes, max %d", len(p), MaxPartnerLen)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("partner tag %q has byte 0x%02x at %d, want only [a-z0-9._-]", clip(p), c, i)
		}
	}
	return nil
}

// validateName keeps a name safe to use as a single path element when the
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

// shardCount is the number of flat positions seg*N + shard in m.
func (m *Manifest) shardCount() int {
	return len(m.Segments) * m.N
}

// shardAt returns the CID at flat position pos, or false if out of range.
func (m *Manifest) shardAt(pos uint32) (cid.Cid, bool) {
	if m.N <= 0 || uint64(pos) >= uint64(m.shardCount()) {
		return cid.Undef, false
	}
	seg, j := int(pos)/m.N, int(pos)%m.N
	if j >= len(m.Segments[seg].Shards) {
		return cid.Undef, false
	}
	return m.Segments[seg].Shards[j], true
}
