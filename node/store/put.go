package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"slices"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
	"lukechampine.com/blake3/bao"
)

const tmpPrefix = ".tmp-"

// Put stores the blob c of exactly size bytes read from r and adds ref to
// its references (a set keyed by DeleteHash: adding a present hash again
// changes nothing). ref.Account and ref.Subnet are charged size, against
// PeerQuota and SubnetQuota, unless the ref was already present.
//
// Put always streams size bytes from r (never more) into a temporary file
// while computing the bao outboard; if the bao root differs from c's digest
// it returns ErrMismatch, and if r ends early an error wrapping
// io.ErrUnexpectedEOF; in both cases nothing is kept. So a caller adding a
// reference to a blob that is already stored proves it has the bytes (the
// stored file is then left as it is and existed is true).
//
// Quotas, Puts in flight and capacity are checked before anything is read.
// No lock is held while reading r: a slow or stalled uploader never delays
// deletes, lease changes or other Puts of the same CID. Only the final
// commit is serialised per CID.
func (s *Store) Put(c cid.Cid, size int64, r io.Reader, ref Ref) (existed bool, err error) {
	digest, err := digestOf(c)
	if err != nil {
		return false, err
	}
	if size < 0 {
		return false, fmt.Errorf("store: negative size %d", size)
	}
	if size > s.opt.MaxBlob {
		return false, fmt.Errorf("%w: blob of %d bytes, max %d", ErrTooLarge, size, s.opt.MaxBlob)
	}
	if err := ref.check(); err != nil {
		return false, err
	}
	ref = ref.clone()
	key := c.Bytes()
	e, found, err := s.lookup(key)
	switch {
	case err != nil:
		return false, err
	case found && e.size != size:
		return false, fmt.Errorf("%w: stored size %d, claimed %d", ErrMismatch, e.size, size)
	case found && e.refIndex(ref.DeleteHash) < 0 && len(e.refs) >= maxRefs:
		return false, fmt.Errorf("%w: %s already has %d references", ErrFull, c, len(e.refs))
	}
	h := hold{bytes: size, charge: size, account: ref.Account, subnet: ref.Subnet}
	if found {
		h.bytes = 0 // a proof of possession needs no new space, unless the blob goes meanwhile
		if e.refIndex(ref.DeleteHash) >= 0 {
			h.charge = 0 // nor new quota: the ref is already there
		}
	}
	if err := s.reserve(h); err != nil {
		return false, err
	}
	kept, added := false, false
	defer func() { s.settle(h, kept, added) }()

	tmp, outboard, err := s.writeTemp(digest, size, r)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp) // a no-op once renamed into place

	defer s.locks.lock(string(key))()
	e, found, err = s.lookup(key)
	if err != nil {
		return false, err
	}
	if found {
		added, err = s.addRef(c, key, e, size, ref)
		if added && h.charge == 0 {
			// The ref was present when we looked and gone when we committed: charge it now.
			s.mu.Lock()
			s.chargeLocked(Ref{Account: ref.Account, Subnet: ref.Subnet}, size)
			s.mu.Unlock()
		}
		return err == nil, err
	}
	if h.bytes == 0 {
		// The blob was deleted while we read: these bytes become the stored copy, if they fit.
		space := hold{bytes: size}
		if err := s.reserve(space); err != nil {
			return false, err
		}
		defer func() { s.settle(space, kept, false) }() // kept: the bytes became stored
	}
	path := s.blobPath(c, digest)
	if err := s.install(tmp, path, digest); err != nil {
		return false, err
	}
	ne := entry{size: size, outboard: outboard, refs: []Ref{ref}}
	if err := s.commit(func(tx *bolt.Tx) error {
		return setEntry(tx, key, nil, &ne)
	}); err != nil {
		os.Remove(path)
		return false, fmt.Errorf("store: index: %w", err)
	}
	kept, added = true, true // with h.bytes == 0, settling h adds no bytes: the space hold does
	if h.charge == 0 {
		// The ref was present when we looked, and its blob gone when we committed: charge it now.
		s.mu.Lock()
		s.chargeLocked(Ref{Account: ref.Account, Subnet: ref.Subnet}, size)
		s.mu.Unlock()
	}
	return false, nil
}

// lookup returns key's entry, if any, decoded outside the page.
func (s *Store) lookup(key []byte) (e entry, found bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(blobsBucket).Get(key)
		if v == nil {
			return nil
		}
		found = true
		e, err = decodeEntry(v)
		e.outboard = nil // aliases the page; not needed
		return err
	})
	return e, found, err
}

// addRef adds ref to the stored blob c (entry e), whose bytes the caller
// has just proved it has. It reports whether a ref was added (false when
// that delete hash was already present). The caller holds c's key lock.
func (s *Store) addRef(c cid.Cid, key []byte, e entry, size int64, ref Ref) (added bool, err error) {
	if e.size != size {
		return false, fmt.Errorf("%w: stored size %d, claimed %d", ErrMismatch, e.size, size)
	}
	if e.refIndex(ref.DeleteHash) >= 0 {
		return false, nil
	}
	if len(e.refs) >= maxRefs {
		return false, fmt.Errorf("%w: %s already has %d references", ErrFull, c, len(e.refs))
	}
	err = s.commit(func(tx *bolt.Tx) error {
		added = false // Batch may rerun fn
		v := tx.Bucket(blobsBucket).Get(key)
		if v == nil {
			return ErrNotFound // impossible under the key lock
		}
		old, err := decodeEntry(v)
		if err != nil {
			return err
		}
		ne := old
		ne.refs = append(slices.Clip(old.refs), ref)
		added = true
		return setEntry(tx, key, old.refs, &ne)
	})
	if err != nil {
		added = false
	}
	return added, err
}

// writeTemp streams size bytes of r into a durable temp file in the blob's
// fan-out directory while computing the bao outboard, and checks the root
// against digest. It returns the temp file's path and the outboard; on error
// no file is left behind.
func (s *Store) writeTemp(digest [32]byte, size int64, r io.Reader) (path string, outboard []byte, err error) {
	dir, err := s.fanoutDir(digest[0])
	if err != nil {
		return "", nil, err
	}
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return "", nil, fmt.Errorf("store: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()

	// The outboard is ~0.4% of the blob; the data itself only ever passes
	// through bao's 16 KiB group buffer and this write buffer.
	ob := &bufferAt{buf: make([]byte, bao.EncodedSize(int(size), baoGroup, true))}
	w := bufio.NewWriterSize(f, 256<<10)
	root, err := bao.Encode(ob, io.TeeReader(r, w), size, baoGroup, true)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return "", nil, fmt.Errorf("store: reading blob: %w", err)
	}
	if root != digest {
		return "", nil, ErrMismatch
	}
	if err = w.Flush(); err != nil {
		return "", nil, fmt.Errorf("store: %w", err)
	}
	if !s.opt.NoSync {
		if err = f.Sync(); err != nil {
			return "", nil, fmt.Errorf("store: %w", err)
		}
	}
	if err = f.Close(); err != nil {
		return "", nil, fmt.Errorf("store: %w", err)
	}
	return tmp, ob.buf, nil
}

// install renames a verified temp file to path and makes the rename durable
// before the index entry that trusts it is written.
func (s *Store) install(tmp, path string, digest [32]byte) error {
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if !s.opt.NoSync {
		dir, err := s.fanoutDir(digest[0])
		if err != nil {
			return err
		}
		if err := syncDir(dir); err != nil {
			os.Remove(path)
			return err
		}
	}
	return nil
}
