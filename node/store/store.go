// Package store is a node's on-disk content-addressed blob store.
//
// Blobs (shards and manifests) are addressed by BLAKE3-256 CIDs whose digest is
// the root of the blob's bao tree (group 4). Each blob lives in its own file
// under blobs/<2 hex of digest>/<cid string>; a bbolt index (index.db) maps the
// CID to its size, bao outboard and its references (see Ref): who may delete
// it, which account and subnet pay for it, and until when an unconfirmed
// reference is kept (its lease, also indexed by time in a second bucket).
//
// The store trusts no uploader: each reference charges its account and subnet
// the blob's size against per-account and per-subnet quotas, Puts in flight
// are bounded per account, and a reference to a blob already stored is only
// added after the uploader has sent the blob's bytes again (proof of
// possession). The store reads no clock: lease expiry is decided by the
// caller's now.
//
// Crash safety rests on one ordering rule: a blob's file is complete and
// renamed into place before its index entry is committed, and its index entry
// is removed before its file is. Open then repairs whatever a crash left
// behind (see recover.go), so the index never points at a missing or partial
// file once Open returns.
package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-storage/cairn/node/codec"
	bolt "go.etcd.io/bbolt"
)

var (
	ErrNotFound  = errors.New("store: not found")
	ErrMismatch  = errors.New("store: content does not match CID")
	ErrFull      = errors.New("store: capacity exceeded")
	ErrForbidden = errors.New("store: delete token does not match")
	ErrTooLarge  = errors.New("store: too large")
	// ErrBadCID is returned for CIDs whose multihash is not BLAKE3-256.
	ErrBadCID = errors.New("store: CID is not a BLAKE3-256 CID")
	// ErrQuota is returned (wrapped with the account or subnet and the
	// numbers) when a Put would exceed a per-account or per-subnet quota or
	// the account's Puts in flight.
	ErrQuota = errors.New("store: quota exceeded")
)

const (
	// DefaultMaxBlob is used when Options.MaxBlob is zero.
	DefaultMaxBlob = 256 << 20
	// MaxRecord bounds record values (exclusive). Locations records of huge
	// files are large; records count against Capacity.
	MaxRecord = 32 << 20

	baoGroup = codec.BaoGroup // 16 KiB chunk groups, fixed by docs/contracts.md
)

var (
	blobsBucket   = []byte("blobs")
	recordsBucket = []byte("records")
	leasesBucket  = []byte("leases") // derived from blobs; rebuilt by every Open
)

type Options struct {
	Capacity int64 // bytes of blob data and records; 0 = unlimited
	MaxBlob  int64 // largest accepted blob; 0 = DefaultMaxBlob
	NoSync   bool  // skip fsync; for tests and benchmarks only

	PeerQuota            int64 // most bytes one Account may be charged (stored + in flight); 0 = unlimited
	SubnetQuota          int64 // most bytes one Subnet may be charged (stored + in flight); 0 = unlimited
	MaxPendingPerAccount int   // Puts in flight per Account; 0 = unlimited
}

// Store is safe for concurrent use.
type Store struct {
	blobDir string
	opt     Options
	db      *bolt.DB
	locks   keyLocks // per CID
	rlocks  keyLocks // per record key

	mu       sync.Mutex
	used     int64 // bytes of committed blobs (each once) and records
	reserved int64 // bytes promised to Puts in progress
	accounts map[string]*charges
	subnets  map[string]*charges

	committing atomic.Int32
	fanout     [256]atomic.Bool // fan-out directory known to exist durably
}

// Open opens (creating if needed) the store in dir and repairs any state left
// by a crash. Only one Store may have dir open at a time; the index file lock
// enforces this, which is also what makes the recovery sweep safe.
func Open(dir string, opt Options) (*Store, error) {
	if opt.Capacity < 0 || opt.MaxBlob < 0 || opt.PeerQuota < 0 || opt.SubnetQuota < 0 || opt.MaxPendingPerAccount < 0 {
		return nil, fmt.Errorf("store: negative option in %+v", opt)
	}
	if opt.MaxBlob == 0 {
		opt.MaxBlob = DefaultMaxBlob
	}
	if opt.MaxBlob > maxEntrySize {
		return nil, fmt.Errorf("store: MaxBlob above %d", int64(maxEntrySize))
	}
	s := &Store{blobDir: filepath.Join(dir, "blobs"), opt: opt}
	if err := os.MkdirAll(s.blobDir, 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if !opt.NoSync {
		if err := syncDir(dir); err != nil {
			return nil, err
		}
	}
	db, err := bolt.Open(filepath.Join(dir, "index.db"), 0o600, &bolt.Options{
		Timeout: 2 * time.Second, // another process holds the store: fail, don't hang
		NoSync:  opt.NoSync,
	})
	if err != nil {
		return nil, fmt.Errorf("store: open index: %w", err)
	}
	// Batch is only used when commits actually overlap (see commit), so a short
	// delay is enough to gather them without stalling a lone writer.
	db.MaxBatchDelay = 2 * time.Millisecond
	s.db = db
	if err := s.recover(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) Close() error { return s.db.Close() }

// commit runs fn in a write transaction. When another commit is already in
// flight the bbolt writer lock is busy anyway, so joining a Batch lets several
// Puts share one fsync; a lone writer commits immediately.
func (s *Store) commit(fn func(*bolt.Tx) error) error {
	n := s.committing.Add(1)
	defer s.committing.Add(-1)
	if n > 1 {
		return s.db.Batch(fn)
	}
	return s.db.Update(fn)
}

// fanoutDir returns the directory for blobs whose digest starts with b,
// creating it (durably) on first use.
func (s *Store) fanoutDir(b byte) (string, error) {
	dir := filepath.Join(s.blobDir, fmt.Sprintf("%02x", b))
	if s.fanout[b].Load() {
		return dir, nil
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("store: %w", err)
	}
	// Sync the parent even if the directory already existed: a racing Put may
	// have created it without having synced yet.
	if !s.opt.NoSync {
		if err := syncDir(s.blobDir); err != nil {
			return "", err
		}
	}
	s.fanout[b].Store(true)
	return dir, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", dir, err)
	}
	return nil
}
