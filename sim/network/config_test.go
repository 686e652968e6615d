package network

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/cairn-storage/cairn/sim"
)

func TestDefaultConfigIsTheNodes(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.K != 4 || c.N != 8 || c.SegmentSize != 16<<20 || c.Stewards != 5 || c.AuditInterval != sim.Hour ||
		c.AuditRanges != 2 || c.RepairInterval != 10*sim.Minute || c.MaxRepairSegments != 16 {
		t.Fatalf("defaults are not the node's: %+v", c)
	}
	if c.candidates() != 128 || c.threshold() != 6 {
		t.Fatalf("candidates %d threshold %d, want 128 and 6", c.candidates(), c.threshold())
	}
	p, err := c.params()
	if err != nil || p.Probation != 30*24*3600 || p.VetAudits != 100 {
		t.Fatalf("params %+v, %v", p, err)
	}
	c.Probation, c.VetAudits = 2*sim.Day, 7
	if p, _ = c.params(); p.Probation != 2*24*3600 || p.VetAudits != 7 {
		t.Fatalf("overrides not applied: %+v", p)
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	cases := []struct {
		key string
		mod func(*Config)
	}{
		{"n:", func(c *Config) { c.N = 0 }},
		{"k:", func(c *Config) { c.K = 9 }},
		{"segment_size:", func(c *Config) { c.SegmentSize = 10 }},
		{"stewards:", func(c *Config) { c.Stewards = 0 }},
		{"candidates:", func(c *Config) { c.Candidates = 3 }},
		{"unvetted_share:", func(c *Config) { c.UnvettedShare = 2 }},
		{"audit_interval:", func(c *Config) { c.AuditInterval = 0 }},
		{"audit_ranges:", func(c *Config) { c.AuditRanges = 0 }},
		{"repair_interval:", func(c *Config) { c.RepairInterval = 0 }},
		{"repair_threshold:", func(c *Config) { c.RepairThreshold = 4 }},
		{"max_repair_segments:", func(c *Config) { c.MaxRepairSegments = -1 }},
		{"probation:", func(c *Config) { c.Probation = -1 }},
		{"vet_audits:", func(c *Config) { c.VetAudits = -1 }},
		{"initial_vetted:", func(c *Config) { c.InitialVetted = 1.5 }},
		{"sample_every:", func(c *Config) { c.SampleEvery = 0 }},
		{"nodes_per_subnet:", func(c *Config) { c.NodesPerSubnet = 0 }},
		{"capacity.kind:", func(c *Config) { c.Capacity.Kind = "normal" }},
		{"capacity.median:", func(c *Config) { c.Capacity.Median = 0 }},
		{"capacity.bytes:", func(c *Config) { c.Capacity = Capacity{Kind: CapacityFixed} }},
		{"capacity.min/max:", func(c *Config) { c.Capacity = Capacity{Kind: CapacityUniform, Min: 5, Max: 1} }},
		{"behaviours.onset:", func(c *Config) { c.Behaviours.Onset = -1 }},
		{"behaviours.data_dropping:", func(c *Config) { c.Behaviours.DataDropping = -0.1 }},
		{"behaviours.audit_cheating:", func(c *Config) { c.Behaviours.AuditCheating, c.Behaviours.DataDropping = 0.6, 0.6 }},
		{"behaviours.keep_fraction:", func(c *Config) { c.Behaviours.KeepFraction = 1.1 }},
		{"behaviours.sybil.groups:", func(c *Config) { c.Behaviours.Sybil.Groups = -1 }},
		{"behaviours.sybil.size:", func(c *Config) { c.Behaviours.Sybil.Groups = 2 }},
		{"behaviours.sybil.attack_at:", func(c *Config) { c.Behaviours.Sybil.AttackAt = -1 }},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.mod(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.key) {
			t.Errorf("%s: got %v", tc.key, err)
		}
	}
}

func TestConfigTOMLRoundTrip(t *testing.T) {
	src := `
k = 3
n = 6
audit_interval = "6h"
repair_interval = "1h"
[capacity]
kind = "fixed"
bytes = 1099511627776
[behaviours]
onset = "1d"
data_dropping = 0.01
[behaviours.sybil]
groups = 2
size = 10
attack_at = "2d"
`
	c := DefaultConfig()
	dec := toml.NewDecoder(strings.NewReader(src))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.K != 3 || c.AuditInterval != 6*sim.Hour || c.Behaviours.Sybil.AttackAt != 2*sim.Day || c.Capacity.Bytes != 1<<40 || c.Stewards != 5 {
		t.Fatalf("decoded %+v", c)
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := toml.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	back.Params = c.Params
	if back != c {
		t.Fatalf("round trip changed the config:\n%+v\n%+v", c, back)
	}
}

func TestNewRejectsTooFewSubnets(t *testing.T) {
	c := DefaultConfig()
	if _, err := New(sim.New(), c, 20, sim.NewStreams(1)); err == nil || !strings.HasPrefix(err.Error(), "nodes:") {
		t.Fatalf("20 nodes in 7 /24s for n = 8: %v", err)
	}
	c.Behaviours.Sybil = SybilGroups{Groups: 3, Size: 10}
	if _, err := New(sim.New(), c, 20, sim.NewStreams(1)); err == nil || !strings.HasPrefix(err.Error(), "behaviours.sybil") {
		t.Fatalf("30 Sybils among 20 nodes: %v", err)
	}
}
