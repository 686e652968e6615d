package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// The leases bucket indexes unconfirmed refs by expiry so that Expired reads
// only what has expired, not the whole index. Its keys are
//
//	lease u64 big-endian | CID bytes | delete hash [32]
//
// with empty values. It is derived from the blobs bucket, written in the same
// transactions, and rebuilt from it by every Open.

func leaseKey(lease int64, key []byte, h [32]byte) []byte {
	k := make([]byte, 0, 8+len(key)+32)
	k = binary.BigEndian.AppendUint64(k, uint64(lease))
	k = append(k, key...)
	return append(k, h[:]...)
}

// setEntry writes key's entry e (nil deletes it) and moves the lease index
// from the refs it had (old) to e's.
func setEntry(tx *bolt.Tx, key []byte, old []Ref, e *entry) error {
	lb := tx.Bucket(leasesBucket)
	for _, r := range old {
		if r.Lease != 0 {
			if err := lb.Delete(leaseKey(r.Lease, key, r.DeleteHash)); err != nil {
				return err
			}
		}
	}
	if e == nil {
		return tx.Bucket(blobsBucket).Delete(key)
	}
	if err := indexLeases(lb, key, e.refs); err != nil {
		return err
	}
	return tx.Bucket(blobsBucket).Put(key, e.marshal())
}

func indexLeases(lb *bolt.Bucket, key []byte, refs []Ref) error {
	for _, r := range refs {
		if r.Lease != 0 {
			if err := lb.Put(leaseKey(r.Lease, key, r.DeleteHash), []byte{}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Expired calls fn for every ref whose lease has passed (Lease != 0 &&
// Lease <= now), earliest first. fn runs outside any transaction, so it may
// call DropRef; an error from fn stops the walk and is returned.
func (s *Store) Expired(now int64, fn func(c cid.Cid, ref Ref) error) error {
	type item struct {
		c   cid.Cid
		ref Ref
	}
	if now <= 0 {
		return nil
	}
	var after []byte
	for {
		page := make([]item, 0, listPage)
		err := s.db.View(func(tx *bolt.Tx) error {
			cur := tx.Bucket(leasesBucket).Cursor()
			k, _ := cur.First()
			if after != nil {
				if k, _ = cur.Seek(after); bytes.Equal(k, after) {
					k, _ = cur.Next()
				}
			}
			blobs := tx.Bucket(blobsBucket)
			for ; k != nil && len(page) < listPage; k, _ = cur.Next() {
				after = append(after[:0], k...)
				if len(k) < 8+32 {
					return fmt.Errorf("%w: lease key of %d bytes", errBadEntry, len(k))
				}
				lease := int64(binary.BigEndian.Uint64(k))
				if lease > now {
					break
				}
				key, h := k[8:len(k)-32], [32]byte(k[len(k)-32:])
				c, err := cid.Cast(key)
				if err != nil {
					return fmt.Errorf("%w: lease key: %v", errBadEntry, err)
				}
				v := blobs.Get(key)
				if v == nil {
					return fmt.Errorf("%w: lease of absent blob %s", errBadEntry, c)
				}
				e, err := decodeEntry(v)
				if err != nil {
					return err
				}
				if i := e.refIndex(h); i >= 0 && e.refs[i].Lease == lease {
					page = append(page, item{c, e.refs[i]})
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, it := range page {
			if err := fn(it.c, it.ref); err != nil {
				return err
			}
		}
		if len(page) < listPage {
			return nil
		}
	}
}

// Claim ties c's ref h to a manifest (the CID bytes a holder receipt named)
// and sets its lease (0 confirms it). ErrNotFound if there is no such ref.
func (s *Store) Claim(c cid.Cid, h [32]byte, manifest []byte, lease int64) error {
	if lease < 0 || len(manifest) > maxManifest {
		return fmt.Errorf("store: claim with lease %d, manifest of %d bytes (max %d)", lease, len(manifest), maxManifest)
	}
	manifest = bytes.Clone(manifest)
	return s.updateRef(c, h, func(r *Ref) {
		r.Manifest, r.Lease = manifest, lease
	})
}

// Confirm keeps c's ref h until it is deleted (Lease = 0): a published
// manifest references it. ErrNotFound if there is no such ref.
func (s *Store) Confirm(c cid.Cid, h [32]byte) error {
	return s.updateRef(c, h, func(r *Ref) { r.Lease = 0 })
}

// updateRef applies f to c's ref h. Charges are unaffected: f changes
// neither Account nor Subnet.
func (s *Store) updateRef(c cid.Cid, h [32]byte, f func(*Ref)) error {
	if _, err := digestOf(c); err != nil {
		return err
	}
	key := c.Bytes()
	defer s.locks.lock(string(key))()
	return s.commit(func(tx *bolt.Tx) error {
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
			return ErrNotFound
		}
		ne := old
		ne.refs = append([]Ref(nil), old.refs...)
		f(&ne.refs[i])
		return setEntry(tx, key, old.refs, &ne)
	})
}
