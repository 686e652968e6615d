package transfer

import (
	"fmt"
	"strings"

	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/store"
	"github.com/ipfs/go-cid"
)

// Updates of a kept record without the owner: stewards add entries they (and a majority of their
// co-stewards) endorsed, and adopt a longer steward chain. Every update is a read-merge-write
// under s.mu, so two concurrent updates never lose each other's entries, and goes through
// manifest.Merge, so nothing that does not count under the record's chain gets in.

// Record returns a kept manifest and its locations record, both decoded and the record verified.
// A removed file is ErrRemoved (which is also store.ErrNotFound).
func (s *Stewardship) Record(c cid.Cid) (*manifest.Manifest, *manifest.Locations, error) {
	m, loc, err := s.kept(c)
	if err != nil {
		return nil, nil, err
	}
	if err := loc.Verify(m); err != nil {
		return nil, nil, fmt.Errorf("kept record of %s: %w", c, err)
	}
	return m, loc, nil
}

// kept loads and decodes a kept manifest and its record without verifying signatures (the record
// was verified or merged before it was written).
func (s *Stewardship) kept(c cid.Cid) (m *manifest.Manifest, loc *manifest.Locations, err error) {
	if s.removed(c) {
		return nil, nil, ErrRemoved
	}
	body, err := s.manifestBytes(c)
	if err != nil {
		return nil, nil, err
	}
	if m, err = manifest.Decode(body); err != nil {
		return nil, nil, fmt.Errorf("kept manifest %s: %w", c, err)
	}
	b, err := s.st.GetRecord(locKey(c))
	if err != nil {
		return nil, nil, err
	}
	if loc, err = manifest.DecodeLocations(b); err != nil {
		return nil, nil, fmt.Errorf("kept record of %s: %w", c, err)
	}
	return m, loc, nil
}

// MergeEntries merges entries into c's kept record and returns the result. Entries that do not
// count under the kept chain (a receipt not signed by its holder, endorsements short of the owner
// or a strict majority of one steward set) are dropped, as manifest.Merge drops them.
func (s *Stewardship) MergeEntries(c cid.Cid, entries []manifest.Entry) (*manifest.Locations, error) {
	add := manifest.NewLocations(c)
	for _, e := range entries {
		add.Add(e)
	}
	return s.MergeRecord(c, add)
}

// MergeRecord merges loc (any copy of c's record, e.g. one carrying a longer steward chain) into
// the kept record and returns the result: the longer valid chain wins, entries unite as a set.
func (s *Stewardship) MergeRecord(c cid.Cid, loc *manifest.Locations) (*manifest.Locations, error) {
	if loc == nil || !loc.Manifest.Equals(c) {
		return nil, fmt.Errorf("record to merge is not for manifest %s", c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, old, err := s.kept(c)
	if err != nil {
		return nil, err
	}
	merged := manifest.Merge(m, old, loc)
	b, err := merged.Encode()
	if err != nil {
		return nil, fmt.Errorf("merged record of %s: %w", c, err)
	}
	if max := manifest.MaxLocationsSize(m); len(b) > max {
		return nil, fmt.Errorf("%w: merged record of %d bytes exceeds %d", store.ErrTooLarge, len(b), max)
	}
	if err := s.st.PutRecord(locKey(c), b); err != nil {
		return nil, err
	}
	return merged, nil
}

// Stewarded calls fn with every manifest this node keeps a locations record for, removed files
// excepted. fn may update records; an error from fn stops the walk and is returned.
func (s *Stewardship) Stewarded(fn func(c cid.Cid) error) error {
	const prefix = "loc/" // locKey's; the tests catch a change
	return s.st.ListRecords(prefix, func(key string, _ []byte) error {
		c, err := cid.Decode(strings.TrimPrefix(key, prefix))
		if err != nil || s.removed(c) {
			return nil // not a record of ours to interpret, or a file being removed
		}
		return fn(c)
	})
}
