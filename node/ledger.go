package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/payments"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	bolt "go.etcd.io/bbolt"
)

// LedgerFile is the ledger's database in the repo.
const LedgerFile = "ledger.db"

// Settlement's epoch grid until the config carries it (the lead's call: settle.epoch_length
// and settle.genesis). Every node must use the same values.
const (
	defaultEpochLength  = 86400
	defaultEpochGenesis = 0
)

var (
	bucketEntries = []byte("entries") // ID (32 bytes) → canonical entry bytes
	bucketChains  = []byte("chains")  // author peer ID bytes ‖ seq (8 bytes BE) → ID
)

// Ledger is a node's local copy of the ledger: every validated entry, persisted in bbolt, a
// Validator holding the chains' state, and this node's own chain, which it signs with the
// node's key. Safe for concurrent use; calls are serialized.
type Ledger struct {
	mu     sync.Mutex
	db     *bolt.DB
	priv   crypto.PrivKey
	self   peer.ID
	v      *payments.Validator
	last   *payments.Entry // this node's last entry, nil before its first
	now    func() time.Time
	params payments.SettleParams
	// pending holds entries accepted in the write batch not yet committed, for the validator's
	// fork lookups.
	pending map[payments.ID][]byte
	kinds   map[payments.Kind]int // stored entries per kind
	closed  bool
	// outbox carries this node's newly stored own entries to gossip (ledger_append.go).
	outbox        chan []byte
	outboxDropped int
	lastStatement *uint64 // the epoch of this node's last signed statement, nil before its first
}

// OpenLedger opens (or creates) the ledger in repoPath and replays its entries.
func OpenLedger(repoPath string, priv crypto.PrivKey) (*Ledger, error) {
	self, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("ledger: node key: %w", err)
	}
	path := filepath.Join(repoPath, LedgerFile)
	// A second process (or a node not closed) holds the file lock: fail rather than hang.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	l := &Ledger{db: db, priv: priv, self: self, now: time.Now, kinds: make(map[payments.Kind]int),
		outbox: make(chan []byte, outboxSize),
		params: payments.SettleParams{Epoch: payments.EpochParams{Genesis: defaultEpochGenesis, Length: defaultEpochLength}}}
	l.v = payments.NewValidator(payments.ValidatorParams{Lookup: l.lookup})
	if err := l.replay(); err != nil {
		db.Close()
		return nil, err
	}
	return l, nil
}

// Close closes the database; later calls fail.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.db.Close()
}

var errLedgerClosed = errors.New("ledger is closed")

// replay feeds the stored entries, author by author in Seq order, to a fresh validator. The
// clock is pushed to the far future: entries were checked against the clock when they arrived.
func (l *Ledger) replay() error {
	const replayNow = math.MaxInt64 - payments.DefaultMaxSkew
	err := l.db.Update(func(tx *bolt.Tx) error {
		entries, err := tx.CreateBucketIfNotExists(bucketEntries)
		if err != nil {
			return err
		}
		chains, err := tx.CreateBucketIfNotExists(bucketChains)
		if err != nil {
			return err
		}
		return chains.ForEach(func(k, id []byte) error {
			b := entries.Get(id)
			if b == nil {
				return fmt.Errorf("chain key %x names entry %x, which is missing", k, id)
			}
			e, _, err := l.v.Add(b, replayNow)
			switch payments.ReasonOf(err) {
			case "":
				l.noteOwn(e)
				l.kinds[e.Kind]++
				return nil
			case payments.ReasonForkedAuthor:
				// Stored before its author was proven forked: kept, never settled.
				if e, err := payments.Decode(b); err == nil {
					l.kinds[e.Kind]++
				}
				return nil
			}
			return fmt.Errorf("stored entry %x: %w", id, err)
		})
	})
	if err != nil {
		return fmt.Errorf("ledger: replay: %w", err)
	}
	return nil
}

// noteOwn remembers e if it extends this node's chain.
func (l *Ledger) noteOwn(e *payments.Entry) {
	if e != nil && peer.ID(e.Author) == l.self && (l.last == nil || e.Seq > l.last.Seq) {
		l.last = e
		if e.Kind == payments.KindStatement {
			if st, err := payments.DecodeStatement(e); err == nil {
				l.lastStatement = &st.Epoch
			}
		}
	}
}

// lookup gives the validator an accepted entry's bytes, to build fork proofs. It runs with
// l.mu held (inside Add) and opens its own read transaction, so no write may be open then.
func (l *Ledger) lookup(id payments.ID) []byte {
	if b, ok := l.pending[id]; ok {
		return b
	}
	var out []byte
	l.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketEntries).Get(id[:]); b != nil {
			out = bytes.Clone(b)
		}
		return nil
	})
	return out
}

// accepted is an entry the validator took, waiting to be written.
type accepted struct {
	e  *payments.Entry
	id payments.ID
	b  []byte
}

// add validates b at the ledger's clock and, if accepted, queues it in pending for store.
func (l *Ledger) add(b []byte, batch *[]accepted) error {
	e, id, err := l.v.Add(b, l.now().Unix())
	if err != nil {
		return err
	}
	b = bytes.Clone(b)
	if l.pending == nil {
		l.pending = make(map[payments.ID][]byte)
	}
	l.pending[id] = b
	*batch = append(*batch, accepted{e: e, id: id, b: b})
	l.noteOwn(e)
	l.kinds[e.Kind]++
	return nil
}

// store writes a batch of accepted entries in one transaction. On failure the validator has
// already taken them: the ledger refuses further calls until reopened, which replays the disk.
func (l *Ledger) store(batch []accepted) error {
	defer clear(l.pending)
	if len(batch) == 0 {
		return nil
	}
	err := l.db.Update(func(tx *bolt.Tx) error {
		entries, chains := tx.Bucket(bucketEntries), tx.Bucket(bucketChains)
		for _, a := range batch {
			if err := entries.Put(a.id[:], a.b); err != nil {
				return err
			}
			if err := chains.Put(chainKey(a.e.Author, a.e.Seq), a.id[:]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		l.closed = true
		l.db.Close()
		return fmt.Errorf("ledger: store %d entries (restart the node to recover): %w", len(batch), err)
	}
	for _, a := range batch {
		if peer.ID(a.e.Author) == l.self {
			l.queueOut(a.b)
		}
	}
	return nil
}

func chainKey(author []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, len(author)+8), author...), seq)
}
