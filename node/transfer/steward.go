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

// MaxManifest bounds a manifest a steward accepts (manifest.MaxManifestSize).
const MaxManifest = manifest.MaxManifestSize

// MaxLocations bounds any locations record on the wire; each record is further bounded by what
// its manifest references (manifest.MaxLocationsSize).
const MaxLocations = 32 << 20

func locKey(c cid.Cid) string { return "loc/" + c.String() }

// ErrRemoved means the manifest's owner removed the file; its deletion may still be finishing.
var ErrRemoved = fmt.Errorf("%w: the file was removed", store.ErrNotFound)

// Stewardship keeps the manifests this node is a steward of, with their locations record: the
// set of holders' storage receipts, each endorsed by the owner or a majority of the stewards
// (manifest.Locations). Records from any source are merged as a set, never replaced, so a peer
// can add only what it can prove and can hide nothing that is already known.
type Stewardship struct {
	st *store.Store
	// OnStored runs after a manifest is newly kept, e.g. to announce it in the DHT.
	OnStored func(cid.Cid)
	mu       sync.Mutex // serialises record read-merge-write per node
}

// NewStewardship keeps manifests in st.
func NewStewardship(st *store.Store, onStored func(cid.Cid)) *Stewardship {
	return &Stewardship{st: st, OnStored: onStored}
}

// Origin is who sent something: the account charged for it and its subnet.
type Origin struct {
	Account string // peer ID string; "" = this node
	Subnet  string
}

// Accept validates a manifest and its locations record, merges the record into the one kept, and
// keeps both, charging the manifest to from.
func (s *Stewardship) Accept(from Origin, c cid.Cid, body, locBytes []byte) Status {
	if err := manifest.Verify(c, body); err != nil {
		return wire.Fail(wire.CodeMismatch, err)
	}
	m, err := manifest.Decode(body)
	if err != nil {
		return wire.Fail(wire.CodeBadInput, fmt.Errorf("manifest: %w", err))
	}
	if max := manifest.MaxLocationsSize(m); len(locBytes) > max {
		return wire.Fail(wire.CodeBadInput, fmt.Errorf("locations record of %d bytes exceeds %d for this manifest", len(locBytes), max))
	}
	loc, err := checkLocations(c, m, locBytes)
	if err != nil {
		return wire.Fail(wire.CodeBadInput, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed(c) {
		return wire.Fail(wire.CodeForbidden, ErrRemoved)
	}
	if old, err := s.st.GetRecord(locKey(c)); err == nil {
		if prev, err := manifest.DecodeLocations(old); err == nil {
			loc = manifest.Merge(m, prev, loc)
		}
	}
	merged, err := loc.Encode()
	if err != nil {
		return wire.Fail(wire.CodeInternal, err)
	}
	if len(merged) > manifest.MaxLocationsSize(m) {
		return wire.Fail(wire.CodeBadInput, fmt.Errorf("merged locations record of %d bytes exceeds %d", len(merged), manifest.MaxLocationsSize(m)))
	}
	ref := store.Ref{DeleteHash: m.DeleteHash, Account: from.Account, Subnet: from.Subnet}
	if _, err := s.st.Put(c, int64(len(body)), bytes.NewReader(body), ref); err != nil {
		return statusOf(err)
	}
	if err := s.st.PutRecord(locKey(c), merged); err != nil {
		return statusOf(err)
	}
	if s.OnStored != nil {
		s.OnStored(c)
	}
	return Status{OK: true}
}

// checkLocations decodes and fully verifies a locations record against its manifest.
func checkLocations(c cid.Cid, m *manifest.Manifest, b []byte) (*manifest.Locations, error) {
	loc, err := manifest.DecodeLocations(b)
	if err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	if !loc.Manifest.Equals(c) {
		return nil, fmt.Errorf("locations name manifest %s, not %s", loc.Manifest, c)
	}
	if err := loc.Verify(m); err != nil {
		return nil, err
	}
	return loc, nil
}

// Load returns a kept manifest and its locations record. A removed file is not found.
func (s *Stewardship) Load(c cid.Cid) ([]byte, []byte, error) {
	if s.removed(c) {
		return nil, nil, ErrRemoved
	}
	body, err := s.manifestBytes(c)
	if err != nil {
		return nil, nil, err
	}
	loc, err := s.st.GetRecord(locKey(c))
	if err != nil {
		return nil, nil, err
	}
	return body, loc, nil
}

func (s *Stewardship) manifestBytes(c cid.Cid) ([]byte, error) {
	f, blob, err := s.st.Open(c)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if blob.Size > MaxManifest {
		return nil, fmt.Errorf("%s is not a manifest (%d bytes)", c, blob.Size)
	}
	body := make([]byte, blob.Size)
	if _, err := io.ReadFull(f, body); err != nil {
		return nil, err
	}
	return body, nil
}

// manifest loads and decodes a kept manifest.
func (s *Stewardship) manifest(c cid.Cid) (*manifest.Manifest, error) {
	body, err := s.manifestBytes(c)
	if err != nil {
		return nil, err
	}
	return manifest.Decode(body)
}

// Delete drops a manifest, its record and any tombstone when shown its delete token.
func (s *Stewardship) Delete(c cid.Cid, token [32]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleteLocked(c, token)
}

func (s *Stewardship) deleteLocked(c cid.Cid, token [32]byte) error {
	if err := s.st.Delete(c, token); err != nil {
		return err
	}
	if s.st.Has(c) {
		return nil // another account's reference keeps it
	}
	for _, k := range []string{locKey(c), tombKey(c)} {
		if err := s.st.DeleteRecord(k); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}
