package transfer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/ipfs/go-cid"
)

// MaxManifest bounds a manifest a steward accepts (a 2 GiB file's manifest is ~40 KiB).
const MaxManifest = 64 << 20

func locKey(c cid.Cid) string { return "loc/" + c.String() }

// Stewardship keeps the manifests this node is a steward of, with their signed locations
// record. Manifests are immutable and content-addressed; the locations record is the part a
// later repair replaces (a higher Seq from the same author; steward-signed updates come later).
type Stewardship struct {
	st *store.Store
	// OnStored runs after a manifest is newly kept, e.g. to announce it in the DHT.
	OnStored func(cid.Cid)
	mu       sync.Mutex // serialises record read-modify-write per node
}

// NewStewardship keeps manifests in st.
func NewStewardship(st *store.Store, onStored func(cid.Cid)) *Stewardship {
	return &Stewardship{st: st, OnStored: onStored}
}

// Accept validates a manifest and its locations record and keeps both.
func (s *Stewardship) Accept(c cid.Cid, body, locBytes []byte) Status {
	if err := manifest.Verify(c, body); err != nil {
		return wire.Fail(wire.CodeMismatch, err)
	}
	m, err := manifest.Decode(body)
	if err != nil {
		return wire.Fail(wire.CodeBadInput, fmt.Errorf("manifest: %w", err))
	}
	loc, err := checkLocations(c, m, locBytes)
	if err != nil {
		return wire.Fail(wire.CodeBadInput, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, err := s.st.GetRecord(locKey(c)); err == nil {
		prev, err := manifest.DecodeLocations(old)
		if err == nil && prev.Author != loc.Author {
			return wire.Fail(wire.CodeForbidden, fmt.Errorf("locations for %s are authored by %s", c, prev.Author))
		}
		if err == nil && prev.Seq >= loc.Seq {
			locBytes = old // keep the newer record we already have
		}
	}
	if _, err := s.st.Put(c, int64(len(body)), bytes.NewReader(body), m.DeleteHash); err != nil {
		return statusOf(err)
	}
	if err := s.st.PutRecord(locKey(c), locBytes); err != nil {
		return statusOf(err)
	}
	if s.OnStored != nil {
		s.OnStored(c)
	}
	return Status{OK: true}
}

// checkLocations decodes, authenticates and matches a locations record against its manifest.
func checkLocations(c cid.Cid, m *manifest.Manifest, b []byte) (*manifest.Locations, error) {
	loc, err := manifest.DecodeLocations(b)
	if err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	if !loc.Manifest.Equals(c) {
		return nil, fmt.Errorf("locations name manifest %s, not %s", loc.Manifest, c)
	}
	if err := loc.Verify(); err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	if err := loc.CheckAgainst(m); err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	return loc, nil
}

// Load returns a kept manifest and its locations record.
func (s *Stewardship) Load(c cid.Cid) ([]byte, []byte, error) {
	f, blob, err := s.st.Open(c)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if blob.Size > MaxManifest {
		return nil, nil, fmt.Errorf("%s is not a manifest (%d bytes)", c, blob.Size)
	}
	body := make([]byte, blob.Size)
	if _, err := io.ReadFull(f, body); err != nil {
		return nil, nil, err
	}
	loc, err := s.st.GetRecord(locKey(c))
	if err != nil {
		return nil, nil, err
	}
	return body, loc, nil
}

// Delete drops a manifest when shown its delete token (the store checks the token).
func (s *Stewardship) Delete(c cid.Cid, token [32]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.st.Delete(c, token); err != nil {
		return err
	}
	if !s.st.Has(c) {
		if err := s.st.DeleteRecord(locKey(c)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}
