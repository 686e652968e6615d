package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
	"lukechampine.com/blake3/bao"
)

// Blob describes a stored blob. Outboard is its bao outboard encoding
// (group 4), which lets a reader verify the data against the CID digest.
type Blob struct {
	Size     int64
	Outboard []byte
}

func (s *Store) Has(c cid.Cid) bool {
	if _, err := digestOf(c); err != nil {
		return false
	}
	var ok bool
	s.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(blobsBucket).Get(c.Bytes()) != nil
		return nil
	})
	return ok
}

func (s *Store) Stat(c cid.Cid) (Blob, error) {
	if _, err := digestOf(c); err != nil {
		return Blob{}, err
	}
	var b Blob
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(blobsBucket).Get(c.Bytes())
		if v == nil {
			return ErrNotFound
		}
		e, _, err := decodeHead(v) // refs are not needed here
		if err != nil {
			return err
		}
		b = Blob{Size: e.size, Outboard: bytes.Clone(e.outboard)}
		return nil
	})
	return b, err
}

// Open returns the blob's data file, which the caller must close, and its
// outboard. The file stays readable even if the blob is deleted meanwhile.
func (s *Store) Open(c cid.Cid) (*os.File, Blob, error) {
	b, err := s.Stat(c)
	if err != nil {
		return nil, Blob{}, err
	}
	digest, _ := digestOf(c)
	f, err := os.Open(s.blobPath(c, digest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Blob{}, ErrNotFound // deleted between Stat and open
	} else if err != nil {
		return nil, Blob{}, fmt.Errorf("store: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Blob{}, fmt.Errorf("store: %w", err)
	}
	if fi.Size() != b.Size {
		f.Close()
		return nil, Blob{}, fmt.Errorf("%w: file is %d bytes, want %d", ErrMismatch, fi.Size(), b.Size)
	}
	return f, b, nil
}

// Verify re-reads a stored blob and checks it, and its outboard, against the
// CID. Damage yields ErrMismatch; the blob is left in place for the caller to
// decide what to do.
func (s *Store) Verify(c cid.Cid) error {
	f, b, err := s.Open(c)
	if err != nil {
		return err
	}
	defer f.Close()
	digest, _ := digestOf(c)
	ok, err := bao.Decode(io.Discard, bufio.NewReaderSize(f, 256<<10), bytes.NewReader(b.Outboard), baoGroup, digest)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrMismatch // file shrank after Open's size check
	} else if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if !ok {
		return ErrMismatch
	}
	return nil
}

// listPage bounds how many entries List reads per transaction: fn runs
// outside any transaction, so it may call back into the Store, and a slow fn
// does not pin an old bbolt snapshot.
const listPage = 1024

// List calls fn for every stored blob in key order; an error from fn stops
// the walk and is returned. Blobs added or removed during List may or may not
// be reported.
func (s *Store) List(fn func(c cid.Cid, size int64) error) error {
	type item struct {
		c    cid.Cid
		size int64
	}
	var after []byte
	for {
		page := make([]item, 0, listPage)
		err := s.db.View(func(tx *bolt.Tx) error {
			cur := tx.Bucket(blobsBucket).Cursor()
			k, v := cur.First()
			if after != nil {
				if k, v = cur.Seek(after); bytes.Equal(k, after) {
					k, v = cur.Next()
				}
			}
			for ; k != nil && len(page) < listPage; k, v = cur.Next() {
				c, err := cid.Cast(k)
				if err != nil {
					return fmt.Errorf("%w: key: %v", errBadEntry, err)
				}
				e, _, err := decodeHead(v) // refs are not needed here
				if err != nil {
					return err
				}
				page = append(page, item{c, e.size})
				after = append(after[:0], k...)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, it := range page {
			if err := fn(it.c, it.size); err != nil {
				return err
			}
		}
		if len(page) < listPage {
			return nil
		}
	}
}
