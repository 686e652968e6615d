package manifest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/ipfs/go-cid"
)

// MaxManifestSize bounds decoder input (about a million shard CIDs).
const MaxManifestSize = 64 << 20

// wireManifest fixes the JSON field order and spelling; public types carry
// no json tags so nobody marshals them with cid.Cid's {"/":…} link form.
type wireManifest struct {
	Version     int           `json:"version"`
	Size        int64         `json:"size"`
	SegmentSize int64         `json:"segment_size"`
	K           int           `json:"k"`
	N           int           `json:"n"`
	Cipher      string        `json:"cipher"`
	Name        string        `json:"name"`
	DeleteHash  string        `json:"delete_hash"`
	Segments    []wireSegment `json:"segments"`
}

type wireSegment struct {
	Size      int64    `json:"size"`
	ShardSize int64    `json:"shard_size"`
	Shards    []string `json:"shards"`
}

// Encode validates m and returns its canonical bytes: compact JSON in a
// fixed field order. CID(Encode()) is the manifest's identity.
func (m *Manifest) Encode() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m.encode()
}

func (m *Manifest) encode() ([]byte, error) {
	w := wireManifest{
		Version:     m.Version,
		Size:        m.Size,
		SegmentSize: m.SegmentSize,
		K:           m.K,
		N:           m.N,
		Cipher:      m.Cipher,
		Name:        m.Name,
		DeleteHash:  hex.EncodeToString(m.DeleteHash[:]),
		Segments:    make([]wireSegment, len(m.Segments)),
	}
	for i, s := range m.Segments {
		shards := make([]string, len(s.Shards))
		for j, c := range s.Shards {
			shards[j] = c.String()
		}
		w.Segments[i] = wireSegment{Size: s.Size, ShardSize: s.ShardSize, Shards: shards}
	}
	b, err := json.Marshal(&w)
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
		Name:        w.Name,
		Segments:    make([]Segment, len(w.Segments)),
	}
	dh, err := decodeHex(w.DeleteHash)
	if err != nil {
		return nil, fmt.Errorf("delete_hash: %w", err)
	}
	if len(dh) != len(m.DeleteHash) {
		return nil, fmt.Errorf("delete_hash is %d bytes, want %d", len(dh), len(m.DeleteHash))
	}
	copy(m.DeleteHash[:], dh)
	for i, ws := range w.Segments {
		shards := make([]cid.Cid, len(ws.Shards))
		for j, s := range ws.Shards {
			if shards[j], err = parseCanonicalCID(s); err != nil {
				return nil, fmt.Errorf("segment %d shard %d: %w", i, j, err)
			}
		}
		m.Segments[i] = Segment{Size: ws.Size, ShardSize: ws.ShardSize, Shards: shards}
	}
	return m, nil
}

// CID is the manifest identity: CIDv1, codec json (0x0200), blake3-256 of
// the exact encoded bytes.
func CID(encoded []byte) cid.Cid {
	return codec.BlobCID(codecJSON, encoded)
}

// Verify checks that encoded hashes to c.
func Verify(c cid.Cid, encoded []byte) error {
	if got := CID(encoded); !got.Equals(c) {
		return fmt.Errorf("manifest: CID mismatch: expected %s, bytes hash to %s", c, got)
	}
	return nil
}
