package node

import (
	"github.com/cairn-storage/cairn/payments"
)

// outboxSize bounds the entries this node signed or proved and has not yet handed to gossip.
// A full outbox drops the newest: anti-entropy carries what gossip missed.
const outboxSize = 4096

// AppendOwn signs bodies, all of one kind, as the next entries of this node's chain, stores
// them in one transaction and queues them for gossip. It returns their canonical bytes. A body
// the validator refuses stops the batch there: the entries before it are kept and returned
// with the refusal.
func (l *Ledger) AppendOwn(kind payments.Kind, bodies ...any) ([][]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errLedgerClosed
	}
	var batch []accepted
	var bad error
	for _, body := range bodies {
		if _, bad = l.appendOwn(kind, body, &batch); bad != nil {
			break // the ones before it were accepted: store them, so disk matches the validator
		}
	}
	if err := l.store(batch); err != nil {
		return nil, err
	}
	out := make([][]byte, len(batch))
	for i, a := range batch {
		out[i] = a.b
	}
	return out, bad
}

// Outbox yields the entries this node signed (its own chain, fork proofs included), in the
// order they were stored, for the gossip layer to publish.
func (l *Ledger) Outbox() <-chan []byte { return l.outbox }

// queueOut hands entries to the outbox without blocking; l.mu is held.
func (l *Ledger) queueOut(bs ...[]byte) {
	for _, b := range bs {
		select {
		case l.outbox <- b:
		default:
			l.outboxDropped++
		}
	}
}
