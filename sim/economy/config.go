package economy

import (
	"fmt"

	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/payments"
	"github.com/cairn-storage/cairn/sim"
)

// DefaultGenesis is the unix time of sim time 0: 2026-01-01 00:00:00 UTC. It is fixed so that
// runs are repeatable, and far from 0 because the ledger refuses storage spans starting at or
// before 1970 (payments.Storage.From must be positive).
const DefaultGenesis int64 = 1_767_225_600

// Defaults, as node/config.DefaultLedger: daily epochs, no fee, and the default operator prices
// modelled on Storj's (micro-units, 1,000,000 = one dollar per TB): 4,000 per GiB-month stored
// and 7,000 per GiB served.
const (
	DefaultEpoch        = 24 * sim.Hour
	DefaultStoragePrice = 4_000
	DefaultEgressPrice  = 7_000
)

// MaxPartners bounds the partner list: each one adds a registration to every epoch's input.
const MaxPartners = 10_000

// Config is the network's settlement rules in a run, as written in a scenario's [economy]
// table. Decode it over DefaultConfig (omitted keys keep their defaults, an explicit 0 price is
// free service), then Fill, then Validate.
type Config struct {
	// Epoch is the settlement period: whole seconds, at most payments.MaxStorageSpan (a
	// steward's attestation spans one epoch at most).
	Epoch sim.Duration `toml:"epoch"`
	// Genesis is the unix time (seconds) of sim time 0 and of epoch 0's start.
	Genesis int64 `toml:"genesis"`
	// FeeBPS is the network fee in basis points of every charge (0..10000).
	FeeBPS uint32 `toml:"fee_bps"`
	// StoragePrice (per GiB-month) and EgressPrice (per GiB) in micro-units are every
	// operator's prices: no operator announces its own, so Settle applies these defaults.
	StoragePrice int64 `toml:"storage_price"`
	EgressPrice  int64 `toml:"egress_price"`
	// Partners are registered before time 0, each by its own synthetic key, which also
	// receives its share.
	Partners []Partner `toml:"partners"`
}

// Partner is one open source partner's registration: its tag and its share of the charges
// tagged with it, in basis points (Settle caps it at 10000 - FeeBPS).
type Partner struct {
	ID       string `toml:"id"`
	ShareBPS uint32 `toml:"share_bps"`
}

// DefaultConfig is the node's default ledger rules, without partners.
func DefaultConfig() Config {
	return Config{Epoch: DefaultEpoch, Genesis: DefaultGenesis, StoragePrice: DefaultStoragePrice, EgressPrice: DefaultEgressPrice}
}

// Fill sets the defaults of fields left zero where zero means nothing: the epoch and genesis.
// Prices and fee are left alone (0 is a valid price); decode over DefaultConfig for theirs.
func (c *Config) Fill() {
	if c.Epoch == 0 {
		c.Epoch = DefaultEpoch
	}
	if c.Genesis == 0 {
		c.Genesis = DefaultGenesis
	}
}

// Validate says what is wrong with c, naming the key.
func (c Config) Validate() error {
	switch {
	case c.Epoch < sim.Second || c.Epoch%sim.Second != 0:
		return fmt.Errorf("economy.epoch: %v, want whole seconds, at least 1s", c.Epoch)
	case c.Epoch > payments.MaxStorageSpan*sim.Second:
		return fmt.Errorf("economy.epoch: %v, at most %v (the longest storage attestation)", c.Epoch, payments.MaxStorageSpan*sim.Second)
	case c.Genesis < 1 || c.Genesis > maxGenesis:
		return fmt.Errorf("economy.genesis: %d, want 1..%d unix seconds", c.Genesis, int64(maxGenesis))
	case c.FeeBPS > 10000:
		return fmt.Errorf("economy.fee_bps: %d, want 0..10000", c.FeeBPS)
	case c.StoragePrice < 0 || c.StoragePrice > int64(payments.MaxPrice):
		return fmt.Errorf("economy.storage_price: %d, want 0..%d micro-units", c.StoragePrice, int64(payments.MaxPrice))
	case c.EgressPrice < 0 || c.EgressPrice > int64(payments.MaxPrice):
		return fmt.Errorf("economy.egress_price: %d, want 0..%d micro-units", c.EgressPrice, int64(payments.MaxPrice))
	case len(c.Partners) > MaxPartners:
		return fmt.Errorf("economy.partners: %d partners, at most %d", len(c.Partners), MaxPartners)
	}
	seen := make(map[string]bool, len(c.Partners))
	for i, p := range c.Partners {
		switch err := manifest.CheckPartner(p.ID); {
		case p.ID == "":
			return fmt.Errorf("economy.partners[%d].id: empty", i)
		case err != nil:
			return fmt.Errorf("economy.partners[%d].id: %w", i, err)
		case seen[p.ID]:
			return fmt.Errorf("economy.partners[%d].id: %q listed twice", i, p.ID)
		case p.ShareBPS > 10000:
			return fmt.Errorf("economy.partners[%d].share_bps: %d, want 0..10000", i, p.ShareBPS)
		}
		seen[p.ID] = true
	}
	return nil
}

// maxGenesis keeps every epoch of a run inside int64 unix seconds: sim time spans at most
// 292 years.
const maxGenesis = 1 << 62

// settleParams are the network's settlement parameters under c.
func (c Config) settleParams() payments.SettleParams {
	return payments.SettleParams{
		Epoch:        payments.EpochParams{Genesis: c.Genesis, Length: int64(c.Epoch / sim.Second)},
		FeeBPS:       c.FeeBPS,
		DefaultPrice: payments.Price{StorageGiBMonth: payments.Amount(c.StoragePrice), EgressGiB: payments.Amount(c.EgressPrice)},
	}
}
