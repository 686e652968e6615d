package node

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cairn-storage/cairn/payments"
	"github.com/libp2p/go-libp2p/core/peer"
	bolt "go.etcd.io/bbolt"
)

// The ledger as the gossip layer sees it (ledgersync.Store, adapted in ledger_gossip.go).

// maxRange bounds one Range answer.
const maxRange = 1024

// AddEntries validates entries received from the network, in order, stores the accepted ones
// in one transaction and returns one error per entry (nil if accepted). A fork it detects
// excludes the author and, when the other entry is at hand, this node signs the proof into its
// own chain, from where gossip carries it on.
func (l *Ledger) AddEntries(bs [][]byte) []error {
	errs := make([]error, len(bs))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		for i := range errs {
			errs[i] = errLedgerClosed
		}
		return errs
	}
	var batch []accepted
	for i, b := range bs {
		proofs := len(l.v.ForkProofs())
		errs[i] = l.add(b, &batch)
		if payments.ReasonOf(errs[i]) == payments.ReasonFork {
			if all := l.v.ForkProofs(); len(all) > proofs {
				l.appendOwn(payments.KindForkProof, all[len(all)-1], &batch)
			}
		}
	}
	if err := l.store(batch); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return errs
}

// Head is one author's frontier in this ledger.
type Head struct {
	Author []byte
	Seq    uint64
}

// Heads returns every author's last accepted Seq, sorted by author bytes.
func (l *Ledger) Heads() ([]Head, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errLedgerClosed
	}
	f := l.v.Frontier()
	out := make([]Head, 0, len(f))
	for a, s := range f {
		id, err := peer.Decode(a) // Frontier names authors in base58; chains hold raw bytes
		if err != nil {
			return nil, fmt.Errorf("ledger: frontier author %q: %w", a, err)
		}
		out = append(out, Head{Author: []byte(id), Seq: s})
	}
	slices.SortFunc(out, func(a, b Head) int { return bytes.Compare(a.Author, b.Author) })
	return out, nil
}

// Range returns up to limit (at most maxRange) stored entries of author's chain from Seq from
// on, in Seq order.
func (l *Ledger) Range(author []byte, from uint64, limit int) ([][]byte, error) {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return nil, errLedgerClosed
	}
	if from == 0 {
		from = 1
	}
	limit = cmp.Or(min(limit, maxRange), maxRange)
	if limit < 0 {
		return nil, errors.New("ledger: negative range limit")
	}
	var out [][]byte
	err := l.db.View(func(tx *bolt.Tx) error {
		entries := tx.Bucket(bucketEntries)
		c := tx.Bucket(bucketChains).Cursor()
		want := from
		for k, id := c.Seek(chainKey(author, from)); k != nil && len(out) < limit; k, id = c.Next() {
			if len(k) != len(author)+8 || !bytes.HasPrefix(k, author) || seqOf(k) != want {
				break
			}
			b := entries.Get(id)
			if b == nil {
				return errors.New("ledger: chain names a missing entry")
			}
			out = append(out, bytes.Clone(b))
			want++
		}
		return nil
	})
	return out, err
}

func seqOf(chainKey []byte) uint64 { return binary.BigEndian.Uint64(chainKey[len(chainKey)-8:]) }
