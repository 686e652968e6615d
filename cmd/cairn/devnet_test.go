package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/repo"
)

func TestDevnetConfig(t *testing.T) {
	def := config.Default()
	for _, tc := range []struct{ i, k, n, wantK, wantN int }{
		{1, 0, 0, def.Put.K, def.Put.N},
		{7, 3, 5, 3, 5},
		{250, 2, 0, 2, def.Put.N},
	} {
		cfg := devnetConfig(tc.i, tc.k, tc.n)
		if strings.Join(cfg.Network.Listen, " ") != strings.Join(config.LoopbackListen(tc.i, 0), " ") {
			t.Errorf("node %d listens on %v", tc.i, cfg.Network.Listen)
		}
		if cfg.Put.K != tc.wantK || cfg.Put.N != tc.wantN {
			t.Errorf("node %d k/n %d/%d, want %d/%d", tc.i, cfg.Put.K, cfg.Put.N, tc.wantK, tc.wantN)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("node %d: %v", tc.i, err)
		}
	}
}

// fixedPort checks node i's config listens on one fixed port of 127.0.i.1 for TCP and QUIC,
// with its API on another, and returns the port.
func fixedPort(t *testing.T, cfg config.Config, i int) int {
	t.Helper()
	port := listenPort(cfg.Network.Listen, i)
	if port <= 0 {
		t.Fatalf("node-%d listens on %v, want fixed TCP and QUIC ports on %s", i, cfg.Network.Listen, config.LoopbackIP(i))
	}
	host, ps, err := net.SplitHostPort(cfg.API.Address)
	if err != nil || host != config.LoopbackIP(i) || ps == "0" || ps == strconv.Itoa(port) || !api.IsLoopbackAddr(cfg.API.Address) {
		t.Fatalf("node-%d API address %q, want a fixed port on %s", i, cfg.API.Address, config.LoopbackIP(i))
	}
	return port
}

func TestPrepareDevnetRepos(t *testing.T) {
	root := t.TempDir()
	repos, err := prepareDevnetRepos(devnetFlags{nodes: 3, k: 2, n: 3, fast: true}, root)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 3)
	ports := make([]int, 3)
	for i, r := range repos {
		if r.Path != devnetRepoPath(root, i+1) {
			t.Fatalf("path %s", r.Path)
		}
		id, err := r.PeerID()
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id.String()
		re, err := repo.Open(r.Path) // what a plain "cairn daemon --repo" reads
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = fixedPort(t, re.Config, i+1)
		if re.Config.Put.K != 2 || re.Config.Put.N != 3 || re.Config.Intervals != config.FastIntervals() {
			t.Fatalf("node-%d: k/n %d/%d, intervals %+v", i+1, re.Config.Put.K, re.Config.Put.N, re.Config.Intervals)
		}
	}
	wantBoot := func(i int) []string { // node-1 joins through node-2, the others through node-1
		j := 1
		if i == 1 {
			j = 2
		}
		return []string{"/ip4/" + config.LoopbackIP(j) + "/tcp/" + strconv.Itoa(ports[j-1]) + "/p2p/" + ids[j-1]}
	}
	for i := 1; i <= 3; i++ {
		re, _ := repo.Open(devnetRepoPath(root, i))
		if !slices.Equal(re.Config.Network.Bootstrap, wantBoot(i)) {
			t.Fatalf("node-%d bootstrap %v, want %v", i, re.Config.Network.Bootstrap, wantBoot(i))
		}
	}
	id1, _ := os.ReadFile(filepath.Join(repos[2].Path, repo.IdentityFile))

	// A killed daemon left run files; reuse keeps identity and addresses, drops the run files,
	// and without --fast restores the default intervals.
	if err := repos[2].WriteRunFiles("http://127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	again, err := prepareDevnetRepos(devnetFlags{nodes: 3}, root)
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := os.ReadFile(filepath.Join(again[2].Path, repo.IdentityFile))
	if string(id1) != string(id2) {
		t.Fatal("identity replaced on reuse")
	}
	if _, err := repo.ReadAPIAddr(again[2].Path); err == nil {
		t.Fatal("stale api file kept")
	}
	for i := 1; i <= 3; i++ {
		re, _ := repo.Open(devnetRepoPath(root, i))
		if p := fixedPort(t, re.Config, i); p != ports[i-1] {
			t.Fatalf("node-%d moved from port %d to %d on reuse", i, ports[i-1], p)
		}
		if re.Config.Put.K != 2 || re.Config.Intervals != config.Default().Intervals || !slices.Equal(re.Config.Network.Bootstrap, wantBoot(i)) {
			t.Fatalf("node-%d after reuse: %+v", i, re.Config)
		}
	}

	// A port taken since is replaced, and the others' bootstrap follows node-1 there.
	ln, err := net.Listen("tcp", net.JoinHostPort(config.LoopbackIP(1), strconv.Itoa(ports[0])))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := prepareDevnetRepos(devnetFlags{nodes: 3}, root); err != nil {
		t.Fatal(err)
	}
	re1, _ := repo.Open(devnetRepoPath(root, 1))
	re3, _ := repo.Open(devnetRepoPath(root, 3))
	moved := fixedPort(t, re1.Config, 1)
	if moved == ports[0] || !strings.Contains(re3.Config.Network.Bootstrap[0], "/tcp/"+strconv.Itoa(moved)+"/") {
		t.Fatalf("node-1 port %d (was taken: %d), node-3 bootstrap %v", moved, ports[0], re3.Config.Network.Bootstrap)
	}

	// A repo in use by a running daemon is refused, its files untouched.
	unlock, err := re3.Lock()
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	re3.WriteRunFiles("http://127.0.0.1:2")
	if _, err := prepareDevnetRepos(devnetFlags{nodes: 3}, root); err == nil || !strings.Contains(err.Error(), "another devnet") {
		t.Fatalf("locked repo: %v", err)
	}
	if _, err := repo.ReadAPIAddr(re3.Path); err != nil {
		t.Fatal("a live daemon's api file was removed")
	}
}

func TestSingleNodeDevnetHasNoBootstrap(t *testing.T) {
	repos, err := prepareDevnetRepos(devnetFlags{nodes: 1}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if b := repos[0].Config.Network.Bootstrap; len(b) != 0 {
		t.Fatalf("lone node bootstraps from %v", b)
	}
}

func TestListenPort(t *testing.T) {
	for _, tc := range []struct {
		listen []string
		want   int
	}{
		{config.LoopbackListen(4, 4101), 4101},
		{config.LoopbackListen(4, 0), 0},
		{config.LoopbackListen(5, 4101), 0}, // another node's address
		{[]string{"/ip4/127.0.4.1/tcp/4101"}, 0},
		{[]string{"/ip4/127.0.4.1/tcp/4101", "/ip4/127.0.4.1/udp/4102/quic-v1"}, 0},
		{[]string{"/ip4/127.0.4.1/tcp/x", "/ip4/127.0.4.1/udp/x/quic-v1"}, 0},
	} {
		if got := listenPort(tc.listen, 4); got != tc.want {
			t.Errorf("listenPort(%v) = %d, want %d", tc.listen, got, tc.want)
		}
	}
}

func TestLagErrorNamesNodesAndLog(t *testing.T) {
	var states []*nodeState
	for i := 1; i <= 14; i++ {
		s := &nodeState{c: &child{name: "node-" + strconv.Itoa(i), log: "/r/node-" + strconv.Itoa(i) + "/daemon.log"}, status: "API not up yet"}
		s.ready = i == 1 || i == 3
		states = append(states, s)
	}
	states[1].status = "2 of 13 peers in routing table"
	err := lagError(states, 13)
	msg := err.Error()
	for _, want := range []string{"12 of 14 nodes", "node-2 (2 of 13 peers in routing table)", "node-4 (API not up yet)", "and 2 more", "see /r/node-2/daemon.log"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "node-3 ") {
		t.Errorf("ready node named: %s", msg)
	}
}

// fakeChild runs a shell command as a devnet child would be run.
func fakeChild(t *testing.T, script string, exits chan *child) *child {
	t.Helper()
	c := &child{name: "node-x", log: filepath.Join(t.TempDir(), "daemon.log"), done: make(chan struct{})}
	c.cmd = exec.Command("sh", "-c", script)
	c.cmd.SysProcAttr = childSysProcAttr()
	if err := c.cmd.Start(); err != nil {
		t.Fatal("start sh:", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
		if !c.stopping.Load() {
			exits <- c
		}
	}()
	return c
}

func TestStopChildrenEscalates(t *testing.T) {
	exits := make(chan *child, 3)
	polite := fakeChild(t, "sleep 30", exits)
	stubborn := fakeChild(t, "trap '' TERM; echo started; while :; do sleep 0.05; done", exits)
	time.Sleep(200 * time.Millisecond) // let the trap be installed
	start := time.Now()
	killed := stopChildren([]*child{polite, stubborn, nil}, 500*time.Millisecond)
	if killed != 1 {
		t.Fatalf("killed %d, want 1", killed)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stop took %s", d)
	}
	if !polite.exited() || !stubborn.exited() {
		t.Fatal("children still running")
	}
	select {
	case c := <-exits:
		t.Fatalf("stopped child %s reported as a death", c.name)
	default:
	}
}

func TestUnexpectedExitReported(t *testing.T) {
	exits := make(chan *child, 1)
	c := fakeChild(t, "exit 3", exits)
	os.WriteFile(c.log, []byte("line1\nerror: bind: address in use\n"), 0o644)
	select {
	case got := <-exits:
		msg := got.deathMessage()
		var ee *exec.ExitError
		if !errors.As(got.err, &ee) || !strings.Contains(msg, "exit status 3") ||
			!strings.Contains(msg, "| error: bind: address in use") || !strings.Contains(msg, c.log) {
			t.Fatalf("death message %q", msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("exit not reported")
	}
}

func TestTailFile(t *testing.T) {
	p := writeFile(t, t.TempDir(), "log", []byte(strings.Repeat("x\n", 5000)+"a\nb\nc\n"))
	if got := tailFile(p, 2); got != "    | b\n    | c" {
		t.Fatalf("tail %q", got)
	}
	if tailFile(filepath.Join(t.TempDir(), "none"), 3) != "" {
		t.Fatal("missing file gave a tail")
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 5000000: "4.8 MiB", 100 << 30: "100.0 GiB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
