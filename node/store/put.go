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
	"lukechampine.com/blake3"
	"lukechampine.com/blake3/bao"
)

const tmpPrefix = ".tmp-"

// Put stores the blob c of exactly size bytes read from r and adds ref to
// its references (a set keyed by DeleteHash: adding a present hash again
// changes nothing). ref.Account and ref.Subnet are charged size, against
// PeerQuota and SubnetQuota, unless the ref was already present.
//
// If c is absent, Put streams size bytes from r (never more) into a
// temporary file while computing the bao outboard; if the bao root differs
// from c's digest it returns ErrMismatch, and if r ends early it returns an
// error wrapping io.ErrUnexpectedEOF; in both cases nothing is kept.
//
// If c is already stored, Put returns existed=true once the caller has
// proved it has the blob: it reads exactly size bytes from r and checks
// their BLAKE3 hash against c's digest, with the same errors as above, before
// adding the ref. The file is not rewritten. A size differing from the
// stored one is ErrMismatch without reading.
//
// Quotas, Puts in flight and capacity are checked before anything is read.
// Puts, Deletes and lease changes of one CID are serialised, reading
// included (a slow reader delays the others on that CID, as long as the
// caller lets it read); concurrent Puts of an absent CID: one writes the
// blob, the others then prove possession against it.
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
	defer s.locks.lock(string(key))()
	e, found, err := s.lookup(key)
	if err != nil {
		return false, err
	}
	if found {
		if err := s.addRef(c, digest, key, e, size, r, ref); err != nil {
			return false, err
		}
		return true, nil
	}

	h := hold{bytes: size, charge: size, account: ref.Account, subnet: ref.Subnet}
	if err := s.reserve(h); err != nil {
		return false, err
	}
	kept := false
	defer func() { s.settle(h, kept, kept) }()

	path := s.blobPath(c, digest)
	outboard, err := s.writeBlob(path, digest, size, r)
	if err != nil {
		return false, err
	}
	ne := entry{size: size, outboard: outboard, refs: []Ref{ref}}
	if err := s.commit(func(tx *bolt.Tx) error {
		return setEntry(tx, key, nil, &ne)
	}); err != nil {
		os.Remove(path)
		return false, fmt.Errorf("store: index: %w", err)
	}
	kept = true
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

// addRef adds ref to the stored blob c (entry e) once r has yielded size
// bytes hashing to digest. The caller holds c's key lock.
func (s *Store) addRef(c cid.Cid, digest [32]byte, key []byte, e entry, size int64, r io.Reader, ref Ref) error {
	if e.size != size {
		return fmt.Errorf("%w: stored size %d, claimed %d", ErrMismatch, e.size, size)
	}
	// A ref already present costs no quota, only a Put in flight.
	h := hold{account: ref.Account, subnet: ref.Subnet}
	present := e.refIndex(ref.DeleteHash) >= 0
	if !present {
		if len(e.refs) >= maxRefs {
			return fmt.Errorf("%w: %s already has %d references", ErrFull, c, len(e.refs))
		}
		h.charge = size
	}
	if err := s.reserve(h); err != nil {
		return err
	}
	added := false
	defer func() { s.settle(h, false, added) }()

	if err := possess(digest, size, r); err != nil {
		return err
	}
	if present {
		return nil
	}
	err := s.commit(func(tx *bolt.Tx) error {
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
	return err
}

// possess reads exactly size bytes of r and checks that they hash to digest
// (a blob's bao root is its plain BLAKE3 hash).
func possess(digest [32]byte, size int64, r io.Reader) error {
	hs := blake3.New(32, nil)
	if _, err := io.CopyN(hs, r, size); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("store: reading blob: %w", err)
	}
	if [32]byte(hs.Sum(nil)) != digest {
		return ErrMismatch
	}
	return nil
}

// writeBlob streams size bytes of r into a temp file beside path, verifies
// them against digest, makes them durable and renames them to path. It
// returns the bao outboard. On error no file is left behind.
func (s *Store) writeBlob(path string, digest [32]byte, size int64, r io.Reader) (outboard []byte, err error) {
	dir, err := s.fanoutDir(digest[0])
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
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
		return nil, fmt.Errorf("store: reading blob: %w", err)
	}
	if root != digest {
		return nil, ErrMismatch
	}
	if err = w.Flush(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if !s.opt.NoSync {
		if err = f.Sync(); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	if err = f.Close(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// The rename must be durable before the index entry that trusts it.
	if !s.opt.NoSync {
		if err = syncDir(dir); err != nil {
			os.Remove(path)
			return nil, err
		}
	}
	return ob.buf, nil
}
