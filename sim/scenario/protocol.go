package scenario

import (
	"errors"
	"fmt"
	"slices"

	"github.com/pelletier/go-toml/v2"

	"github.com/cairn-storage/cairn/sim/economy"
	"github.com/cairn-storage/cairn/sim/network"
	"github.com/cairn-storage/cairn/sim/workload"
)

// The protocol study plays Cairn's storage protocol: uploads placed by reputation, stewards'
// audits and repairs, node behaviours, downloads, and the ledger's settlement, each through the
// node's own cores (sim/network, sim/workload, sim/economy). Three sections drive it:
//
//	[protocol]   network.Config: placement, audits, repair, reputation, capacities, behaviours
//	[workload]   workload.Config: uploads and downloads per hour, file sizes, partner tags
//	[economy]    economy.Config: epoch, prices, fee, registered partners
//
// Each decodes over its package's DefaultConfig, so a key left out keeps the node's default.
// [workload] and [economy] need [protocol]; a [protocol] alone runs the default workload and
// economy.

// presetSections gives each protocol-study section present in the file its defaults, so the
// decoder fills only the keys the file sets.
func (s *Scenario) presetSections(b []byte) error {
	var top map[string]any
	if err := toml.Unmarshal(b, &top); err != nil {
		return err
	}
	if _, ok := top["protocol"]; ok {
		c := network.DefaultConfig()
		s.Protocol = &c
	}
	if _, ok := top["workload"]; ok {
		c := workload.DefaultConfig()
		s.Workload = &c
	}
	if _, ok := top["economy"]; ok {
		c := economy.DefaultConfig()
		s.Economy = &c
	}
	return nil
}

// fillProtocol gives a [protocol] without [workload] or [economy] their defaults.
func (s *Scenario) fillProtocol() {
	if s.Protocol == nil {
		return
	}
	if s.Workload == nil {
		c := workload.DefaultConfig()
		s.Workload = &c
	}
	if s.Economy == nil {
		c := economy.DefaultConfig()
		s.Economy = &c
	}
	s.Workload.Fill()
	s.Economy.Fill()
}

// validateProtocol checks the protocol study's sections and that they agree with each other.
func (s Scenario) validateProtocol() error {
	if s.Protocol == nil {
		if s.Workload != nil || s.Economy != nil {
			return errors.New("[workload] and [economy] drive the protocol study: add a [protocol] section")
		}
		return nil
	}
	if err := s.Protocol.Validate(); err != nil {
		return fmt.Errorf("protocol.%w", err)
	}
	if err := s.Workload.Validate(); err != nil {
		return err // workload's errors name "workload.<key>"
	}
	if err := s.Economy.Validate(); err != nil {
		return err
	}
	p := s.Protocol
	if sy := p.Behaviours.Sybil.Groups * p.Behaviours.Sybil.Size; sy >= s.Nodes {
		return fmt.Errorf("protocol.behaviours.sybil: %d identities, want fewer than the %d nodes", sy, s.Nodes)
	}
	if s.Economy.Genesis != p.Genesis {
		return fmt.Errorf("economy.genesis: %d, want protocol.genesis (%d): both map virtual time 0 to unix seconds", s.Economy.Genesis, p.Genesis)
	}
	if s.Economy.Epoch > s.Duration && s.Duration > 0 {
		// Legal, but nothing would be settled: say so rather than print an empty economy.
		return fmt.Errorf("economy.epoch: %v is longer than the run (%v): no epoch would close", s.Economy.Epoch, s.Duration)
	}
	for i, m := range s.Workload.Partners {
		if m.Weight > 0 && !slices.ContainsFunc(s.Economy.Partners, func(pt economy.Partner) bool { return pt.ID == m.ID }) {
			return fmt.Errorf("workload.partners[%d]: %q tags uploads but is not registered in [economy] partners, so it would earn nothing", i, m.ID)
		}
	}
	if s.ProtocolSamples() > MaxSamples {
		return fmt.Errorf("protocol.sample_every: %v over %v makes %d samples, at most %d",
			p.SampleEvery, s.Duration, s.ProtocolSamples(), MaxSamples)
	}
	return nil
}

// ProtocolSamples is the number of protocol-study samples; 0 without [protocol].
func (s Scenario) ProtocolSamples() int64 {
	if s.Protocol == nil {
		return 0
	}
	return samples(s.Duration, s.Protocol.SampleEvery)
}

// Epochs is the number of ledger epochs that close within the run; 0 without [protocol].
func (s Scenario) Epochs() int64 {
	if s.Protocol == nil || s.Economy.Epoch <= 0 {
		return 0
	}
	return int64(s.Duration / s.Economy.Epoch)
}

// copyProtocol gives s its own copies of the protocol sections (Apply must not share them).
func (s *Scenario) copyProtocol() {
	if s.Protocol != nil {
		p := *s.Protocol
		s.Protocol = &p
	}
	if s.Workload != nil {
		w := *s.Workload
		w.Partners = slices.Clone(w.Partners)
		s.Workload = &w
	}
	if s.Economy != nil {
		e := *s.Economy
		e.Partners = slices.Clone(e.Partners)
		s.Economy = &e
	}
}
