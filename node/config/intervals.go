package config

import (
	"fmt"
	"time"
)

// Intervals are the periods of a node's background chores. The defaults suit a long-lived
// network; Fast shortens them to seconds for tests and demos (devnet --fast).
type Intervals struct {
	// OrphanLease is how long a shard that no published manifest references is kept before it is
	// collected: an upload that died with its uploader leaves such shards.
	OrphanLease Duration `toml:"orphan_lease"`
	// Reprovide is how often stewards re-announce the manifests they keep; kad-dht provider
	// records expire after 48 h, so this must stay well below that.
	Reprovide Duration `toml:"reprovide"`
	// PeerSave is how often the peers this node knows are written to the repo (peers.json),
	// from which it rejoins after a restart even if its bootstrap peers are gone.
	PeerSave Duration `toml:"peer_save"`
	// DeleteRetry is how often stewards retry deletes that a holder has not confirmed yet.
	DeleteRetry Duration `toml:"delete_retry"`
	// Reconnect is how often a node whose routing table is empty tries its known peers again.
	Reconnect Duration `toml:"reconnect"`
	// Audit is how often a steward audits the holders of the files it stewards: each round
	// checks one random shard of every (file, holder) pair, and tells live holders from dead.
	Audit Duration `toml:"audit"`
	// Repair is how often a steward checks its files' health and rebuilds lost shards.
	Repair Duration `toml:"repair"`
}

// fields names every interval, for validation and tests.
func (iv *Intervals) fields() []struct {
	name string
	d    *Duration
} {
	return []struct {
		name string
		d    *Duration
	}{
		{"orphan_lease", &iv.OrphanLease},
		{"reprovide", &iv.Reprovide},
		{"peer_save", &iv.PeerSave},
		{"delete_retry", &iv.DeleteRetry},
		{"reconnect", &iv.Reconnect},
		{"audit", &iv.Audit},
		{"repair", &iv.Repair},
	}
}

func (iv Intervals) validate() error {
	for _, f := range iv.fields() {
		if *f.d <= 0 {
			return fmt.Errorf("intervals.%s %s: must be positive", f.name, time.Duration(*f.d))
		}
	}
	return nil
}

// FastIntervals are the intervals Fast sets: seconds, so a test sees every chore run.
func FastIntervals() Intervals {
	return Intervals{
		OrphanLease: Duration(10 * time.Second),
		Reprovide:   Duration(20 * time.Second),
		PeerSave:    Duration(2 * time.Second),
		DeleteRetry: Duration(2 * time.Second),
		Reconnect:   Duration(2 * time.Second),
		Audit:       Duration(2 * time.Second),
		Repair:      Duration(3 * time.Second),
	}
}

// Fast shortens every periodic interval of cfg to seconds, for tests and demos, and the
// ledger's epochs with them (its switch and prices are kept).
func Fast(cfg *Config) {
	cfg.Intervals = FastIntervals()
	cfg.Ledger.EpochLength, cfg.Ledger.StatementDelay, cfg.Ledger.Sync = fastLedgerTimes()
}

// Unfast undoes Fast: default intervals and ledger timing.
func Unfast(cfg *Config) {
	cfg.Intervals = Default().Intervals
	l := DefaultLedger()
	cfg.Ledger.EpochLength, cfg.Ledger.StatementDelay, cfg.Ledger.Sync = l.EpochLength, l.StatementDelay, l.Sync
}

func fastLedgerTimes() (epoch, delay, sync Duration) {
	l := FastLedger()
	return l.EpochLength, l.StatementDelay, l.Sync
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
