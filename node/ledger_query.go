package node

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/payments"
	"github.com/libp2p/go-libp2p/core/peer"
	bolt "go.etcd.io/bbolt"
)

// kindNames are the entry kinds as LedgerSummary.Kinds names them.
var kindNames = map[payments.Kind]string{
	payments.KindDownload:  "download",
	payments.KindStorage:   "storage",
	payments.KindPrice:     "price",
	payments.KindPartner:   "partner",
	payments.KindStatement: "statement",
	payments.KindForkProof: "fork_proof",
}

// Show summarizes the ledger.
func (l *Ledger) Show() (*api.LedgerSummary, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errLedgerClosed
	}
	s := &api.LedgerSummary{Kinds: make(map[string]int), Self: l.self.String(), Excluded: []string{},
		Authors: len(l.v.Frontier()), ForkProofs: len(l.v.ForkProofs()),
		EpochLength: l.params.Epoch.Length, Genesis: l.params.Epoch.Genesis}
	for k, n := range l.kinds {
		s.Kinds[kindNames[k]] = n
		s.Entries += n
	}
	if l.last != nil {
		_, id := payments.Next(l.last)
		s.Frontier = api.OwnFrontier{Seq: l.last.Seq, ID: hex.EncodeToString(id)}
	}
	for a := range l.v.ExcludedAuthors() {
		s.Excluded = append(s.Excluded, peer.ID(a).String())
	}
	slices.Sort(s.Excluded)
	s.Epoch, _ = l.params.Epoch.Of(l.now().Unix())
	return s, nil
}

// Partners lists the registered partner IDs, sorted, under the settlement's rules: an ID
// belongs to its earliest registration's author, whose latest registration gives the terms.
// Forked authors' registrations do not count.
func (l *Ledger) Partners() ([]api.PartnerInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errLedgerClosed
	}
	return l.partnersLocked()
}

func (l *Ledger) partnersLocked() ([]api.PartnerInfo, error) {
	type claim struct {
		e *payments.Entry
		p *payments.Partner
	}
	owner := make(map[string]claim) // partner ID → earliest claim
	var all []claim
	excluded := l.v.ExcludedAuthors()
	err := l.forEachEntry(func(e *payments.Entry) error {
		if e.Kind != payments.KindPartner || excluded[string(e.Author)] {
			return nil
		}
		p, err := payments.DecodePartner(e)
		if err != nil {
			return err
		}
		c := claim{e, p}
		all = append(all, c)
		if o, ok := owner[p.ID]; !ok || earlierRegistration(e, o.e) {
			owner[p.ID] = c
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	terms := make(map[string]claim) // partner ID → owner's registration with the largest Seq
	for _, c := range all {
		o := owner[c.p.ID]
		if !bytes.Equal(c.e.Author, o.e.Author) {
			continue
		}
		if t, ok := terms[c.p.ID]; !ok || c.e.Seq > t.e.Seq {
			terms[c.p.ID] = c
		}
	}
	out := make([]api.PartnerInfo, 0, len(terms))
	for id, t := range terms {
		out = append(out, api.PartnerInfo{ID: id, Name: t.p.Name, Owner: peer.ID(t.e.Author).String(),
			Payout: peer.ID(t.p.Payout).String(), ShareBPS: t.p.ShareBPS, Time: t.e.Time,
			Mine: peer.ID(t.e.Author) == l.self})
	}
	slices.SortFunc(out, func(a, b api.PartnerInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// earlierRegistration orders claims on one partner ID as payments.Settle does: the smallest
// (Time, Author bytes, Seq, body bytes) wins.
func earlierRegistration(a, b *payments.Entry) bool {
	if a.Time != b.Time {
		return a.Time < b.Time
	}
	if c := bytes.Compare(a.Author, b.Author); c != 0 {
		return c < 0
	}
	if a.Seq != b.Seq {
		return a.Seq < b.Seq
	}
	return bytes.Compare(a.Body, b.Body) < 0
}

// forEachEntry decodes every stored entry in (author, seq) order. Entries are copied out of
// the transaction, so fn may keep them.
func (l *Ledger) forEachEntry(fn func(*payments.Entry) error) error {
	return l.db.View(func(tx *bolt.Tx) error {
		entries := tx.Bucket(bucketEntries)
		return tx.Bucket(bucketChains).ForEach(func(k, id []byte) error {
			b := entries.Get(id)
			if b == nil {
				return fmt.Errorf("ledger: chain key %x names missing entry %x", k, id)
			}
			e, err := payments.Decode(bytes.Clone(b))
			if err != nil {
				return fmt.Errorf("ledger: stored entry %x: %w", id, err)
			}
			return fn(e)
		})
	})
}

// Settle settles epoch from every stored entry, excluding forked authors; nil settles the
// last closed epoch. Epochs not yet closed are refused: their statement could still change.
func (l *Ledger) Settle(epoch *uint64) (*payments.Settlement, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errLedgerClosed
	}
	cur, ok := l.params.Epoch.Of(l.now().Unix())
	if !ok {
		return nil, fmt.Errorf("ledger: the clock is before the epoch genesis %d", l.params.Epoch.Genesis)
	}
	var e uint64
	switch {
	case epoch != nil && *epoch >= cur:
		return nil, coded(api.CodeBadRequest, "epoch %d has not closed yet (the current epoch is %d)", *epoch, cur)
	case epoch != nil:
		e = *epoch
	case cur == 0:
		return nil, coded(api.CodeBadRequest, "no epoch has closed yet")
	default:
		e = cur - 1
	}
	var entries []payments.Entry
	if err := l.forEachEntry(func(x *payments.Entry) error {
		entries = append(entries, *x)
		return nil
	}); err != nil {
		return nil, err
	}
	p := l.params
	p.Excluded = l.v.ExcludedAuthors()
	return payments.Settle(e, entries, p)
}
