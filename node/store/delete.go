package store

import (
	"os"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
	"lukechampine.com/blake3"
)

// Delete removes the reference whose delete hash is blake3.Sum256(token).
// When the last reference goes, so does the blob. Returns ErrNotFound if the
// blob is absent and ErrForbidden if no reference matches the token.
func (s *Store) Delete(c cid.Cid, token [32]byte) error {
	digest, err := digestOf(c)
	if err != nil {
		return err
	}
	key := c.Bytes()
	defer s.locks.lock(string(key))()

	h := blake3.Sum256(token[:])
	var gone bool
	var size int64
	err = s.commit(func(tx *bolt.Tx) error {
		gone = false // Batch may rerun fn
		b := tx.Bucket(blobsBucket)
		v := b.Get(key)
		if v == nil {
			return ErrNotFound
		}
		e, err := decodeEntry(v)
		if err != nil {
			return err
		}
		i := e.refIndex(h)
		if i < 0 {
			return ErrForbidden
		}
		if len(e.refs) == 1 {
			gone, size = true, e.size
			return b.Delete(key)
		}
		e.refs = append(e.refs[:i], e.refs[i+1:]...)
		return b.Put(key, e.marshal())
	})
	if err != nil || !gone {
		return err
	}
	// The index no longer mentions the blob, so a failed remove only leaves
	// an orphan file that the next Open sweeps away.
	_ = os.Remove(s.blobPath(c, digest))
	s.released(size)
	return nil
}
