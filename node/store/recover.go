package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// recover brings the index and the blob files back into agreement after a
// crash (or any other interruption) and computes what is charged:
//
//  1. index entries that are malformed, or whose file is missing or has the
//     wrong size, are dropped (a Put's file always reaches full size before
//     its entry is committed, so a short file means damage, not progress);
//  2. the lease index is rebuilt from the surviving entries;
//  3. Used, and each account's and subnet's charge, are summed from the
//     entries and records: nothing charged is kept apart from the index, so
//     nothing can drift, and Puts in flight at the crash are charged nothing;
//  4. temp files, and blob files without an index entry (a Put that crashed
//     before committing, or a Delete that crashed after), are removed.
//
// Contents are not re-hashed here (that is Verify's job); sizes are cheap.
func (s *Store) recover() error {
	s.accounts, s.subnets = map[string]*charges{}, map[string]*charges{}
	err := s.db.Update(func(tx *bolt.Tx) error {
		rb, err := tx.CreateBucketIfNotExists(recordsBucket)
		if err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists(blobsBucket)
		if err != nil {
			return err
		}
		if tx.Bucket(leasesBucket) != nil {
			if err := tx.DeleteBucket(leasesBucket); err != nil {
				return err
			}
		}
		lb, err := tx.CreateBucket(leasesBucket)
		if err != nil {
			return err
		}
		var bad [][]byte
		var used int64
		err = b.ForEach(func(k, v []byte) error {
			e, ok := s.checkEntry(k, v)
			if !ok {
				bad = append(bad, k) // valid until the transaction ends
				return nil
			}
			used += e.size
			for _, r := range e.refs {
				s.chargeLocked(r, e.size)
			}
			return indexLeases(lb, k, e.refs)
		})
		if err != nil {
			return err
		}
		for _, k := range bad {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		err = rb.ForEach(func(k, v []byte) error {
			used += int64(len(k) + len(v)) // recordSize, without a string per record
			return nil
		})
		s.used = used
		return err
	})
	if err != nil {
		return fmt.Errorf("store: recover index: %w", err)
	}
	return s.sweepFiles()
}

// checkEntry decodes an index entry and reports whether it is well-formed
// and its file exists with the recorded size.
func (s *Store) checkEntry(k, v []byte) (entry, bool) {
	c, err := cid.Cast(k)
	if err != nil {
		return entry{}, false
	}
	digest, err := digestOf(c)
	if err != nil {
		return entry{}, false
	}
	e, err := decodeEntry(v)
	if err != nil {
		return entry{}, false
	}
	fi, err := os.Stat(s.blobPath(c, digest))
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != e.size {
		return entry{}, false
	}
	return e, true
}

// sweepFiles removes every file in the fan-out directories that is not the
// file of an index entry. Unknown directories are left alone.
func (s *Store) sweepFiles() error {
	subs, err := os.ReadDir(s.blobDir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for _, sub := range subs {
		if !sub.IsDir() || !isFanout(sub.Name()) {
			continue
		}
		dir := filepath.Join(s.blobDir, sub.Name())
		// An existing directory may still be unsynced after a crash, so it is
		// not marked known here; the first Put into it syncs the parent.
		files, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		var orphans []string
		err = s.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(blobsBucket)
			for _, f := range files {
				if f.IsDir() {
					continue
				}
				if !s.indexed(b, sub.Name(), f.Name()) {
					orphans = append(orphans, f.Name())
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		for _, name := range orphans {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("store: sweep: %w", err)
			}
		}
	}
	return nil
}

// indexed reports whether name in fan-out directory sub is exactly the path
// blobPath gives for an indexed CID.
func (s *Store) indexed(b *bolt.Bucket, sub, name string) bool {
	if strings.HasPrefix(name, tmpPrefix) {
		return false
	}
	c, err := cid.Decode(name)
	if err != nil || c.String() != name {
		return false
	}
	digest, err := digestOf(c)
	if err != nil || hex.EncodeToString(digest[:1]) != sub {
		return false
	}
	return b.Get(c.Bytes()) != nil
}

func isFanout(name string) bool {
	if len(name) != 2 {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil && strings.ToLower(name) == name
}
