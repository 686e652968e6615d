package manifest

import (
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
)

// MaxSignatureSize bounds Signature; RSA-8192 signatures are 1024 bytes.
const MaxSignatureSize = 1024

// Locations is a signed record of which peer holds each shard of one
// manifest. A newer record (higher Seq) from a steward replaces an older one.
type Locations struct {
	Manifest  cid.Cid
	Seq       uint64
	Peers     []peer.ID // distinct holders, referenced by index from Holders
	Holders   [][]int   // [segment][shard] index into Peers, or -1 if unknown
	Author    peer.ID
	Time      int64 // unix seconds, chosen by the caller
	Signature []byte
}

// NewLocations returns an unsigned record for segs segments of n shards,
// with every holder unknown (-1).
func NewLocations(m cid.Cid, segs, n int) *Locations {
	h := make([][]int, segs)
	for i := range h {
		row := make([]int, n)
		for j := range row {
			row[j] = -1
		}
		h[i] = row
	}
	return &Locations{Manifest: m, Holders: h}
}

// Set records p as the holder of (seg, shard), adding p to Peers if new;
// an empty p marks the shard unknown. Out-of-range indices are a
// programming error and panic like a slice index would.
func (l *Locations) Set(seg, shard int, p peer.ID) {
	if seg < 0 || seg >= len(l.Holders) || shard < 0 || shard >= len(l.Holders[seg]) {
		panic(fmt.Sprintf("manifest: Locations.Set(%d, %d) out of range", seg, shard))
	}
	if p == "" {
		l.Holders[seg][shard] = -1
		return
	}
	idx := -1
	for i, q := range l.Peers {
		if q == p {
			idx = i
			break
		}
	}
	if idx < 0 {
		idx = len(l.Peers)
		l.Peers = append(l.Peers, p)
	}
	l.Holders[seg][shard] = idx
}

// Holder returns the peer holding (seg, shard), or false if it is unknown
// or the indices are out of range.
func (l *Locations) Holder(seg, shard int) (peer.ID, bool) {
	if seg < 0 || seg >= len(l.Holders) || shard < 0 || shard >= len(l.Holders[seg]) {
		return "", false
	}
	i := l.Holders[seg][shard]
	if i < 0 || i >= len(l.Peers) {
		return "", false
	}
	return l.Peers[i], true
}

// CheckAgainst verifies that l describes m: it names m's CID and has one
// row of N holders per segment.
func (l *Locations) CheckAgainst(m *Manifest) error {
	enc, err := m.Encode()
	if err != nil {
		return err
	}
	if c := CID(enc); !c.Equals(l.Manifest) {
		return fmt.Errorf("locations: record is for manifest %s, not %s", l.Manifest, c)
	}
	if len(l.Holders) != len(m.Segments) {
		return fmt.Errorf("locations: %d segments, manifest has %d", len(l.Holders), len(m.Segments))
	}
	for i, row := range l.Holders {
		if len(row) != m.N {
			return fmt.Errorf("locations: segment %d has %d shards, manifest n=%d", i, len(row), m.N)
		}
	}
	return nil
}

// validateBody checks everything that is signed, i.e. all but Author and
// Signature.
func (l *Locations) validateBody() error {
	if err := checkCID(l.Manifest, codecJSON); err != nil {
		return fmt.Errorf("locations: manifest: %w", err)
	}
	seen := make(map[peer.ID]int, len(l.Peers))
	for i, p := range l.Peers {
		if err := checkPeerID(p); err != nil {
			return fmt.Errorf("locations: peer %d: %w", i, err)
		}
		if j, dup := seen[p]; dup {
			return fmt.Errorf("locations: peer %d duplicates peer %d (%s)", i, j, p)
		}
		seen[p] = i
	}
	if len(l.Holders) == 0 {
		return errors.New("locations: no segments")
	}
	n := len(l.Holders[0])
	if n < 2 || n > MaxShards {
		return fmt.Errorf("locations: %d shards per segment, want 2..%d", n, MaxShards)
	}
	for i, row := range l.Holders {
		if len(row) != n {
			return fmt.Errorf("locations: segment %d has %d shards, segment 0 has %d", i, len(row), n)
		}
		for j, h := range row {
			if h < -1 || h >= len(l.Peers) {
				return fmt.Errorf("locations: segment %d shard %d: holder index %d out of range -1..%d", i, j, h, len(l.Peers)-1)
			}
		}
	}
	return nil
}

// validate checks a complete (signed) record's structure, not its signature.
func (l *Locations) validate() error {
	if err := l.validateBody(); err != nil {
		return err
	}
	if err := checkPeerID(l.Author); err != nil {
		return fmt.Errorf("locations: author: %w", err)
	}
	if len(l.Signature) == 0 {
		return errors.New("locations: not signed")
	}
	if len(l.Signature) > MaxSignatureSize {
		return fmt.Errorf("locations: signature is %d bytes, max %d", len(l.Signature), MaxSignatureSize)
	}
	return nil
}

func checkPeerID(p peer.ID) error {
	if p == "" {
		return errors.New("empty peer ID")
	}
	dm, err := mh.Decode([]byte(p))
	if err != nil {
		return fmt.Errorf("peer ID is not a multihash: %w", err)
	}
	// libp2p peer IDs are an inlined key (identity) or a sha2-256 of it.
	if dm.Code != mh.IDENTITY && (dm.Code != mh.SHA2_256 || dm.Length != 32) {
		return fmt.Errorf("peer ID %s has multihash 0x%x/%d bytes, want identity or sha2-256", p, dm.Code, dm.Length)
	}
	return nil
}
