package manifest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
)

// MaxLocationsSize bounds decoder input, matching MaxManifestSize.
const MaxLocationsSize = 64 << 20

// wireLocations fixes the JSON field order; peer IDs are base58 strings and
// the signature is lowercase hex.
type wireLocations struct {
	Manifest  string   `json:"manifest"`
	Seq       uint64   `json:"seq"`
	Peers     []string `json:"peers"`
	Holders   [][]int  `json:"holders"`
	Author    string   `json:"author"`
	Time      int64    `json:"time"`
	Signature string   `json:"signature"`
}

// Encode returns the canonical JSON of a structurally valid, signed record.
// It does not verify the signature.
func (l *Locations) Encode() ([]byte, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	return l.encode()
}

func (l *Locations) encode() ([]byte, error) {
	w := wireLocations{
		Manifest:  l.Manifest.String(),
		Seq:       l.Seq,
		Peers:     make([]string, len(l.Peers)),
		Holders:   l.Holders,
		Author:    l.Author.String(),
		Time:      l.Time,
		Signature: hex.EncodeToString(l.Signature),
	}
	for i, p := range l.Peers {
		w.Peers[i] = p.String()
	}
	b, err := json.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("locations: encode: %w", err)
	}
	return b, nil
}

// DecodeLocations parses a record and checks its structure (CID kind, peer
// IDs, index ranges, no duplicate peers, canonical bytes). It does NOT check
// the signature: call Verify.
func DecodeLocations(b []byte) (*Locations, error) {
	if len(b) > MaxLocationsSize {
		return nil, fmt.Errorf("locations: %d bytes exceeds limit of %d", len(b), MaxLocationsSize)
	}
	var w wireLocations
	if err := decodeStrict(b, &w); err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	l, err := w.toLocations()
	if err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	if err := l.validate(); err != nil {
		return nil, err
	}
	canon, err := l.encode()
	if err != nil {
		return nil, err
	}
	if err := checkCanonical(b, canon); err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	return l, nil
}

func (w *wireLocations) toLocations() (*Locations, error) {
	c, err := parseCanonicalCID(w.Manifest)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	l := &Locations{Manifest: c, Seq: w.Seq, Holders: w.Holders, Time: w.Time}
	l.Peers = make([]peer.ID, len(w.Peers))
	for i, s := range w.Peers {
		if l.Peers[i], err = parseCanonicalPeerID(s); err != nil {
			return nil, fmt.Errorf("peer %d: %w", i, err)
		}
	}
	if l.Author, err = parseCanonicalPeerID(w.Author); err != nil {
		return nil, fmt.Errorf("author: %w", err)
	}
	if l.Signature, err = decodeHex(w.Signature); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	return l, nil
}

// parseCanonicalPeerID accepts only the base58 form peer.ID.String emits.
func parseCanonicalPeerID(s string) (peer.ID, error) {
	p, err := peer.Decode(s)
	if err != nil {
		return "", fmt.Errorf("bad peer ID %q: %w", clip(s), err)
	}
	if p.String() != s {
		return "", fmt.Errorf("peer ID %q is not in canonical base58 form (%s)", clip(s), p)
	}
	return p, nil
}
