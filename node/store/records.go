package store

import (
	"bytes"
	"errors"

	bolt "go.etcd.io/bbolt"
)

// Records are small values (manifests' location records) kept in the index
// database. They do not count towards Capacity.

var errBadKey = errors.New("store: record key must be 1..32768 bytes")

func checkKey(key string) error {
	if len(key) == 0 || len(key) > bolt.MaxKeySize {
		return errBadKey
	}
	return nil
}

// PutRecord stores val (shorter than MaxRecord) under key, replacing any
// previous value.
func (s *Store) PutRecord(key string, val []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if len(val) >= MaxRecord {
		return ErrTooLarge
	}
	v := append([]byte{}, val...) // non-nil even when empty; outlives the caller's buffer
	return s.commit(func(tx *bolt.Tx) error {
		return tx.Bucket(recordsBucket).Put([]byte(key), v)
	})
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
	return s.commit(func(tx *bolt.Tx) error {
		return tx.Bucket(recordsBucket).Delete([]byte(key))
	})
}
