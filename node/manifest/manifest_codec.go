package manifest

import (
	"fmt"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// MaxManifestSize bounds encoded manifests. A shard costs 68 bytes (its
// digest and delete hash), so a 4-of-8 segment of 16 MiB takes 557 bytes and
// 16 MiB holds about 30,100 segments: a file of about 470 GiB.
const MaxManifestSize = 16 << 20

// wireManifest is the CBOR form: a map with small integer keys. Public
// types carry no tags so nobody marshals them in some other form.
type wireManifest struct {
	Version     int           `cbor:"1,keyasint"`
	Size        int64         `cbor:"2,keyasint"`
	SegmentSize int64         `cbor:"3,keyasint"`
	K           int           `cbor:"4,keyasint"`
	N           int           `cbor:"5,keyasint"`
	Cipher      string        `cbor:"6,keyasint"`
	Owner       []byte        `cbor:"7,keyasint"`
	Partner     string        `cbor:"8,keyasint"`
	Meta        []byte        `cbor:"9,keyasint"`
	DeleteHash  []byte        `cbor:"10,keyasint"`
	Segments    []wireSegment `cbor:"11,keyasint"`
}

// wireSegment is a fixed array, repeated per segment. Shard CIDs are stored
// as their blake3 digests: Validate has fixed everything else about them.
type wireSegment struct {
	_            struct{} `cbor:",toarray"`
	Size         int64
	ShardSize    int64
	Shards       [][]byte
	DeleteHashes [][]byte
}

// Encode validates m and returns its canonical CBOR bytes.
// CID(Encode()) is the manifest's identity.
func (m *Manifest) Encode() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := m.encode()
	if err != nil {
		return nil, err
	}
	if len(b) > MaxManifestSize {
		return nil, fmt.Errorf("manifest: encodes to %d bytes, limit %d (use bigger segments)", len(b), MaxManifestSize)
	}
	return b, nil
}

// encode expects a validated m (every shard CID a blake3 raw CID).
func (m *Manifest) encode() ([]byte, error) {
	w := wireManifest{
		Version:     m.Version,
		Size:        m.Size,
		SegmentSize: m.SegmentSize,
		K:           m.K,
		N:           m.N,
		Cipher:      m.Cipher,
		Owner:       []byte(m.Owner),
		Partner:     m.Partner,
		Meta:        m.Meta,
		DeleteHash:  m.DeleteHash[:],
		Segments:    make([]wireSegment, len(m.Segments)),
	}
	for i := range m.Segments {
		s := &m.Segments[i]
		ws := wireSegment{
			Size:         s.Size,
			ShardSize:    s.ShardSize,
			Shards:       make([][]byte, len(s.Shards)),
			DeleteHashes: make([][]byte, len(s.DeleteHashes)),
		}
		for j, c := range s.Shards {
			d, err := codec.Digest(c)
			if err != nil {
				return nil, fmt.Errorf("manifest: segment %d shard %d: %w", i, j, err)
			}
			ws.Shards[j] = d[:]
		}
		for j := range s.DeleteHashes {
			ws.DeleteHashes[j] = s.DeleteHashes[j][:]
		}
		w.Segments[i] = ws
	}
	b, err := marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("manifest: encode: %w", err)
	}
	return b, nil
}

// Decode parses and fully validates a manifest. It accepts only canonical
// bytes, so Encode of the result reproduces b exactly (and so its CID).
func Decode(b []byte) (*Manifest, error) {
	if len(b) > MaxManifestSize {
		return nil, fmt.Errorf("manifest: %d bytes exceeds limit of %d", len(b), MaxManifestSize)
	}
	var w wireManifest
	if err := decodeStrict(b, &w); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if w.Version != Version {
		return nil, fmt.Errorf("manifest: unsupported version %d, want %d", w.Version, Version)
	}
	m, err := w.toManifest()
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	canon, err := m.encode()
	if err != nil {
		return nil, err
	}
	if err := checkCanonical(b, canon); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return m, nil
}

func (w *wireManifest) toManifest() (*Manifest, error) {
	m := &Manifest{
		Version:     w.Version,
		Size:        w.Size,
		SegmentSize: w.SegmentSize,
		K:           w.K,
		N:           w.N,
		Cipher:      w.Cipher,
		Owner:       peer.ID(w.Owner),
		Partner:     w.Partner,
		Meta:        w.Meta,
		Segments:    make([]Segment, len(w.Segments)),
	}
	if err := copyDigest(m.DeleteHash[:], w.DeleteHash); err != nil {
		return nil, fmt.Errorf("delete hash: %w", err)
	}
	for i, ws := range w.Segments {
		s := Segment{
			Size:         ws.Size,
			ShardSize:    ws.ShardSize,
			Shards:       make([]cid.Cid, len(ws.Shards)),
			DeleteHashes: make([][32]byte, len(ws.DeleteHashes)),
		}
		for j, d := range ws.Shards {
			var dd [32]byte
			if err := copyDigest(dd[:], d); err != nil {
				return nil, fmt.Errorf("segment %d shard %d: %w", i, j, err)
			}
			s.Shards[j] = codec.CIDFromDigest(codecRaw, dd)
		}
		for j, d := range ws.DeleteHashes {
			if err := copyDigest(s.DeleteHashes[j][:], d); err != nil {
				return nil, fmt.Errorf("segment %d delete hash %d: %w", i, j, err)
			}
		}
		m.Segments[i] = s
	}
	return m, nil
}

func copyDigest(dst, src []byte) error {
	if len(src) != len(dst) {
		return fmt.Errorf("%d bytes, want %d", len(src), len(dst))
	}
	copy(dst, src)
	return nil
}

// CID is the manifest identity: CIDv1, codec cbor (0x51), blake3-256 of
// the exact encoded bytes.
func CID(encoded []byte) cid.Cid {
	return codec.BlobCID(codecCBOR, encoded)
}

// Verify checks that encoded hashes to c.
func Verify(c cid.Cid, encoded []byte) error {
	if got := CID(encoded); !got.Equals(c) {
		return fmt.Errorf("manifest: CID mismatch: expected %s, bytes hash to %s", c, got)
	}
	return nil
}
