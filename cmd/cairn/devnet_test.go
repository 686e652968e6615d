package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
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
		ip := "/ip4/127.0." + strconv.Itoa(tc.i) + ".1"
		want := []string{ip + "/tcp/0", ip + "/udp/0/quic-v1"}
		if strings.Join(cfg.Network.Listen, " ") != strings.Join(want, " ") {
			t.Errorf("node %d listens on %v, want %v", tc.i, cfg.Network.Listen, want)
		}
		if cfg.API.Address != "127.0.0.1:0" || !api.IsLoopbackAddr(cfg.API.Address) {
			t.Errorf("node %d API %q", tc.i, cfg.API.Address)
		}
		if cfg.Put.K != tc.wantK || cfg.Put.N != tc.wantN {
			t.Errorf("node %d k/n %d/%d, want %d/%d", tc.i, cfg.Put.K, cfg.Put.N, tc.wantK, tc.wantN)
		}
		if len(cfg.Network.Bootstrap) != 0 {
			t.Errorf("bootstrap in config: %v (it is passed on the command line)", cfg.Network.Bootstrap)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("node %d: %v", tc.i, err)
		}
	}
}

func TestPrepareDevnetRepo(t *testing.T) {
	root := t.TempDir()
	r, err := prepareDevnetRepo(root, 3, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Path != filepath.Join(root, "node-3") {
		t.Fatalf("path %s", r.Path)
	}
	id1, _ := os.ReadFile(filepath.Join(r.Path, repo.IdentityFile))

	// A killed daemon left run files; reuse keeps the identity, applies k/n, drops the files.
	if err := r.WriteRunFiles("http://127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	r2, err := prepareDevnetRepo(root, 3, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := os.ReadFile(filepath.Join(r.Path, repo.IdentityFile))
	if string(id1) != string(id2) {
		t.Fatal("identity replaced on reuse")
	}
	if _, err := repo.ReadAPIAddr(r.Path); err == nil {
		t.Fatal("stale api file kept")
	}
	reread, _ := repo.Open(r.Path)
	if r2.Config.Put.K != 2 || reread.Config.Put.K != 2 || reread.Config.Put.N != 3 {
		t.Fatalf("k/n not saved: %+v", reread.Config.Put)
	}

	// A repo in use by a running daemon is refused, its files untouched.
	unlock, err := reread.Lock()
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	reread.WriteRunFiles("http://127.0.0.1:2")
	if _, err := prepareDevnetRepo(root, 3, 0, 0); err == nil || !strings.Contains(err.Error(), "another devnet") {
		t.Fatalf("locked repo: %v", err)
	}
	if _, err := repo.ReadAPIAddr(r.Path); err != nil {
		t.Fatal("a live daemon's api file was removed")
	}
}

func TestBootstrapAddr(t *testing.T) {
	id := &api.IDResult{PeerID: "12D3KooWX", Addresses: []string{
		"/ip4/127.0.1.1/udp/5/quic-v1/p2p/12D3KooWX",
		"/ip4/127.0.1.1/tcp/4/ws/p2p/12D3KooWX",
		"/ip4/127.0.1.1/tcp/4/p2p/12D3KooWX",
	}}
	if got, err := bootstrapAddr(id); err != nil || got != "/ip4/127.0.1.1/tcp/4/p2p/12D3KooWX" {
		t.Fatalf("got %q %v", got, err)
	}
	id.Addresses = []string{"/ip4/127.0.1.1/tcp/4"}
	if got, _ := bootstrapAddr(id); got != "/ip4/127.0.1.1/tcp/4/p2p/12D3KooWX" {
		t.Fatalf("without /p2p: %q", got)
	}
	id.Addresses = []string{"/ip4/127.0.1.1/udp/5/quic-v1"}
	if _, err := bootstrapAddr(id); err == nil {
		t.Fatal("no TCP address accepted")
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
