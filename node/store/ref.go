package store

import (
	"bytes"
	"fmt"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// Ref is one reference to a blob: who may delete it, who pays for it, and
// whether it is confirmed.
type Ref struct {
	DeleteHash [32]byte // blake3 of the delete token
	Account    string   // who is charged: the uploading peer's ID string; "" = this node itself (exempt from quotas)
	Subnet     string   // the uploader's /24 or /48, e.g. "127.0.3.0/24"; "" = none
	Lease      int64    // unix seconds after which an unconfirmed ref is garbage; 0 = confirmed (kept until deleted)
	Manifest   []byte   // CID bytes of the manifest a holder receipt tied this ref to; nil until then
}

// Bounds on a Ref's fields, so an index entry stays small and its decoding
// bounded. Peer ID strings are ~52 bytes, subnets ≤ 43, CIDs ~37.
const (
	maxRefs     = 1024
	maxAccount  = 128
	maxSubnet   = 64
	maxManifest = 128
)

func (r *Ref) check() error {
	switch {
	case len(r.Account) > maxAccount:
		return fmt.Errorf("store: ref account is %d bytes, max %d", len(r.Account), maxAccount)
	case len(r.Subnet) > maxSubnet:
		return fmt.Errorf("store: ref subnet is %d bytes, max %d", len(r.Subnet), maxSubnet)
	case len(r.Manifest) > maxManifest:
		return fmt.Errorf("store: ref manifest is %d bytes, max %d", len(r.Manifest), maxManifest)
	case r.Lease < 0:
		return fmt.Errorf("store: negative ref lease %d", r.Lease)
	}
	return nil
}

func (r Ref) clone() Ref {
	r.Manifest = bytes.Clone(r.Manifest)
	return r
}

// Refs returns copies of c's references; ErrNotFound if c is not stored.
func (s *Store) Refs(c cid.Cid) ([]Ref, error) {
	if _, err := digestOf(c); err != nil {
		return nil, err
	}
	var out []Ref
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(blobsBucket).Get(c.Bytes())
		if v == nil {
			return ErrNotFound
		}
		e, err := decodeEntry(v)
		if err != nil {
			return err
		}
		out = e.refs // decodeEntry copies every field out of the page
		return nil
	})
	return out, err
}

// HasRef reports whether c is stored with a reference whose delete hash is h.
func (s *Store) HasRef(c cid.Cid, h [32]byte) bool {
	refs, err := s.Refs(c)
	if err != nil {
		return false
	}
	e := entry{refs: refs}
	return e.refIndex(h) >= 0
}
