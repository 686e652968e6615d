package study

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/scenario"
)

// smallProtocol is protocol-behaviours.toml at 600 nodes over 4 days (300 over 3 under -race), the bad behaviour
// starting on day 1 and the Sybil attack on day 2: a couple of seconds.
func smallProtocol(t *testing.T) scenario.Scenario {
	t.Helper()
	sc := load(t, "protocol-behaviours.toml")
	n, d := 600, 4*sim.Day
	if raceBuild || testing.Short() { // the race detector slows the event loop fifteenfold
		n, d = 300, 3*sim.Day
	}
	sc, err := sc.Apply(scenario.Overrides{Nodes: &n, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	sc.Protocol.Behaviours.Onset = sim.Day
	sc.Protocol.Behaviours.Sybil.AttackAt = 2 * sim.Day
	sc.Workload.UploadsPerHour, sc.Workload.DownloadsPerHour = 8, 16
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	return sc
}

// The protocol study is deterministic: same scenario and seed, same bytes in every
// deterministic file; another seed changes them.
func TestStudyProtocolDeterministic(t *testing.T) {
	sc := smallProtocol(t)
	a, ra := runWrite(t, sc)
	b, _ := runWrite(t, sc)
	for _, f := range []string{FileProtocol, FileEconomy, FileSummary, FileScenario} {
		if x, y := read(t, a, f), read(t, b, f); !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs of the same scenario", f)
		}
	}
	seed := sc.Seed + 1
	other, err := sc.Apply(scenario.Overrides{Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := runWrite(t, other)
	for _, f := range []string{FileProtocol, FileEconomy} {
		if bytes.Equal(read(t, a, f), read(t, c, f)) {
			t.Errorf("another seed wrote the same %s", f)
		}
	}
	for _, f := range []string{FileRepairPNG, FileLostPNG, FileStoredPNG, FileReputationPNG, FilePayoutsPNG} {
		fh, err := os.Open(filepath.Join(a, f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(fh); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		fh.Close()
	}
	for _, f := range []string{FileLookups, FileStorage} {
		if _, err := os.Stat(filepath.Join(a, f)); !os.IsNotExist(err) {
			t.Errorf("%s written without its section: %v", f, err)
		}
	}
	// The CSVs have a row per sample and per epoch, under their headers.
	rows := strings.Split(strings.TrimSpace(string(read(t, a, FileProtocol))), "\n")
	if int64(len(rows)) != sc.ProtocolSamples()+1 {
		t.Errorf("protocol.csv: %d lines, want %d samples and a header", len(rows), sc.ProtocolSamples())
	}
	rows = strings.Split(strings.TrimSpace(string(read(t, a, FileEconomy))), "\n")
	if int64(len(rows)) != sc.Epochs()+1 || !strings.HasPrefix(rows[0], "epoch,root,") {
		t.Errorf("economy.csv: %d lines, want %d epochs and a header", len(rows), sc.Epochs())
	}

	// What the summary says the run did.
	var sum struct {
		Protocol ProtocolSummary `json:"protocol"`
	}
	if err := json.Unmarshal(read(t, a, FileSummary), &sum); err != nil {
		t.Fatal(err)
	}
	p := sum.Protocol
	e := p.Economy
	if int64(e.Epochs) != sc.Epochs() || e.Epochs < 3 || !e.Conserved || e.Charges <= 0 || e.Payouts <= 0 || e.Fee <= 0 {
		t.Errorf("economy: %+v, want every epoch settled and conserved with charges, payouts and a fee", e)
	}
	if len(e.Partners) != 1 || e.Partners[0].ID != "acme" || e.Partners[0].Amount <= 0 ||
		e.Partners[0].Amount > e.Partners[0].TaggedRevenue*1000/10000 {
		t.Errorf("partner shares: %+v, want acme's at most 10%% of its tagged revenue, and some", e.Partners)
	}
	if p.Network.Files == 0 || p.Workload.Uploads == 0 || p.Network.Downloads == 0 {
		t.Errorf("workload did not run: %+v %+v", p.Workload, p.Network)
	}
	if d := p.Workload.DownloadMS; d == nil || !(d.P50 > 0) || d.P95 < d.P50 || d.Max < d.P99 {
		t.Errorf("download times: %+v, want ordered percentiles above 0", d)
	}
	if p.Network.AuditFail == 0 || p.Network.ShardsRebuilt == 0 {
		t.Errorf("bad nodes failed no audit or nothing was repaired: %+v", p.Network)
	}
	if ra.Summary.Protocol.Network.FalseDisqualifications != 0 {
		t.Errorf("%d honest nodes disqualified", ra.Summary.Protocol.Network.FalseDisqualifications)
	}
	for _, c := range p.Network.Classes {
		if c.Class == "data_dropping" && (c.TurnedBad == 0 || c.Detected == 0) {
			t.Errorf("data droppers: %+v, want some turned bad and caught", c)
		}
	}
	if l := ra.ProtocolLine(); !strings.Contains(l, "conserved: true") {
		t.Errorf("summary line: %q", l)
	}
}

// The protocol sections are checked against each other.
func TestStudyProtocolScenarioErrors(t *testing.T) {
	base := `seed = 1
nodes = 100
duration = "2d"
`
	for _, c := range []struct{ name, toml, want string }{
		{"workload alone", base + "[workload]\nuploads_per_hour = 1\n", "[protocol] section"},
		{"unregistered partner", base + "[protocol]\n[workload]\npartners = [{ id = \"x\", weight = 1 }]\n", "not registered"},
		{"genesis", base + "[protocol]\ngenesis = 1800000000\n", "economy.genesis"},
		{"sybils", base + "[protocol.behaviours.sybil]\ngroups = 10\nsize = 10\n", "protocol.behaviours.sybil"},
		{"unknown key", base + "[protocol]\naudit_intervall = \"1h\"\n", "protocol.audit_intervall"},
		{"bad k", base + "[protocol]\nk = 9\n", "protocol."},
	} {
		if _, err := scenario.Parse([]byte(c.toml)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	// A [protocol] alone runs the default workload and economy.
	sc, err := scenario.Parse([]byte(base + "[protocol]\n"))
	if err != nil || sc.Workload == nil || sc.Economy == nil || sc.Protocol.K != 4 || sc.Economy.Epoch != 24*sim.Hour {
		t.Fatalf("defaults: %+v, %v", sc, err)
	}
}
