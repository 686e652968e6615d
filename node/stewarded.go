package node

import (
	"errors"
	"strings"

	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/ipfs/go-cid"
)

// stewardedFile is one file this node is a steward of, with its record as kept here.
type stewardedFile struct {
	mc  cid.Cid
	m   *manifest.Manifest
	loc *manifest.Locations
}

// forEachStewarded calls fn for every file whose manifest and locations record this node keeps,
// skipping removed files and records that do not decode (a damaged record is not fatal to the
// chores; the next merge from a co-steward replaces it).
func (n *Node) forEachStewarded(fn func(f stewardedFile) error) error {
	var keys []cid.Cid
	err := n.store.ListRecords("loc/", func(key string, _ []byte) error {
		c, err := cid.Decode(strings.TrimPrefix(key, "loc/"))
		if err == nil {
			keys = append(keys, c)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, mc := range keys {
		f, err := n.loadStewarded(mc)
		if err != nil {
			continue
		}
		if err := fn(f); err != nil {
			if errors.Is(err, errStopWalk) {
				return nil
			}
			return err
		}
	}
	return nil
}

// loadStewarded loads and decodes one kept file.
func (n *Node) loadStewarded(mc cid.Cid) (stewardedFile, error) {
	body, locBytes, err := n.stewards.Load(mc)
	if err != nil {
		return stewardedFile{}, err
	}
	m, err := manifest.Decode(body)
	if err != nil {
		return stewardedFile{}, err
	}
	loc, err := manifest.DecodeLocations(locBytes)
	if err != nil {
		return stewardedFile{}, err
	}
	return stewardedFile{mc: mc, m: m, loc: loc}, nil
}

// shardAt returns the CID, size and delete hash of flat position p of m.
func shardAt(m *manifest.Manifest, p uint32) (c cid.Cid, size int64, dh [32]byte, ok bool) {
	seg, idx := int(p)/m.N, int(p)%m.N
	if seg >= len(m.Segments) {
		return cid.Undef, 0, dh, false
	}
	s := &m.Segments[seg]
	return s.Shards[idx], s.ShardSize, s.DeleteHashes[idx], true
}
