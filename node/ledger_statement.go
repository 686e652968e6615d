package node

import (
	"bytes"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/payments"
	"github.com/libp2p/go-libp2p/core/peer"
)

// settleParams turns the config's ledger section into the network's settlement rules.
func settleParams(c config.Ledger) payments.SettleParams {
	return payments.SettleParams{
		Epoch:        payments.EpochParams{Genesis: c.Genesis, Length: int64(c.EpochLength.D() / time.Second)},
		FeeBPS:       c.FeeBPS,
		DefaultPrice: payments.Price{StorageGiBMonth: payments.Amount(c.StoragePrice), EgressGiB: payments.Amount(c.EgressPrice)},
	}
}

// Configure sets the settlement rules (all nodes of a network must share them).
func (l *Ledger) Configure(p payments.SettleParams) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.params = p
}

// epochParams returns the epoch grid.
func (l *Ledger) epochParams() payments.EpochParams {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.params.Epoch
}

// statementDue returns the newest epoch whose statement this node should sign at now: one
// that ended at least delay ago and is after its last statement. Older unsigned epochs are
// skipped: a statement is a check between nodes, not a record every epoch needs.
func (l *Ledger) statementDue(now time.Time, delay time.Duration) (uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.params.Epoch.Of(now.Add(-delay).Unix())
	if !ok || cur == 0 {
		return 0, false
	}
	e := cur - 1
	if l.lastStatement != nil && *l.lastStatement >= e {
		return 0, false
	}
	return e, true
}

// SignStatement settles epoch and signs its root as this node's Statement, for gossip.
func (l *Ledger) SignStatement(epoch uint64) (*payments.Settlement, error) {
	st, err := l.Settle(&epoch)
	if err != nil {
		return nil, err
	}
	body := &payments.Statement{Epoch: epoch, Root: st.Root[:], Count: st.Entries}
	if _, err := l.AppendOwn(payments.KindStatement, body); err != nil {
		return nil, err
	}
	return st, nil
}

// statements returns, per other author, the root of its latest Statement of epoch (forked
// authors left out).
func (l *Ledger) statements(epoch uint64) ([]api.StatementView, error) {
	l.mu.Lock()
	excluded := l.v.ExcludedAuthors()
	l.mu.Unlock()
	latest := map[string]*payments.Entry{}
	roots := map[string]*payments.Statement{}
	err := l.forEachEntry(func(e *payments.Entry) error {
		if e.Kind != payments.KindStatement || peer.ID(e.Author) == l.self || excluded[string(e.Author)] {
			return nil
		}
		st, err := payments.DecodeStatement(e)
		if err != nil || st.Epoch != epoch {
			return nil
		}
		if old := latest[string(e.Author)]; old == nil || e.Seq > old.Seq {
			latest[string(e.Author)], roots[string(e.Author)] = e, st
		}
		return nil
	})
	out := make([]api.StatementView, 0, len(roots))
	for a, st := range roots {
		out = append(out, api.StatementView{Author: peer.ID(a).String(), Root: hex.EncodeToString(st.Root),
			Entries: st.Count, Time: latest[a].Time})
	}
	return out, err
}

// verifyLocal settles epoch and compares the root with every other node's statement of it.
// Nil means the last closed epoch.
func (l *Ledger) verifyLocal(epoch *uint64) (*api.VerifyResult, error) {
	st, err := l.Settle(epoch)
	if err != nil {
		return nil, err
	}
	views, err := l.statements(st.Epoch)
	if err != nil {
		return nil, err
	}
	res := &api.VerifyResult{Epoch: st.Epoch, Root: hex.EncodeToString(st.Root[:]), Entries: st.Entries,
		Statements: views, Agree: true, Differences: []api.EntryDifference{}}
	for i := range res.Statements {
		v := &res.Statements[i]
		r, _ := hex.DecodeString(v.Root)
		v.Agrees = bytes.Equal(r, st.Root[:])
		if v.Agrees {
			res.Agreeing++
		} else {
			res.Agree = false
		}
	}
	sortStatements(res.Statements)
	return res, nil
}

// sortStatements puts disagreeing statements first, then by author.
func sortStatements(v []api.StatementView) {
	slices.SortFunc(v, func(a, b api.StatementView) int {
		if a.Agrees != b.Agrees {
			if !a.Agrees {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Author, b.Author)
	})
}
