package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/kad"
)

const minimal = `
seed = 3
nodes = 100
duration = "1d"
[kademlia]
`

func TestScenarioDefaults(t *testing.T) {
	s, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultKademlia()
	want.Maintenance = MaintenanceOff // no churn: nothing to maintain
	if *s.Kademlia != want {
		t.Fatalf("kademlia %+v, want defaults %+v", *s.Kademlia, want)
	}
	if s.Network == nil || *s.Network != DefaultNetwork() || s.Network.DialTimeout != 15*sim.Second || s.Network.RequestRTTs != 4 {
		t.Fatalf("network %+v, want defaults %+v", s.Network, DefaultNetwork())
	}
	if s.Kademlia.RefreshInterval != 10*sim.Minute {
		t.Fatalf("refresh interval %v, want go-libp2p-kad-dht's 10m", s.Kademlia.RefreshInterval)
	}
	if s.Kademlia.K != kad.DefaultK || s.Kademlia.Alpha != kad.DefaultAlpha || s.Kademlia.Beta != kad.DefaultBeta {
		t.Fatalf("defaults are not go-libp2p-kad-dht's: %+v", *s.Kademlia)
	}
	if s.Churn.Churns() || s.Samples() != 25 {
		t.Fatalf("churn %+v, samples %d (want none, 25)", s.Churn, s.Samples())
	}
}

func TestScenarioShipped(t *testing.T) {
	files, err := filepath.Glob("../scenarios/*.toml")
	if err != nil || len(files) < 3 {
		t.Fatalf("shipped scenarios: %v, %v", files, err)
	}
	for _, f := range files {
		s, err := Load(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if want := strings.TrimSuffix(filepath.Base(f), ".toml"); s.Name != want {
			t.Errorf("%s: name %q, want %q", f, s.Name, want)
		}
	}
	s, err := Load("../scenarios/lookup-churn.toml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Nodes != 10000 || s.Duration != 7*sim.Day || s.Churn.Session.Kind != "weibull" || s.Kademlia.SampleEvery != sim.Hour {
		t.Fatalf("lookup-churn read as %+v / %+v", s, *s.Kademlia)
	}
	if s, err = Load("../scenarios/durability-10k.toml"); err != nil {
		t.Fatal(err)
	}
	if st := s.Storage; s.Kademlia != nil || st == nil || st.Files != 2000 || st.SegmentsPerFile != 4 || st.K != 4 || st.N != 8 ||
		s.Duration != 30*sim.Day || s.Churn.DepartProb == 0 {
		t.Fatalf("durability-10k read as %+v", s)
	}
}

func TestScenarioErrors(t *testing.T) {
	for _, c := range []struct{ name, toml, want string }{
		{"unknown top key", minimal + "\n[kademlia2]\n", "unknown key(s): kademlia2"},
		{"unknown nested key", strings.Replace(minimal, "[kademlia]", "[kademlia]\nalhpa = 3", 1), "kademlia.alhpa"},
		{"no nodes", "seed = 1\nduration = \"1h\"\n[kademlia]\n", "nodes: 0"},
		{"too many nodes", "nodes = 100000000\n[kademlia]\n", "nodes: 100000000"},
		{"bad duration", strings.Replace(minimal, `"1d"`, `"soon"`, 1), "bad duration"},
		{"no section", "nodes = 10\n", "add a [kademlia], [storage] or [protocol] section"},
		{"mode", minimal + "mode = \"fast\"\n", `kademlia.mode: "fast"`},
		{"beta above k", minimal + "k = 4\nbeta = 5\n", "kademlia.beta: 5"},
		{"k too big", minimal + "k = 300\n", "kademlia.k: 300"},
		{"negative alpha", minimal + "alpha = -1\n", "kademlia.alpha: -1"},
		{"negative lookups", minimal + "lookups = -5\n", "kademlia.lookups: -5"},
		{"sample too often", minimal + "sample_every = \"1ms\"\n", "kademlia.sample_every: 1ms"},
		{"too many samples", strings.Replace(minimal, `"1d"`, `"100d"`, 1) + "sample_every = \"1s\"\n", "samples, at most"},
		{"churn", minimal + "[churn]\nsession = { kind = \"weibull\", mean = \"1h\" }\ndowntime = { kind = \"exponential\", mean = \"1h\" }\n", "churn.session: weibull needs a positive shape"},
		{"arrivals without maintenance", minimal + "maintenance = \"off\"\n[churn]\narrivals_per_hour = 2.0\n", "churn.arrivals_per_hour"},
		{"maintenance value", minimal + "maintenance = \"yes\"\n", `kademlia.maintenance: "yes"`},
		{"maintenance in exact mode", minimal + "mode = \"exact\"\nmaintenance = \"on\"\n", `kademlia.maintenance: "on" needs mode "lookup"`},
		{"refresh too often", minimal + "refresh_interval = \"1ms\"\n", "kademlia.refresh_interval: 1ms"},
		{"network unknown key", minimal + "[network]\nlatency = 3\n", "network.latency"},
		{"request rtts", minimal + "[network]\nrequest_rtts = -1\n", "network.request_rtts: -1"},
		{"dial timeout", minimal + "[network]\ndial_timeout = \"1h\"\n", "network.dial_timeout: 1h"},
		{"access median", minimal + "[network]\naccess_median = \"20s\"\n", "network.access_median: 20s"},
		{"access sigma", minimal + "[network]\naccess_sigma = -1.0\n", "network.access_sigma: -1"},
		{"stretch", minimal + "[network]\nstretch = 0.5\n", "network.stretch: 0.5"},
		{"up", minimal + "[network]\nup_mbps = -4.0\n", "network.up_mbps: -4"},
		{"down", minimal + "[network]\ndown_mbps = 2e7\n", "network.down_mbps: 2e+07"},
		{"bandwidth sigma", minimal + "[network]\nbandwidth_sigma = 9.0\n", "network.bandwidth_sigma: 9"},
		{"not toml", "nodes = = 3", ""},
	} {
		_, err := Parse([]byte(c.toml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); err == nil || !strings.Contains(err.Error(), "read scenario") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("nodes = 0\n[kademlia]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("error does not name the file: %v", err)
	}
}

// Maintenance defaults to on where there is something to maintain: churn in
// lookup mode; arrivals are then allowed. [network] keys override the model.
func TestScenarioMaintenanceAndNetwork(t *testing.T) {
	churned := minimal + "[churn]\nsession = { kind = \"exponential\", mean = \"8h\" }\ndowntime = { kind = \"exponential\", mean = \"2h\" }\n"
	s, err := Parse([]byte(churned))
	if err != nil || s.Kademlia.Maintenance != MaintenanceOn {
		t.Fatalf("churn: maintenance %q, %v", s.Kademlia.Maintenance, err)
	}
	if s, err = Parse([]byte(minimal + "[churn]\narrivals_per_hour = 3.0\n")); err != nil || s.Kademlia.Maintenance != MaintenanceOn {
		t.Fatalf("arrivals: maintenance %q, %v", s.Kademlia.Maintenance, err)
	}
	if s, err = Parse([]byte(strings.Replace(churned, "[kademlia]", "[kademlia]\nmode = \"exact\"", 1))); err != nil ||
		s.Kademlia.Maintenance != MaintenanceOff || s.Network != nil {
		t.Fatalf("exact mode: maintenance %q, network %v, %v", s.Kademlia.Maintenance, s.Network, err)
	}
	s, err = Parse([]byte(minimal + "[network]\ndial_timeout = \"5s\"\nup_mbps = 20.0\nstretch = 1.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	n := s.Network
	if n.DialTimeout != 5*sim.Second || n.UpMbps != 20 || n.Stretch != 1.5 || n.RequestRTTs != 4 || n.DownMbps != 100 {
		t.Fatalf("network %+v", *n)
	}
	if m := n.Model(); m.UpMedian != 20e6/8 || m.Stretch != 1.5 || m.Validate() != nil {
		t.Fatalf("model %+v", m)
	}
	o, err := s.Apply(Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	o.Network.UpMbps = 1
	if s.Network.UpMbps != 20 {
		t.Fatal("Apply shares the [network] section with the original")
	}
}

func TestScenarioOverrides(t *testing.T) {
	base, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	seed, nodes, d := uint64(99), 5000, 2*sim.Hour
	s, err := base.Apply(Overrides{Seed: &seed, Nodes: &nodes, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	if s.Seed != 99 || s.Nodes != 5000 || s.Duration != 2*sim.Hour || s.Samples() != 3 {
		t.Fatalf("overridden: %+v (samples %d)", s, s.Samples())
	}
	if base.Seed != 3 || base.Nodes != 100 || base.Duration != sim.Day {
		t.Fatalf("Apply changed its receiver: %+v", base)
	}
	s.Kademlia.Lookups = 1
	if base.Kademlia.Lookups == 1 {
		t.Fatal("Apply shares the [kademlia] section with the original")
	}
	same, err := base.Apply(Overrides{})
	if err != nil || same.Seed != base.Seed || same.Nodes != base.Nodes || *same.Kademlia != *base.Kademlia {
		t.Fatalf("empty overrides: %+v, %v", same, err)
	}
	zero := 0
	if _, err := base.Apply(Overrides{Nodes: &zero}); err == nil || !strings.Contains(err.Error(), "nodes: 0") {
		t.Fatalf("invalid override accepted: %v", err)
	}
}

const storageOnly = `
seed = 1
nodes = 100
duration = "2d"
[storage]
files = 10
k = 2
n = 4
`

func TestScenarioStorage(t *testing.T) {
	s, err := Parse([]byte(storageOnly))
	if err != nil {
		t.Fatal(err)
	}
	st := s.Storage
	if s.Kademlia != nil || st.SegmentsPerFile != 1 || st.ShardSize != 8<<20 || st.SampleEvery != sim.Hour ||
		st.Candidates != 0 || st.UnvettedShare != 0 {
		t.Fatalf("defaults: %+v", *st)
	}
	if s.LookupSamples() != 0 || s.StorageSamples() != 49 || s.Samples() != 49 {
		t.Fatalf("samples %d + %d = %d, want 0 + 49", s.LookupSamples(), s.StorageSamples(), s.Samples())
	}
	if l := st.Layout(); l.Files != 10 || l.K != 2 || l.N != 4 || l.Segments() != 10 || l.Validate() != nil {
		t.Fatalf("layout %+v", l)
	}
	// Both studies in one scenario; arrivals are refused only by the lookup study.
	both, err := Parse([]byte(storageOnly + "sample_every = \"6h\"\n[kademlia]\nsample_every = \"12h\"\n"))
	if err != nil || both.Samples() != 9+5 {
		t.Fatalf("both: %v, samples %d", err, both.Samples())
	}
	if _, err := Parse([]byte(storageOnly + "[churn]\narrivals_per_hour = 2.0\n")); err != nil {
		t.Fatalf("storage with arrivals: %v", err)
	}
	// Apply copies the section.
	o, err := s.Apply(Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	o.Storage.Files = 1
	if s.Storage.Files != 10 {
		t.Fatal("Apply shares the [storage] section with the original")
	}
	for _, c := range []struct{ name, toml, want string }{
		{"unknown key", storageOnly + "replicas = 3\n", "storage.replicas"},
		{"no files", strings.Replace(storageOnly, "files = 10", "", 1), "storage.files: 0"},
		{"negative segments", storageOnly + "segments_per_file = -1\n", "storage.segments_per_file: -1"},
		{"k above n", strings.Replace(storageOnly, "k = 2", "k = 5", 1), "storage.k: 5"},
		{"no k", strings.Replace(storageOnly, "k = 2", "", 1), "storage.k: 0"},
		{"n too big", strings.Replace(storageOnly, "n = 4", "n = 256", 1), "storage.n: 256"},
		{"n over subnets", strings.Replace(storageOnly, "n = 4", "n = 40", 1), "storage.n: 40 shards need 40 distinct /24s"},
		{"too many shards", strings.Replace(storageOnly, "files = 10", "files = 100000000", 1), "storage.files: 100000000"},
		{"shard size", storageOnly + "shard_size = -1\n", "storage.shard_size: -1"},
		{"candidates below n", storageOnly + "candidates = 3\n", "storage.candidates: 3"},
		{"unvetted share", storageOnly + "unvetted_share = 1.5\n", "storage.unvetted_share: 1.5"},
		{"sample too often", storageOnly + "sample_every = \"1ms\"\n", "storage.sample_every: 1ms"},
		{"too many samples", strings.Replace(storageOnly, `"2d"`, `"100d"`, 1) + "sample_every = \"1s\"\n", "storage.sample_every"},
	} {
		_, err := Parse([]byte(c.toml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
