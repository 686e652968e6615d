package store

import (
	"os"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
	"lukechampine.com/blake3"
)

// Delete removes the reference whose delete hash is blake3.Sum256(token) and
// releases its charge. When the last reference goes, so does the blob.
// Returns ErrNotFound if the blob is absent and ErrForbidden if no reference
// matches the token.
func (s *Store) Delete(c cid.Cid, token [32]byte) error {
	return s.removeRef(c, blake3.Sum256(token[:]), ErrForbidden)
}

// DropRef removes c's ref h (garbage collection of an expired lease), with
// the blob if it was the last one, and releases its charge. ErrNotFound if
// the blob or the ref is absent.
func (s *Store) DropRef(c cid.Cid, h [32]byte) error {
	return s.removeRef(c, h, ErrNotFound)
}

// removeRef removes c's ref h; noRef is the error when c has no such ref.
func (s *Store) removeRef(c cid.Cid, h [32]byte, noRef error) error {
	digest, err := digestOf(c)
	if err != nil {
		return err
	}
	key := c.Bytes()
	defer s.locks.lock(string(key))()

	var gone bool
	var size int64
	var removed Ref
	err = s.commit(func(tx *bolt.Tx) error {
		gone = false // Batch may rerun fn
		v := tx.Bucket(blobsBucket).Get(key)
		if v == nil {
			return ErrNotFound
		}
		old, err := decodeEntry(v)
		if err != nil {
			return err
		}
		i := old.refIndex(h)
		if i < 0 {
			return noRef
		}
		size, removed = old.size, old.refs[i]
		if len(old.refs) == 1 {
			gone = true
			return setEntry(tx, key, old.refs, nil)
		}
		ne := old
		ne.refs = append(old.refs[:i:i], old.refs[i+1:]...)
		return setEntry(tx, key, old.refs, &ne)
	})
	if err != nil {
		return err
	}
	if gone {
		// The index no longer mentions the blob, so a failed remove only
		// leaves an orphan file that the next Open sweeps away.
		_ = os.Remove(s.blobPath(c, digest))
	}
	s.released(removed, size, gone)
	return nil
}
