package study

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pelletier/go-toml/v2"

	"github.com/cairn-storage/cairn/sim/scenario"
)

// Files Write creates in its directory.
const (
	FileSummary  = "summary.json"  // deterministic
	FileRun      = "run.json"      // wall time and memory
	FileLookups  = "lookups.csv"   // deterministic, one row per sample
	FileScenario = "scenario.toml" // the scenario as run, overrides applied
	FileHopsPNG  = "hops.png"
	FileLivePNG  = "live.png"
	// FileLatencyPNG is the CDF of lookup times (lookup mode).
	FileLatencyPNG = "latency.png"
	// With [storage]: one row per durability sample (deterministic), and the
	// lost fraction of segments against the binomial theory over time.
	FileStorage       = "storage.csv"
	FileDurabilityPNG = "durability.png"
)

// Write writes the run's files into dir, creating it.
func (r *Result) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	sc, err := scenarioTOML(r.Scenario)
	if err != nil {
		return err
	}
	sum, err := r.SummaryJSON()
	if err != nil {
		return err
	}
	run, err := indentJSON(r.Run)
	if err != nil {
		return err
	}
	type output struct {
		name  string
		b     []byte
		plot  func(path string) error
		study any // the section it belongs to; nil: absent, not written
	}
	var lookups, timed, durab any
	if r.Scenario.Kademlia != nil {
		lookups = r.Scenario.Kademlia
		if r.Scenario.Kademlia.Mode == scenario.ModeLookup {
			timed = lookups
		}
	}
	if r.Scenario.Storage != nil {
		durab = r.Scenario.Storage
	}
	var proto any
	if r.protocol != nil {
		proto = r.Scenario.Protocol
	}
	for _, f := range []output{
		{name: FileScenario, b: sc, study: true}, {name: FileSummary, b: sum, study: true},
		{name: FileRun, b: run, study: true},
		{name: FileLookups, b: r.CSV(), study: lookups}, {name: FileStorage, b: r.StorageCSV(), study: durab},
		{name: FileHopsPNG, plot: r.plotHops, study: lookups}, {name: FileLivePNG, plot: r.plotLive, study: lookups},
		{name: FileLatencyPNG, plot: r.plotLatency, study: timed},
		{name: FileDurabilityPNG, plot: r.plotDurability, study: durab},
		{name: FileProtocol, b: r.ProtocolCSV(), study: proto}, {name: FileEconomy, b: r.EconomyCSV(), study: proto},
		{name: FileRepairPNG, plot: r.plotRepair, study: proto}, {name: FileLostPNG, plot: r.plotLost, study: proto},
		{name: FileStoredPNG, plot: r.plotStored, study: proto},
		{name: FileReputationPNG, plot: r.plotReputation, study: proto},
		{name: FilePayoutsPNG, plot: r.plotPayouts, study: proto},
	} {
		path := filepath.Join(dir, f.name)
		switch {
		case f.study == nil:
		case f.plot != nil:
			if err := f.plot(path); err != nil {
				return fmt.Errorf("plot %s: %w", f.name, err)
			}
		default:
			if err := os.WriteFile(path, f.b, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// SummaryJSON is summary.json's bytes. The scenario appears with the keys of
// its TOML file, so it reads like the file it came from.
func (r *Result) SummaryJSON() ([]byte, error) {
	sc, err := scenarioTOML(r.Scenario)
	if err != nil {
		return nil, err
	}
	var asMap map[string]any
	if err := toml.Unmarshal(sc, &asMap); err != nil {
		return nil, err
	}
	s := struct {
		Scenario map[string]any `json:"scenario"`
		Summary
	}{asMap, r.Summary}
	return indentJSON(s)
}

func scenarioTOML(s scenario.Scenario) ([]byte, error) {
	var buf bytes.Buffer
	enc := toml.NewEncoder(&buf)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encode scenario: %w", err)
	}
	return buf.Bytes(), nil
}

func indentJSON(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
