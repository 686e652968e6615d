package store

import (
	"bytes"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Records are values (manifests' location records, tombstones) kept in the
// index database. Each counts len(key)+len(value) bytes against Capacity, in
// Used and Free; Open recomputes the total from the records themselves.

var errBadKey = errors.New("store: record key must be 1..32768 bytes")

func checkKey(key string) error {
	if len(key) == 0 || len(key) > bolt.MaxKeySize {
		return errBadKey
	}
	return nil
}

func recordSize(key string, val []byte) int64 { return int64(len(key) + len(val)) }

// PutRecord stores val (shorter than MaxRecord) under key, replacing any
// previous value. Growth beyond the free capacity is ErrFull.
func (s *Store) PutRecord(key string, val []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if len(val) >= MaxRecord {
		return fmt.Errorf("%w: record of %d bytes, max %d", ErrTooLarge, len(val), MaxRecord-1)
	}
	defer s.rlocks.lock(key)()
	var old int64
	if err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(recordsBucket).Get([]byte(key)); v != nil {
			old = recordSize(key, v)
		}
		return nil
	}); err != nil {
		return err
	}
	// The key lock keeps old current until the commit below.
	delta := recordSize(key, val) - old
	h := hold{bytes: max(delta, 0)}
	if err := s.reserve(h); err != nil {
		return err
	}
	v := append([]byte{}, val...) // non-nil even when empty; outlives the caller's buffer
	err := s.commit(func(tx *bolt.Tx) error {
		return tx.Bucket(recordsBucket).Put([]byte(key), v)
	})
	s.mu.Lock()
	s.reserved -= h.bytes
	if err == nil {
		s.used += delta
	}
	s.mu.Unlock()
	return err
}

func (s *Store) GetRecord(key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(recordsBucket).Get([]byte(key))
		if v == nil {
			return ErrNotFound
		}
		out = bytes.Clone(v)
		if out == nil {
			out = []byte{}
		}
		return nil
	})
	return out, err
}

// DeleteRecord removes key; deleting an absent key is not an error.
func (s *Store) DeleteRecord(key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	defer s.rlocks.lock(key)()
	var old int64
	err := s.commit(func(tx *bolt.Tx) error {
		b := tx.Bucket(recordsBucket)
		old = 0 // Batch may rerun fn
		if v := b.Get([]byte(key)); v != nil {
			old = recordSize(key, v)
		}
		return b.Delete([]byte(key))
	})
	if err == nil {
		s.mu.Lock()
		s.used -= old
		s.mu.Unlock()
	}
	return err
}

// recordPageBytes bounds the values ListRecords holds per page (at least one
// record is always taken, so a page may reach MaxRecord).
const recordPageBytes = 4 << 20

// ListRecords calls fn for every record whose key starts with prefix, in key
// order. fn runs outside any transaction and may modify records; an error
// from fn stops the walk and is returned. Records changed during the walk may
// or may not be reported.
func (s *Store) ListRecords(prefix string, fn func(key string, val []byte) error) error {
	type item struct {
		key string
		val []byte
	}
	p := []byte(prefix)
	var after []byte
	for {
		var page []item
		more := false
		err := s.db.View(func(tx *bolt.Tx) error {
			cur := tx.Bucket(recordsBucket).Cursor()
			k, v := cur.Seek(p)
			if after != nil {
				if k, v = cur.Seek(after); bytes.Equal(k, after) {
					k, v = cur.Next()
				}
			}
			held := 0
			for ; k != nil && bytes.HasPrefix(k, p); k, v = cur.Next() {
				if len(page) == listPage || (len(page) > 0 && held+len(v) > recordPageBytes) {
					more = true
					break
				}
				val := bytes.Clone(v)
				if val == nil {
					val = []byte{}
				}
				page = append(page, item{string(k), val})
				held += len(v)
				after = append(after[:0], k...)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, it := range page {
			if err := fn(it.key, it.val); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
	}
}
