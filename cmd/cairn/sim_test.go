package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const simScenario = "../../sim/scenarios/lookup-1k.toml"

func TestSimCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	res := cli(t, "sim", "--scenario", simScenario, "--out", out)
	mustOK(t, res)
	if !strings.Contains(res.stdout, "lookup-1k: 1000 nodes") || !strings.Contains(res.stdout, "wrote "+out) || res.stderr != "" {
		t.Fatalf("stdout %q, stderr %q", res.stdout, res.stderr)
	}
	for _, f := range []string{"summary.json", "run.json"} {
		var v map[string]any
		if err := json.Unmarshal(readOut(t, out, f), &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	rows, err := csv.NewReader(bytes.NewReader(readOut(t, out, "lookups.csv"))).ReadAll()
	if err != nil || len(rows) != 14 || rows[0][0] != "time_h" {
		t.Fatalf("lookups.csv: %d rows, %v", len(rows), err)
	}
	for _, f := range []string{"hops.png", "live.png"} {
		if _, err := png.Decode(bytes.NewReader(readOut(t, out, f))); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}

	// Same command, same bytes.
	again := filepath.Join(t.TempDir(), "again")
	mustOK(t, cli(t, "sim", "--scenario", simScenario, "--out", again))
	for _, f := range []string{"summary.json", "lookups.csv"} {
		if !bytes.Equal(readOut(t, out, f), readOut(t, again, f)) {
			t.Errorf("%s differs between two identical runs", f)
		}
	}
}

// Flags override the file; on a terminal a progress bar goes to stderr.
func TestSimOverridesAndProgress(t *testing.T) {
	out := t.TempDir()
	res := cliTTY(t, true, "sim", "--scenario", simScenario, "--out", out,
		"--seed", "5", "--nodes", "500", "--duration", "4h")
	mustOK(t, res)
	if !strings.Contains(res.stderr, "samples") {
		t.Errorf("no progress bar on a terminal: %q", res.stderr)
	}
	var s struct {
		Seed     uint64 `json:"seed"`
		Nodes    int    `json:"nodes"`
		Duration string `json:"duration"`
		Samples  int    `json:"samples"`
	}
	if err := json.Unmarshal(readOut(t, out, "summary.json"), &s); err != nil {
		t.Fatal(err)
	}
	if s.Seed != 5 || s.Nodes != 500 || s.Duration != "4h0m0s" || s.Samples != 3 {
		t.Fatalf("summary %+v, want seed 5, 500 nodes, 4h, 3 samples", s)
	}
}

func TestSimErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.toml", []byte("nodes = 10\n[kademlia]\nmode = \"warp\"\n"))
	mustFail(t, cli(t, "sim", "--out", dir), "--scenario is required")
	mustFail(t, cli(t, "sim", "--scenario", simScenario), "--out is required")
	mustFail(t, cli(t, "sim", "--scenario", bad, "--out", dir), `kademlia.mode: "warp"`)
	mustFail(t, cli(t, "sim", "--scenario", simScenario, "--out", dir, "--duration", "soon"), "--duration: bad duration")
	mustFail(t, cli(t, "sim", "--scenario", simScenario, "--out", dir, "--nodes", "0"), "nodes: 0")
	mustFail(t, cli(t, "sim", "--scenario", filepath.Join(dir, "none.toml"), "--out", dir), "read scenario")
	if _, err := os.Stat(filepath.Join(dir, "summary.json")); err == nil {
		t.Error("a failed run wrote results")
	}
}

func readOut(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
