package config

import "fmt"

// Maintenance configures what a node does for the network without being asked: auditing the
// holders of the files it stewards, repairing lost shards, and whom it gives new data.
type Maintenance struct {
	// Audits turns this node's audits of holders on (they also feed its reputation book).
	Audits bool `toml:"audits"`
	// Repair turns this node's repairs as a steward on.
	Repair bool `toml:"repair"`
	// RepairThreshold: a segment is repaired when it has fewer healthy shards than this;
	// 0 means k + ceil((n-k)/2), e.g. 6 for 4-of-8.
	RepairThreshold int `toml:"repair_threshold"`
	// AuditRanges is how many random 16 KiB ranges one audit of a shard checks (1..8).
	AuditRanges int `toml:"audit_ranges"`
	// UnvettedSharePercent of placements goes to nodes not yet vetted, so newcomers can earn
	// trust; 0 gives them nothing while vetted nodes suffice.
	UnvettedSharePercent int `toml:"unvetted_share_percent"`
}

func (m Maintenance) validate() error {
	switch {
	case m.RepairThreshold < 0 || m.RepairThreshold > 255:
		return fmt.Errorf("maintenance.repair_threshold %d: want 0 (default) or k < t <= n", m.RepairThreshold)
	case m.AuditRanges < 1 || m.AuditRanges > 8:
		return fmt.Errorf("maintenance.audit_ranges %d: want 1..8", m.AuditRanges)
	case m.UnvettedSharePercent < 0 || m.UnvettedSharePercent > 100:
		return fmt.Errorf("maintenance.unvetted_share_percent %d: want 0..100", m.UnvettedSharePercent)
	}
	return nil
}
