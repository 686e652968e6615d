package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
	"lukechampine.com/blake3/bao"
)

const tmpPrefix = ".tmp-"

// Put stores the blob c of exactly size bytes read from r and adds deleteHash
// to its set of references (a set: adding a hash twice is a no-op).
//
// If c is already stored, Put only adds the reference and returns
// existed=true without reading r at all (a size differing from the stored one
// is ErrMismatch). Otherwise it streams size bytes from r (never more) into a
// temporary file while computing the bao outboard; if the bao root differs
// from c's digest it returns ErrMismatch, and if r ends early it returns an
// error wrapping io.ErrUnexpectedEOF; in both cases nothing is kept.
//
// Concurrent Puts of the same CID are serialised: one writes the blob, the
// others then see existed=true.
func (s *Store) Put(c cid.Cid, size int64, r io.Reader, deleteHash [32]byte) (existed bool, err error) {
	digest, err := digestOf(c)
	if err != nil {
		return false, err
	}
	if size < 0 {
		return false, fmt.Errorf("store: negative size %d", size)
	}
	if size > s.opt.MaxBlob {
		return false, ErrTooLarge
	}
	key := c.Bytes()
	defer s.locks.lock(string(key))()

	if existed, err := s.addRef(key, size, deleteHash); existed || err != nil {
		return existed, err
	}

	if err := s.reserve(size); err != nil {
		return false, err
	}
	kept := false
	defer func() { s.settle(size, kept) }()

	path := s.blobPath(c, digest)
	outboard, err := s.writeBlob(path, digest, size, r)
	if err != nil {
		return false, err
	}
	val := entry{size: size, outboard: outboard, refs: [][32]byte{deleteHash}}.marshal()
	if err := s.commit(func(tx *bolt.Tx) error {
		return tx.Bucket(blobsBucket).Put(key, val)
	}); err != nil {
		os.Remove(path)
		return false, fmt.Errorf("store: index: %w", err)
	}
	kept = true
	return false, nil
}

// addRef adds h to an existing blob's references; existed=false means the
// blob is absent. The caller holds the CID's key lock.
func (s *Store) addRef(key []byte, size int64, h [32]byte) (existed bool, err error) {
	var e entry
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(blobsBucket).Get(key)
		if v == nil {
			return nil
		}
		existed = true
		e, err = decodeEntry(v)
		return err
	})
	if err != nil || !existed {
		return false, err
	}
	if e.size != size {
		return false, fmt.Errorf("%w: stored size %d, claimed %d", ErrMismatch, e.size, size)
	}
	if e.refIndex(h) >= 0 {
		return true, nil
	}
	err = s.commit(func(tx *bolt.Tx) error {
		b := tx.Bucket(blobsBucket)
		v := b.Get(key)
		if v == nil {
			return ErrNotFound // impossible under the key lock
		}
		e, err := decodeEntry(v)
		if err != nil {
			return err
		}
		if e.refIndex(h) >= 0 { // Batch may rerun fn
			return nil
		}
		e.refs = append(e.refs, h)
		return b.Put(key, e.marshal())
	})
	return err == nil, err
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
