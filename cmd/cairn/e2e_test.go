package main

// End-to-end tests with real OS processes: a devnet of daemons on 127.0.i.1, driven through the
// CLI exactly as a user would, with holders killed by SIGKILL and shards corrupted on disk.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/manifest"
)

// The test binary doubles as the cairn binary: devnet re-executes os.Executable() as daemons.
const asCLI = "CAIRN_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

type devnetProc struct {
	t    *testing.T
	root string
	cmd  *exec.Cmd
}

func startDevnet(t *testing.T, nodes int, extra ...string) *devnetProc {
	t.Helper()
	root := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, append([]string{"devnet", "--nodes", strconv.Itoa(nodes), "--root", root}, extra...)...)
	cmd.Env = append(os.Environ(), asCLI+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &devnetProc{t: t, root: root, cmd: cmd}
	t.Cleanup(d.stop)
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("devnet exited before ready: %s", stderr.String())
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("devnet not ready after 90 s: %s", stderr.String())
	}
	return d
}

// stop ends the devnet with SIGTERM, as a user's Ctrl-C would, and checks every daemon is gone.
func (d *devnetProc) stop() {
	var pids []int
	for i := 1; ; i++ {
		b, err := os.ReadFile(filepath.Join(d.repo(i), "daemon.pid"))
		if err != nil {
			if _, statErr := os.Stat(d.repo(i)); statErr != nil {
				break // no more nodes
			}
			continue // this node's daemon already exited and removed its pid file
		}
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			pids = append(pids, p)
		}
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	defer func() {
		for _, p := range pids {
			for deadline := time.Now().Add(5 * time.Second); syscall.Kill(p, 0) == nil; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					d.t.Errorf("daemon pid %d still running after devnet stopped", p)
					_ = syscall.Kill(p, syscall.SIGKILL)
					break
				}
			}
		}
	}()
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		d.t.Error("devnet did not stop within 20 s of SIGTERM")
	}
}

func (d *devnetProc) repo(i int) string { return filepath.Join(d.root, fmt.Sprintf("node-%d", i)) }

func (d *devnetProc) pid(i int) int {
	b, err := os.ReadFile(filepath.Join(d.repo(i), "daemon.pid"))
	if err != nil {
		d.t.Fatal(err)
	}
	p, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return p
}

// kill SIGKILLs node i's daemon and waits until it is gone.
func (d *devnetProc) kill(i int) {
	pid := d.pid(i)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		d.t.Fatalf("kill node-%d: %v", i, err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
	}
	d.t.Fatalf("node-%d (pid %d) still alive after SIGKILL", i, pid)
}

// nodeOf maps a peer ID to its devnet index.
func (d *devnetProc) nodeOf(nodes int, peerID string) int {
	for i := 1; i <= nodes; i++ {
		var id api.IDResult
		if proc(d.t, d.repo(i), "id", "--json").decode(&id) == nil && id.PeerID == peerID {
			return i
		}
	}
	d.t.Fatalf("peer %s is not in the devnet", peerID)
	return 0
}

type procResult struct {
	stdout, stderr string
	code           int
}

func (r procResult) decode(v any) error { return json.Unmarshal([]byte(r.stdout), v) }

func proc(t *testing.T, repo string, args ...string) procResult {
	t.Helper()
	self, _ := os.Executable()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, append([]string{"--repo", repo}, args...)...)
	cmd.Env = append(os.Environ(), asCLI+"=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return procResult{out.String(), errb.String(), code}
}

func procOK(t *testing.T, r procResult) procResult {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	return r
}

func procFail(t *testing.T, r procResult, want string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("succeeded, want an error containing %q", want)
	}
	if !strings.Contains(r.stderr, want) {
		t.Fatalf("error %q does not contain %q", r.stderr, want)
	}
}

func writeRandom(t *testing.T, size int, seed uint64) (string, []byte) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e37))
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	p := filepath.Join(t.TempDir(), fmt.Sprintf("in-%d.bin", seed))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func getAndCompare(t *testing.T, repo, capStr string, want []byte) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.bin")
	procOK(t, proc(t, repo, "get", capStr, "-o", out))
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("get from %s: %d bytes, differ from the %d put", repo, len(got), len(want))
	}
}

func put(t *testing.T, repo, file string, extra ...string) api.PutResult {
	t.Helper()
	var res api.PutResult
	r := procOK(t, proc(t, repo, append([]string{"put", "--json", file}, extra...)...))
	if err := r.decode(&res); err != nil || res.Cap == "" || res.CID == "" {
		t.Fatalf("put --json output %q: %v", r.stdout, err)
	}
	return res
}

func holders(t *testing.T, repo, capStr string) *api.StatResult {
	t.Helper()
	var st api.StatResult
	if err := procOK(t, proc(t, repo, "stat", "--json", capStr)).decode(&st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func TestDevnetEndToEnd(t *testing.T) {
	const nodes, k, n = 8, 3, 6
	d := startDevnet(t, nodes, "--k", strconv.Itoa(k), "--n", strconv.Itoa(n))
	getter := nodes // node-8 downloads; node-1 uploads

	// Clear errors for bad input, before anything is stored.
	missing := filepath.Join(t.TempDir(), "missing.bin")
	procFail(t, proc(t, d.repo(1), "put", missing), "missing.bin")
	procFail(t, proc(t, d.repo(1), "get", "cairn:r2:bogus:key", "-o", filepath.Join(t.TempDir(), "x")), "capability")
	procFail(t, proc(t, d.repo(1), "get", "hello", "-o", filepath.Join(t.TempDir(), "x")), "capability")
	unknown := manifest.Capability{Manifest: manifest.CID([]byte("nobody stores this"))}
	procFail(t, proc(t, d.repo(2), "get", unknown.String(), "-o", filepath.Join(t.TempDir(), "x")), "not found")
	small, _ := writeRandom(t, 1000, 1)
	procFail(t, proc(t, d.repo(1), "put", "--k", "3", "--n", "9", small), "too few nodes")
	var list []api.ListEntry
	if err := procOK(t, proc(t, d.repo(1), "ls", "--json")).decode(&list); err != nil || len(list) != 0 {
		t.Fatalf("ls after refused put: %v %v", list, err)
	}

	// Put on node-1, get on node-8: identical. Two 16 MiB segments and a partial third.
	fileA, dataA := writeRandom(t, 40<<20+12345, 2)
	resA := put(t, d.repo(1), fileA)
	if lines := strings.Split(strings.TrimSpace(procOK(t, proc(t, d.repo(1), "put", "-q", small)).stdout), "\n"); !strings.HasPrefix(lines[len(lines)-1], "cairn:r2:") {
		t.Fatalf("put does not end with the capability: %q", lines)
	}
	getAndCompare(t, d.repo(getter), resA.Cap, dataA)

	// A holder that serves corrupted bytes is detected and skipped: flip a byte of data shard 0
	// of every segment of file B on its holder's disk.
	fileB, dataB := writeRandom(t, 20<<20, 3)
	resB := put(t, d.repo(2), fileB)
	stB := holders(t, d.repo(3), resB.Cap)
	for _, seg := range stB.Segments {
		sh := seg.Shards[0]
		node := d.nodeOf(nodes, sh.Holder)
		matches, _ := filepath.Glob(filepath.Join(d.repo(node), "data", "blobs", "*", sh.CID))
		if len(matches) != 1 {
			t.Fatalf("shard %s not found on node-%d's disk", sh.CID, node)
		}
		p := matches[0]
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("shard file of node-%d: %v", node, err)
		}
		b[len(b)/3] ^= 0x5a
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	getAndCompare(t, d.repo(getter), resB.Cap, dataB)

	// rm from another node than the uploader: the file is gone everywhere.
	fileC, _ := writeRandom(t, 3<<20, 4)
	resC := put(t, d.repo(1), fileC)
	var rm api.RemoveResult
	if err := procOK(t, proc(t, d.repo(5), "rm", "--json", resC.Cap)).decode(&rm); err != nil || rm.ShardsDeleted != n || rm.ShardsFailed != 0 {
		t.Fatalf("rm: %+v %v", rm, err)
	}
	procFail(t, proc(t, d.repo(getter), "get", resC.Cap, "-o", filepath.Join(t.TempDir(), "c")), "not found")

	// SIGKILL n-k holders of file A's first segment (never the downloader): still identical.
	stA := holders(t, d.repo(getter), resA.Cap)
	var victims []int
	for _, sh := range stA.Segments[0].Shards {
		if node := d.nodeOf(nodes, sh.Holder); node != getter {
			victims = append(victims, node)
		}
	}
	for _, v := range victims[:n-k] {
		d.kill(v)
	}
	getAndCompare(t, d.repo(getter), resA.Cap, dataA)
	st := holders(t, d.repo(getter), resA.Cap)
	if st.Segments[0].Healthy != k || !st.Retrievable {
		t.Fatalf("stat after killing %d holders: segment 0 healthy %d, want %d", n-k, st.Segments[0].Healthy, k)
	}
	// A CLI aimed at a killed node says its daemon is not running.
	procFail(t, proc(t, d.repo(victims[0]), "id"), "not running")

	// One more holder gone: fewer than k shards remain, and get says so.
	d.kill(victims[n-k])
	procFail(t, proc(t, d.repo(getter), "get", resA.Cap, "-o", filepath.Join(t.TempDir(), "a")), "shards")
}
