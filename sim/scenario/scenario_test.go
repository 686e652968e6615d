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
	if *s.Kademlia != DefaultKademlia() {
		t.Fatalf("kademlia %+v, want defaults %+v", *s.Kademlia, DefaultKademlia())
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
}

func TestScenarioErrors(t *testing.T) {
	for _, c := range []struct{ name, toml, want string }{
		{"unknown top key", minimal + "\n[kademlia2]\n", "unknown key(s): kademlia2"},
		{"unknown nested key", strings.Replace(minimal, "[kademlia]", "[kademlia]\nalhpa = 3", 1), "kademlia.alhpa"},
		{"no nodes", "seed = 1\nduration = \"1h\"\n[kademlia]\n", "nodes: 0"},
		{"too many nodes", "nodes = 100000000\n[kademlia]\n", "nodes: 100000000"},
		{"bad duration", strings.Replace(minimal, `"1d"`, `"soon"`, 1), "bad duration"},
		{"no section", "nodes = 10\n", "add a [kademlia] section"},
		{"mode", minimal + "mode = \"fast\"\n", `kademlia.mode: "fast"`},
		{"beta above k", minimal + "k = 4\nbeta = 5\n", "kademlia.beta: 5"},
		{"k too big", minimal + "k = 300\n", "kademlia.k: 300"},
		{"negative alpha", minimal + "alpha = -1\n", "kademlia.alpha: -1"},
		{"negative lookups", minimal + "lookups = -5\n", "kademlia.lookups: -5"},
		{"sample too often", minimal + "sample_every = \"1ms\"\n", "kademlia.sample_every: 1ms"},
		{"too many samples", strings.Replace(minimal, `"1d"`, `"100d"`, 1) + "sample_every = \"1s\"\n", "samples, at most"},
		{"churn", minimal + "[churn]\nsession = { kind = \"weibull\", mean = \"1h\" }\ndowntime = { kind = \"exponential\", mean = \"1h\" }\n", "churn.session: weibull needs a positive shape"},
		{"arrivals", minimal + "[churn]\narrivals_per_hour = 2.0\n", "churn.arrivals_per_hour"},
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
