package store

import (
	"encoding/hex"
	"path/filepath"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/ipfs/go-cid"
)

// digestOf returns the BLAKE3-256 digest (bao root) a CID commits to, or ErrBadCID.
func digestOf(c cid.Cid) ([32]byte, error) {
	d, err := codec.Digest(c)
	if err != nil {
		return d, ErrBadCID
	}
	return d, nil
}

// blobPath is where c's data file lives. Its fan-out directory may not exist
// yet; Put creates it via fanoutDir.
func (s *Store) blobPath(c cid.Cid, digest [32]byte) string {
	return filepath.Join(s.blobDir, hex.EncodeToString(digest[:1]), c.String())
}

// BlobPath is where c's data file lives on disk, for operators and fault-injection tests.
func (s *Store) BlobPath(c cid.Cid) (string, error) {
	d, err := digestOf(c)
	if err != nil {
		return "", err
	}
	return s.blobPath(c, d), nil
}
