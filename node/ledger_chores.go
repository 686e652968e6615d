package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/payments"
	"github.com/libp2p/go-libp2p/core/peer"
)

// startLedgerChores signs this node's statement of each epoch once it is due and, with an
// admission threshold set, keeps the uploaders' unsettled charges current.
func (n *Node) startLedgerChores() {
	cfg := n.repo.Config.Ledger
	epoch := cfg.EpochLength.D()
	n.runChore("ledger statement", min(epoch/4, time.Minute), func(context.Context) {
		e, ok := n.led.statementDue(time.Now(), cfg.StatementDelay.D())
		if !ok {
			return
		}
		st, err := n.led.SignStatement(e)
		if err != nil {
			n.log.Warn("sign ledger statement", "epoch", e, "err", err)
			return
		}
		n.log.Info("signed ledger statement", "epoch", e, "root", st.Root, "usage_entries", st.Entries)
	})
	if cfg.MaxUnsettled > 0 {
		n.refreshUnsettled()
		n.runChore("ledger admission", cfg.Sync.D(), func(context.Context) { n.refreshUnsettled() })
	}
}

// unsettledBook holds every uploader's charges in the last closed epoch and the current one,
// refreshed by a chore: admission reads it on every shard upload, so it must not settle then.
type unsettledBook struct {
	mu      sync.RWMutex
	charges map[string]payments.Amount // account (peer ID, base58) → micro-units
}

func (n *Node) refreshUnsettled() {
	c, err := n.led.unsettled(time.Now())
	if err != nil {
		n.log.Warn("ledger admission: settle", "err", err)
		return
	}
	n.unsettled.mu.Lock()
	n.unsettled.charges = c
	n.unsettled.mu.Unlock()
}

// admit refuses new shards from an uploader whose unsettled charges exceed the threshold.
func (n *Node) admit(uploader peer.ID) error {
	limit := payments.Amount(n.repo.Config.Ledger.MaxUnsettled)
	if limit <= 0 {
		return nil
	}
	n.unsettled.mu.RLock()
	owed := n.unsettled.charges[uploader.String()]
	n.unsettled.mu.RUnlock()
	if owed > limit {
		return fmt.Errorf("%d micro-units owed, limit %d", owed, limit)
	}
	return nil
}

// unsettled sums each uploader's charges over the last closed epoch and the current one.
func (l *Ledger) unsettled(now time.Time) (map[string]payments.Amount, error) {
	l.mu.Lock()
	p := l.params
	p.Excluded = l.v.ExcludedAuthors()
	l.mu.Unlock()
	cur, ok := p.Epoch.Of(now.Unix())
	if !ok {
		return nil, nil
	}
	var entries []payments.Entry
	if err := l.forEachEntry(func(x *payments.Entry) error {
		entries = append(entries, *x)
		return nil
	}); err != nil {
		return nil, err
	}
	out := map[string]payments.Amount{}
	for e := cur - min(cur, 1); e <= cur; e++ {
		st, err := payments.Settle(e, entries, p)
		if err != nil {
			return nil, err
		}
		for _, c := range st.Charges {
			out[c.Account] += c.Amount
		}
	}
	return out, nil
}
