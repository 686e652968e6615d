package config

import (
	"fmt"
	"time"
)

// Ledger configures the signed gossip ledger: usage receipts, storage attestations, epoch
// statements and admission by unpaid charges. EpochLength, Genesis, FeeBPS and the default
// prices are the network's settlement rules: every node of one network must use the same
// values, or their statement roots differ (cairn ledger verify shows it).
type Ledger struct {
	// Enabled gossips entries, writes download receipts, storage attestations and statements.
	// Off, the node still keeps, imports and settles the entries it has.
	Enabled bool `toml:"enabled"`
	// EpochLength is the settlement period; epochs start at Genesis (unix seconds).
	EpochLength Duration `toml:"epoch_length"`
	Genesis     int64    `toml:"genesis"`
	// StatementDelay is how long after an epoch ends this node signs its statement root:
	// time for the epoch's storage attestations and late receipts to spread.
	StatementDelay Duration `toml:"statement_delay"`
	// Sync is how often this node runs anti-entropy with a random peer.
	Sync Duration `toml:"sync"`
	// FeeBPS is the network fee, in basis points of every charge.
	FeeBPS uint32 `toml:"fee_bps"`
	// StoragePrice (per GiB-month) and EgressPrice (per GiB), in micro-units, apply to
	// operators that announced no prices of their own.
	StoragePrice int64 `toml:"storage_price"`
	EgressPrice  int64 `toml:"egress_price"`
	// MaxUnsettled refuses new shards from an uploader whose charges in the last closed epoch
	// and the current one exceed it, in micro-units; 0 admits everyone.
	MaxUnsettled int64 `toml:"max_unsettled"`
}

// DefaultLedger is the ledger section of a fresh repo: daily epochs from the unix epoch, a
// statement an hour after each, prices in micro-units modelled on Storj's (4 per GiB-month,
// 7 per GiB of egress, in units where 1,000,000 is one dollar per TB).
func DefaultLedger() Ledger {
	return Ledger{
		Enabled:        true,
		EpochLength:    Duration(24 * time.Hour),
		StatementDelay: Duration(time.Hour),
		Sync:           Duration(time.Minute),
		StoragePrice:   4_000,
		EgressPrice:    7_000,
	}
}

// FastLedger is what Fast sets: 15-second epochs, statements 5 s after, anti-entropy every 2 s.
func FastLedger() Ledger {
	l := DefaultLedger()
	l.EpochLength = Duration(15 * time.Second)
	l.StatementDelay = Duration(5 * time.Second)
	l.Sync = Duration(2 * time.Second)
	return l
}

func (l Ledger) validate() error {
	switch {
	case l.EpochLength < Duration(time.Second) || l.EpochLength%Duration(time.Second) != 0:
		return fmt.Errorf("ledger.epoch_length %s: want whole seconds, at least 1s", l.EpochLength.D())
	case l.StatementDelay < 0 || l.StatementDelay >= l.EpochLength:
		return fmt.Errorf("ledger.statement_delay %s: want 0 <= delay < epoch_length", l.StatementDelay.D())
	case l.Sync <= 0:
		return fmt.Errorf("ledger.sync %s: must be positive", l.Sync.D())
	case l.FeeBPS > 10000:
		return fmt.Errorf("ledger.fee_bps %d: want 0..10000", l.FeeBPS)
	case l.Genesis < 0:
		return fmt.Errorf("ledger.genesis %d: must not be negative", l.Genesis)
	case l.StoragePrice < 0 || l.EgressPrice < 0 || l.StoragePrice > maxPrice || l.EgressPrice > maxPrice:
		return fmt.Errorf("ledger prices %d, %d: want 0..%d micro-units", l.StoragePrice, l.EgressPrice, int64(maxPrice))
	case l.MaxUnsettled < 0:
		return fmt.Errorf("ledger.max_unsettled %d: must not be negative", l.MaxUnsettled)
	}
	return nil
}

// maxPrice mirrors payments.MaxPrice (config does not import the ledger core).
const maxPrice = 1_000_000_000_000
