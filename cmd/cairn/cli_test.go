package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/repo"
)

func TestPutGetThroughAPI(t *testing.T) {
	for _, tty := range []bool{false, true} { // true exercises the progress bars
		fn := newFakeNode()
		r := fakeDaemon(t, fn)
		dir := t.TempDir()
		data := make([]byte, 3<<20+17)
		rand.Read(data)
		in := writeFile(t, dir, "photo.jpg", data)

		res := cliTTY(t, tty, "--repo", r, "put", "--k", "2", "--n", "4", in)
		mustOK(t, res)
		capability := res.lastLine()
		if !strings.HasPrefix(capability, "cairn:r2:") {
			t.Fatalf("last line %q is not a capability; stdout:\n%s", capability, res.stdout)
		}
		if fn.lastPut != (api.PutOptions{K: 2, N: 4, Name: "photo.jpg"}) {
			t.Fatalf("put options %+v", fn.lastPut)
		}
		if tty && !strings.Contains(res.stderr, "put") {
			t.Errorf("no progress on a terminal: %q", res.stderr)
		}

		out := filepath.Join(dir, "out.jpg")
		mustOK(t, cliTTY(t, tty, "--repo", r, "get", capability, "-o", out))
		if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
			t.Fatalf("get wrote %d bytes, want %d identical", len(got), len(data))
		}
		res = cli(t, "--repo", r, "get", " "+capability+"\n", "-o", "-")
		mustOK(t, res)
		if res.stdout != string(data) {
			t.Fatalf("get -o - wrote %d bytes", len(res.stdout))
		}
	}
}

func TestPutOutputModes(t *testing.T) {
	r := fakeDaemon(t, newFakeNode())
	in := writeFile(t, t.TempDir(), "a.txt", []byte("hello"))

	res := cli(t, "--repo", r, "put", "-q", in)
	mustOK(t, res)
	if strings.Count(res.stdout, "\n") != 1 || !strings.HasPrefix(res.stdout, "cairn:r2:") || res.stderr != "" {
		t.Fatalf("-q printed %q / %q", res.stdout, res.stderr)
	}
	res = cli(t, "--repo", r, "put", "--json", in)
	mustOK(t, res)
	var pr map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &pr); err != nil {
		t.Fatalf("--json output %q: %v", res.stdout, err)
	}
	if pr["cap"] == "" || pr["cap"] == nil || pr["cid"] == nil {
		t.Fatalf("--json lacks cap/cid: %v", pr)
	}
	empty := writeFile(t, t.TempDir(), "empty", nil)
	mustOK(t, cli(t, "--repo", r, "put", empty))
}

func TestInfoCommands(t *testing.T) {
	r := fakeDaemon(t, newFakeNode())
	in := writeFile(t, t.TempDir(), "notes.txt", []byte("some notes"))
	capability := cli(t, "--repo", r, "put", "-q", in).lastLine()

	res := cli(t, "--repo", r, "stat", capability)
	mustOK(t, res)
	for _, want := range []string{"notes.txt", "10 B", "2/4", "12D3KooW…AAAAAA", "yes", "no (dial failed: * refused)", "retrievable: no"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stat output lacks %q:\n%s", want, res.stdout)
		}
	}
	var st api.StatResult
	res = cli(t, "--repo", r, "stat", "--json", capability)
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil || len(st.Segments) != 1 {
		t.Fatalf("stat --json: %v %q", err, res.stdout)
	}

	res = cli(t, "--repo", r, "ls")
	mustOK(t, res)
	if !strings.Contains(res.stdout, capability) || !strings.Contains(res.stdout, "notes.txt") {
		t.Errorf("ls output:\n%s", res.stdout)
	}
	var ls []api.ListEntry
	if err := json.Unmarshal([]byte(cli(t, "--repo", r, "ls", "--json").stdout), &ls); err != nil || len(ls) != 1 {
		t.Fatalf("ls --json: %v %v", ls, err)
	}

	res = cli(t, "--repo", r, "id")
	mustOK(t, res)
	if !strings.Contains(res.stdout, "12D3KooWfake") || !strings.Contains(res.stdout, "/ip4/127.0.1.1/tcp/4001") {
		t.Errorf("id output:\n%s", res.stdout)
	}
	var peers []api.PeerInfo
	if err := json.Unmarshal([]byte(cli(t, "--repo", r, "peers", "--json").stdout), &peers); err != nil || len(peers) != 1 {
		t.Fatalf("peers --json: %v %v", peers, err)
	}
	mustOK(t, cli(t, "--repo", r, "peers"))

	res = cli(t, "--repo", r, "rm", capability)
	mustOK(t, res)
	if !strings.Contains(res.stdout, "4 shards deleted") {
		t.Errorf("rm output: %q", res.stdout)
	}
	mustFail(t, cli(t, "--repo", r, "stat", capability), "manifest not found")
	mustOK(t, cli(t, "--repo", r, "rm", "--json", capability))
	if res := cli(t, "--repo", r, "ls"); !strings.Contains(res.stdout, "no files") {
		t.Errorf("empty ls: %q", res.stdout)
	}
}

func TestFailedGetLeavesOutputUntouched(t *testing.T) {
	fn := newFakeNode()
	r := fakeDaemon(t, fn)
	dir := t.TempDir()
	data := make([]byte, 1<<20)
	capability := cli(t, "--repo", r, "put", "-q", writeFile(t, dir, "in", data)).lastLine()
	out := writeFile(t, dir, "out", []byte("precious"))

	fn.mu.Lock()
	fn.getCut = 300 << 10
	fn.mu.Unlock()
	res := cli(t, "--repo", r, "get", capability, "-o", out)
	mustFail(t, res, "download failed")
	if got, _ := os.ReadFile(out); string(got) != "precious" {
		t.Fatalf("output overwritten with %d bytes", len(got))
	}
	mustFail(t, cli(t, "--repo", r, "get", capability, "-o", filepath.Join(dir, "new")), "download failed")
	assertOnlyFiles(t, dir, "in", "out")

	// An unknown capability fails before any byte, with the daemon's message.
	mustFail(t, cli(t, "--repo", r, "get", testCap([]byte("other")), "-o", out), "manifest not found")
	assertOnlyFiles(t, dir, "in", "out")
}

func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("%s holds %v, want %v (temp file left behind?)", dir, got, names)
	}
}

func TestServerErrorsPrinted(t *testing.T) {
	fn := newFakeNode()
	fn.putErr = apiErr{api.CodeTooFewNodes, "too few nodes for k=4 n=8: need 8, have 3"}
	r := fakeDaemon(t, fn)
	in := writeFile(t, t.TempDir(), "f", []byte("x"))
	res := cli(t, "--repo", r, "put", in)
	mustFail(t, res, "too few nodes for k=4 n=8: need 8, have 3")
	if res.stderr != "cairn: too few nodes for k=4 n=8: need 8, have 3\n" {
		t.Fatalf("stderr %q", res.stderr)
	}
}

func TestArgumentErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(repo.EnvPath, filepath.Join(dir, "default-repo"))
	noDaemon := filepath.Join(dir, "idle")
	if _, err := repo.Init(noDaemon, config.Default()); err != nil {
		t.Fatal(err)
	}
	missingRepo := filepath.Join(dir, "missing")
	file := writeFile(t, dir, "file", []byte("x"))
	validCap := testCap([]byte("m"))
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"put"}, "missing FILE argument (usage: cairn put FILE"},
		{[]string{"put", "a", "b"}, `unexpected argument "b"`},
		{[]string{"put", filepath.Join(dir, "nope")}, "input file " + filepath.Join(dir, "nope") + " does not exist"},
		{[]string{"put", dir}, "is a directory"},
		{[]string{"put", "--k", "5", "--n", "4", file}, "k must be smaller than n"},
		{[]string{"put", "--n", "300", file}, "at most 255"},
		{[]string{"get", "-o", "x"}, "missing CAP argument"},
		{[]string{"get", "bafkreisomething", "-o", "x"}, "not a Cairn capability"},
		{[]string{"get", "cairn:r2:abc:def", "-o", "x"}, "malformed capability"},
		{[]string{"get", "cairn:w:abc:def", "-o", "x"}, "malformed capability"},
		{[]string{"get", "cairn:r:bagaaihraypxyuo6sxfbgb7lxwliihxyjtiahxvqma6kfs6byhcmetyq5serq:ubziuj7bmioqx26aomgxnv4j4k3zy777wfioeq77nb24xub5vziq", "-o", "x"}, "capability format 1 is no longer read; the file must be stored again"},
		{[]string{"get", validCap}, "missing -o OUT"},
		{[]string{"stat", "hello"}, "not a Cairn capability"},
		{[]string{"rm", "cairn:r2:"}, "malformed capability"},
		{[]string{"--repo", noDaemon, "id"}, "daemon is not running at repo " + noDaemon + " (start it with: cairn daemon --repo " + noDaemon + ")"},
		{[]string{"--repo", noDaemon, "put", file}, "daemon is not running"},
		{[]string{"--repo", noDaemon, "get", validCap, "-o", "x"}, "daemon is not running"},
		{[]string{"--repo", noDaemon, "exit"}, "daemon is not running"},
		{[]string{"exit", "now"}, `unexpected argument "now"`},
		{[]string{"--repo", missingRepo, "ls"}, "no cairn repo at " + missingRepo},
		{[]string{"--repo", missingRepo, "daemon"}, "no cairn repo at " + missingRepo},
		{[]string{"devnet", "--nodes", "251", "--root", dir}, "between 1 and 250"},
		{[]string{"devnet", "--nodes", "0", "--root", dir}, "between 1 and 250"},
		{[]string{"devnet", "--nodes", "3"}, "missing --root"},
		{[]string{"devnet", "--root", dir, "--k", "9"}, "put.k=9 put.n=8"},
		{[]string{"init", "--repo", filepath.Join(dir, "i1"), "--api", "0.0.0.0:5101"}, "must be a loopback"},
		{[]string{"init", "--repo", filepath.Join(dir, "i2"), "--capacity", "lots"}, "--capacity"},
		{[]string{"init", "--repo", filepath.Join(dir, "i3"), "--listen", "tcp://x"}, "--listen"},
		{[]string{"init", "--repo", filepath.Join(dir, "i4"), "--bootstrap", "/ip4/1.2.3.4/tcp/1"}, "/p2p/"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"put", "--bogus", file}, "unknown flag: --bogus"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			mustFail(t, cli(t, tc.args...), tc.want)
		})
	}
	// None of those may have created a repo.
	for _, p := range []string{missingRepo, filepath.Join(dir, "i1"), filepath.Join(dir, "default-repo")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was created", p)
		}
	}
}

func TestInitCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	boot := "/ip4/10.0.0.1/tcp/4101/p2p/12D3KooWGByFZSmUrHz2rWvaMcSopJLqjvVSdGwmcKFcTEJLvPW1"
	res := cli(t, "--repo", dir, "init", "--listen", "/ip4/127.0.0.1/tcp/0", "--listen", "/ip4/127.0.0.1/udp/0/quic-v1",
		"--api", "127.0.0.1:0", "--bootstrap", boot, "--capacity", "2 GiB")
	mustOK(t, res)
	r, err := repo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := r.Config
	if len(c.Network.Listen) != 2 || c.API.Address != "127.0.0.1:0" || len(c.Network.Bootstrap) != 1 ||
		c.Network.Bootstrap[0] != boot || c.Storage.Capacity != 2<<30 {
		t.Fatalf("config %+v", c)
	}
	if !strings.Contains(res.stdout, "peer id: 12D3KooW") || !strings.Contains(res.stdout, dir) {
		t.Fatalf("init output %q", res.stdout)
	}
	mustFail(t, cli(t, "--repo", dir, "init"), "already exists")
}

func TestDaemonRefusesNonLoopbackAPI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	cfg := config.Default()
	if _, err := repo.Init(dir, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.API.Address = "0.0.0.0:5101"
	if err := config.Save(filepath.Join(dir, repo.ConfigFile), cfg); err != nil {
		t.Fatal(err)
	}
	mustFail(t, cli(t, "--repo", dir, "daemon"), "not a loopback address")
}

// fields collapses a table row's padding, so tests compare cells, not column widths.
func fields(line string) string { return strings.Join(strings.Fields(line), " ") }

// tableRows returns the non-empty lines of a table without its header.
func tableRows(t *testing.T, out, header string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || fields(lines[0]) != header {
		t.Fatalf("table header %q, want %q; output:\n%s", lines[0], header, out)
	}
	var rows []string
	for _, l := range lines[1:] {
		rows = append(rows, fields(l))
	}
	return rows
}

// scoredPeers are four peers, given out of order; ranks 0.95, 0.5, 0.5 (a tie), 0.
func scoredPeers() []api.PeerInfo {
	id := func(c string) string { return "12D3KooW" + strings.Repeat(c, 44) }
	return []api.PeerInfo{
		{ID: id("D"), Status: "disqualified", Disqualified: true, Score: 0.1, Suspension: 1, Vetted: true,
			AuditsPassed: 3, AuditsFailed: 9},
		{ID: id("C"), Status: "unvetted", Score: 0.5, Suspension: 1, Rank: 0.5, AuditsPassed: 1},
		{ID: id("B"), Status: "healthy", Score: 0.95, Suspension: 1, Rank: 0.95, Vetted: true,
			AuditsPassed: 40, AuditsFailed: 1, AuditsTimedOut: 2, Connected: true, InRoutingTable: true},
		{ID: id("A"), Status: "warned", Score: 0.62501, Suspension: 0.8, Rank: 0.5, Vetted: true,
			AuditsPassed: 12, AuditsTimedOut: 5},
	}
}

func TestPeersJSON(t *testing.T) {
	fn := newFakeNode()
	r := fakeDaemon(t, fn)
	fn.mu.Lock()
	fn.peers = []api.PeerInfo{}
	fn.mu.Unlock()
	res := cli(t, "--repo", r, "peers", "--json")
	mustOK(t, res)
	if strings.TrimSpace(res.stdout) != "[]" {
		t.Fatalf("no peers: %q, want []", res.stdout)
	}

	fn.mu.Lock()
	fn.peers = scoredPeers()
	fn.mu.Unlock()
	res = cli(t, "--repo", r, "peers", "--json")
	mustOK(t, res)
	var raw []map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &raw); err != nil || len(raw) != 4 {
		t.Fatalf("peers --json: %v %q", err, res.stdout)
	}
	for i, p := range raw {
		for _, key := range []string{"id", "score", "suspension", "vetted", "disqualified", "audits_passed", "audits_failed",
			"audits_timed_out", "rank", "status", "connected"} {
			if _, ok := p[key]; !ok {
				t.Errorf("peer %d lacks %q: %v", i, key, p)
			}
		}
	}
	if p := raw[0]; !strings.HasSuffix(p["id"].(string), "AAAA") || p["score"] != 0.62501 || p["audits_timed_out"] != 5.0 {
		t.Fatalf("first peer (by ID) is %v", p)
	}
}

func TestPeersTables(t *testing.T) {
	fn := newFakeNode()
	r := fakeDaemon(t, fn)
	fn.mu.Lock()
	fn.peers = scoredPeers()
	fn.mu.Unlock()

	res := cli(t, "--repo", r, "peers")
	mustOK(t, res)
	rows := tableRows(t, res.stdout, "PEER ROUTING TABLE ADDRESSES")
	if len(rows) != 4 {
		t.Fatalf("rows %q", rows)
	}
	for i, c := range "ABCD" { // by ID, full IDs
		if !strings.HasPrefix(rows[i], "12D3KooW"+strings.Repeat(string(c), 44)) {
			t.Errorf("row %d is %q, want peer %c", i, rows[i], c)
		}
	}

	res = cli(t, "--repo", r, "peers", "--scores")
	mustOK(t, res)
	rows = tableRows(t, res.stdout, "PEER STATUS SCORE SUSPENSION RANK AUDITS PASSED/FAILED/TIMED-OUT VETTED")
	want := []string{ // best rank first, the tie by ID
		"12D3KooW…BBBBBB healthy 0.9500 1.0000 0.9500 40/1/2 yes",
		"12D3KooW…AAAAAA warned 0.6250 0.8000 0.5000 12/0/5 yes",
		"12D3KooW…CCCCCC unvetted 0.5000 1.0000 0.5000 1/0/0 no",
		"12D3KooW…DDDDDD disqualified 0.1000 1.0000 0.0000 3/9/0 yes",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("peers --scores rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}

	fn.mu.Lock()
	fn.peers = []api.PeerInfo{}
	fn.mu.Unlock()
	if res := cli(t, "--repo", r, "peers", "--scores"); res.code != 0 || res.stdout != "no peers\n" {
		t.Fatalf("no peers: %+v", res)
	}
}

func TestStatHealthAndRepair(t *testing.T) {
	fn := newFakeNode()
	r := fakeDaemon(t, fn)
	capability := cli(t, "--repo", r, "put", "-q", writeFile(t, t.TempDir(), "f", []byte("some notes"))).lastLine()

	res := cli(t, "--repo", r, "stat", capability)
	mustOK(t, res)
	for _, want := range []string{"segment 0: 10 B, healthy 1/4, 2 of 3 shards answer (need 2)",
		"full health: no\n", "last repair: never\n"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stat output lacks %q:\n%s", want, res.stdout)
		}
	}
	var rows []string
	for _, l := range strings.Split(res.stdout, "\n") {
		if strings.HasPrefix(l, "  ") {
			rows = append(rows, fields(l))
		}
	}
	want := "SHARD HOLDER HEALTHY ANSWERS|0 12D3KooW…AAAAAA yes yes|1 12D3KooW…BBBBBB no no (dial failed: * refused)|" +
		"2 12D3KooW…CCCCCC no yes"
	if strings.Join(rows, "|") != want {
		t.Errorf("shard table %q, want %q", strings.Join(rows, "|"), want)
	}

	const repaired = 1700000000
	fn.mu.Lock()
	fn.lastRepair = repaired
	fn.mu.Unlock()
	res = cli(t, "--repo", r, "stat", capability)
	if want := "last repair: " + time.Unix(repaired, 0).Format("2006-01-02 15:04") + "\n"; !strings.Contains(res.stdout, want) {
		t.Errorf("stat output lacks %q:\n%s", want, res.stdout)
	}

	res = cli(t, "--repo", r, "stat", "--json", capability)
	mustOK(t, res)
	var raw struct {
		FullHealth *bool  `json:"full_health"`
		LastRepair *int64 `json:"last_repair"`
		Segments   []struct {
			Healthy *int             `json:"healthy"`
			Shards  []map[string]any `json:"shards"`
		} `json:"segments"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &raw); err != nil {
		t.Fatalf("stat --json %q: %v", res.stdout, err)
	}
	if raw.FullHealth == nil || *raw.FullHealth || raw.LastRepair == nil || *raw.LastRepair != repaired ||
		len(raw.Segments) != 1 || raw.Segments[0].Healthy == nil || *raw.Segments[0].Healthy != 1 {
		t.Fatalf("stat --json: %s", res.stdout)
	}
	for i, sh := range raw.Segments[0].Shards {
		if sh["holder"] == nil || sh["healthy"] != (i == 0) {
			t.Errorf("shard %d: %v, want holder and healthy=%v", i, sh, i == 0)
		}
	}
}

func TestExitCommand(t *testing.T) {
	fn := newFakeNode()
	r := fakeDaemon(t, fn)
	setExit := func(res *api.ExitResult, err error) {
		fn.mu.Lock()
		fn.exitRes, fn.exitErr = res, err
		fn.mu.Unlock()
	}

	res := cli(t, "--repo", r, "exit")
	mustOK(t, res)
	if res.stdout != "exit complete: 7 shards held, 7 moved, 0 failed; locations of 3 files updated; the daemon is stopping\n" {
		t.Fatalf("exit output %q", res.stdout)
	}
	var er api.ExitResult
	res = cli(t, "--repo", r, "exit", "--json")
	mustOK(t, res)
	if err := json.Unmarshal([]byte(res.stdout), &er); err != nil || er != (api.ExitResult{Shards: 7, Moved: 7, Files: 3, Complete: true}) {
		t.Fatalf("exit --json: %+v %v %q", er, err, res.stdout)
	}
	setExit(&api.ExitResult{Complete: true}, nil)
	if res := cli(t, "--repo", r, "exit"); res.code != 0 || !strings.Contains(res.stdout, "holds no shards") {
		t.Fatalf("nothing to hand over: %+v", res)
	}

	// Not complete: a failure exit status, and how to carry on.
	setExit(&api.ExitResult{Shards: 7, Moved: 5, Failed: 2, Files: 2, Error: "2 shards found\nno taker"}, nil)
	res = cli(t, "--repo", r, "exit")
	mustFail(t, res, "exit not complete: 2 shards are still on this node (2 shards found no taker); run 'cairn exit' again (or restart the daemon) to resume")
	if res.stdout != "exit incomplete: 7 shards held, 5 moved, 2 failed; locations of 2 files updated\n" {
		t.Fatalf("incomplete exit output %q", res.stdout)
	}
	res = cli(t, "--repo", r, "exit", "--json")
	mustFail(t, res, "run 'cairn exit' again")
	if err := json.Unmarshal([]byte(res.stdout), &er); err != nil || er.Complete || er.Failed != 2 {
		t.Fatalf("incomplete exit --json: %+v %v", er, err)
	}

	// The daemon refuses to start: its reason, as for any command.
	setExit(nil, apiErr{api.CodeTooFewNodes, "exit: no other node can take shards"})
	mustFail(t, cli(t, "--repo", r, "exit"), "exit: no other node can take shards")

	res = cli(t, "exit", "--help")
	mustOK(t, res)
	for _, want := range []string{"daemon stops", "resumable", "run 'cairn exit' again", "exit status is 0 only when"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, res.stdout)
		}
	}
}
