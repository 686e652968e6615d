package main

// Process-level restart tests: daemons of a devnet are SIGKILLed and started again by hand with
// "cairn daemon --repo DIR", as an operator would after a crash, with no flags.

import (
	"bytes"
	"context"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/repo"
)

// restarted are daemons the test started by hand; stop ends them all at once (SIGTERM, then
// SIGKILL after 10 s), before the devnet stops.
type restarted struct {
	t    *testing.T
	cmds []*exec.Cmd
	done []chan struct{}
}

func newRestarted(t *testing.T) *restarted {
	r := &restarted{t: t}
	t.Cleanup(r.stop)
	return r
}

// start runs "cairn daemon --repo DIR" as a child of the test, with no flags, and returns
// without waiting for it: see waitRejoined.
func (r *restarted) start(dir string) { r.startWith(dir) }

// startWith is start with extra environment variables (e.g. a fault to inject).
func (r *restarted) startWith(dir string, env ...string) {
	t := r.t
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "restarted.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(self, "--repo", dir, "daemon")
	cmd.Env = append(append(os.Environ(), asCLI+"=1"), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	r.cmds, r.done = append(r.cmds, cmd), append(r.done, done)
}

func (r *restarted) stop() {
	for _, c := range r.cmds {
		c.Process.Signal(syscall.SIGTERM)
	}
	timeout := time.After(10 * time.Second)
	for i, done := range r.done {
		select {
		case <-done:
		case <-timeout:
			r.cmds[i].Process.Kill()
			<-done
			r.t.Errorf("restarted daemon %v ignored SIGTERM for 10 s", r.cmds[i].Args)
		}
	}
}

// askDaemon calls fn with a client of the daemon at dir and a 2 s context; false: no answer.
func askDaemon(dir string, fn func(ctx context.Context, c *api.Client) error) bool {
	c, err := api.NewClientFromRepo(dir)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return fn(ctx, c) == nil
}

// routingPeers asks the daemon at dir how many peers its routing table has (-1: no answer).
func routingPeers(dir string) int {
	var peers []api.PeerInfo
	if !askDaemon(dir, func(ctx context.Context, c *api.Client) (err error) { peers, err = c.Peers(ctx); return err }) {
		return -1
	}
	n := 0
	for _, p := range peers {
		if p.InRoutingTable {
			n++
		}
	}
	return n
}

// waitRejoined waits until the restarted node at dir has want peers in its routing table, then
// checks that "cairn peers --json" says so too.
func waitRejoined(t *testing.T, dir string, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for got := routingPeers(dir); got < want; got = routingPeers(dir) {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "restarted.log"))
			t.Fatalf("%s has %d routing-table peers 30 s after its restart, want %d; log:\n%s", dir, got, want, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var peers []struct {
		InRoutingTable bool `json:"in_routing_table"`
	}
	if err := procOK(t, proc(t, dir, "peers", "--json")).decode(&peers); err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, p := range peers {
		if p.InRoutingTable {
			got++
		}
	}
	if got < want {
		t.Fatalf("cairn peers --json of %s: %d in the routing table, want %d", dir, got, want)
	}
}

// addressesOf is what the daemon at dir says it listens on, sorted.
func addressesOf(t *testing.T, dir string) []string {
	t.Helper()
	c, err := api.NewClientFromRepo(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := c.ID(ctx)
	if err != nil || len(id.Addresses) == 0 {
		t.Fatalf("id of %s: %v %v", dir, id, err)
	}
	return slices.Sorted(slices.Values(id.Addresses))
}

func TestDevnetHoldersRestartAndRejoin(t *testing.T) {
	const nodes = 6
	d := startDevnet(t, nodes, "--k", "2", "--n", "4", "--fast")
	ids := map[string]int{}
	for i := 1; i <= nodes; i++ {
		r, err := repo.Open(d.repo(i))
		if err != nil {
			t.Fatal(err)
		}
		// What a plain "cairn daemon --repo" needs is in the config: fixed addresses, a bootstrap peer.
		if listenPort(r.Config.Network.Listen, i) == 0 {
			t.Fatalf("node-%d listens on %v, want a fixed port", i, r.Config.Network.Listen)
		}
		if b := r.Config.Network.Bootstrap; len(b) != 1 || !strings.Contains(b[0], "/p2p/") {
			t.Fatalf("node-%d bootstrap %v", i, b)
		}
		id, err := r.PeerID()
		if err != nil {
			t.Fatal(err)
		}
		ids[id.String()] = i
	}

	file, data := writeRandom(t, 1<<20+777, 21)
	lines := strings.Split(strings.TrimSpace(procOK(t, proc(t, d.repo(1), "put", "-q", file)).stdout), "\n")
	capStr := lines[len(lines)-1]
	var st struct {
		Segments []struct {
			Shards []struct {
				Holder string `json:"holder"`
			} `json:"shards"`
		} `json:"segments"`
	}
	if err := procOK(t, proc(t, d.repo(2), "stat", "--json", capStr)).decode(&st); err != nil {
		t.Fatal(err)
	}
	held := map[int]bool{}
	for _, seg := range st.Segments {
		for _, sh := range seg.Shards {
			i, ok := ids[sh.Holder]
			if !ok {
				t.Fatalf("holder %s is not a devnet node", sh.Holder)
			}
			held[i] = true
		}
	}
	getter := 0
	for i := nodes; i >= 1 && getter == 0; i-- {
		if !held[i] {
			getter = i
		}
	}
	if len(held) < 2 || getter == 0 {
		t.Fatalf("holders %v of %d nodes: want several holders and a node holding nothing", held, nodes)
	}

	// SIGKILL every holder; the devnet only reports the deaths. Then restart each by hand.
	addrs := map[int][]string{}
	for i := range held {
		addrs[i] = addressesOf(t, d.repo(i))
		d.kill(i)
	}
	daemons := newRestarted(t)
	for i := range held {
		daemons.start(d.repo(i))
	}
	for i := range held {
		waitRejoined(t, d.repo(i), nodes-1)
		if got := addressesOf(t, d.repo(i)); !slices.Equal(got, addrs[i]) {
			t.Fatalf("node-%d came back on %v, was on %v", i, got, addrs[i])
		}
	}
	getAndCompare(t, d.repo(getter), capStr, data)
	t.Logf("restarted holders %v; node-%d, which held nothing, got the file", slices.Sorted(maps.Keys(held)), getter)

	removeWithHolderDown(t, d, nodes, ids, daemons)
	killedPutIsCollected(t, d, nodes, daemons)
	stoppedPutRollsBack(t, d, nodes, daemons)
}

// usedOf is the bytes the daemon at dir stores (-1: no answer).
func usedOf(dir string) int64 {
	var id *api.IDResult
	if !askDaemon(dir, func(ctx context.Context, c *api.Client) (err error) { id, err = c.ID(ctx); return err }) {
		return -1
	}
	return id.Used
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// removeWithHolderDown: rm while a holder is SIGKILLed reports the removal pending, the file is
// gone for readers at once, and the holder's shards are deleted once it is restarted.
func removeWithHolderDown(t *testing.T, d *devnetProc, nodes int, ids map[string]int, daemons *restarted) {
	file, _ := writeRandom(t, 1<<20+555, 22)
	lines := strings.Split(strings.TrimSpace(procOK(t, proc(t, d.repo(1), "put", "-q", file)).stdout), "\n")
	capStr := lines[len(lines)-1]
	var st struct {
		Stewards []string `json:"stewards"`
		Segments []struct {
			ShardSize int64 `json:"shard_size"`
			Shards    []struct {
				Holder string `json:"holder"`
			} `json:"shards"`
		} `json:"segments"`
	}
	if err := procOK(t, proc(t, d.repo(2), "stat", "--json", capStr)).decode(&st); err != nil {
		t.Fatal(err)
	}
	steward := map[int]bool{}
	for _, s := range st.Stewards {
		steward[ids[s]] = true
	}
	down := 0
	for _, seg := range st.Segments {
		for _, sh := range seg.Shards {
			if i := ids[sh.Holder]; i != 1 && (down == 0 || !steward[i]) {
				down = i
			}
		}
	}
	if down == 0 {
		t.Fatal("no holder besides the uploader")
	}
	// What the holder stores without this file's shards (a steward keeps its manifest copy).
	var held int64
	for _, seg := range st.Segments {
		for _, sh := range seg.Shards {
			if ids[sh.Holder] == down {
				held += seg.ShardSize
			}
		}
	}
	before := usedOf(d.repo(down)) - held
	d.kill(down)
	other := 1
	for other == down {
		other++
	}
	out := procOK(t, proc(t, d.repo(other), "rm", capStr)).stdout
	if !strings.Contains(out, "removal pending") {
		t.Fatalf("rm with holder node-%d down printed %q, want a pending removal", down, out)
	}
	if r := proc(t, d.repo(other), "get", capStr, "-o", filepath.Join(t.TempDir(), "x")); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		dumpLogs(t, d, nodes, "rm:", "steward", "tombstone", "manifest")
		t.Fatalf("get after rm (holder node-%d down, stewards %v): exit %d, %q; want \"not found\"", down, slices.Sorted(maps.Keys(steward)), r.code, r.stderr)
	}
	daemons.start(d.repo(down))
	waitRejoined(t, d.repo(down), nodes-1)
	waitUntil(t, 40*time.Second, "the returning holder to delete its shards", func() bool {
		u := usedOf(d.repo(down))
		return u >= 0 && u <= before
	})
	t.Logf("rm finished on node-%d (steward: %v) after its restart: %d bytes of shards deleted", down, steward[down], held)
}

// killedPutIsCollected: a put whose daemon is SIGKILLed mid-way leaves shards on other nodes,
// which they collect once the orphan lease (10 s under --fast) runs out.
func killedPutIsCollected(t *testing.T, d *devnetProc, nodes int, daemons *restarted) {
	_, base := startPut(t, d, nodes, 23)
	d.kill(1)
	waitUntil(t, 60*time.Second, "the orphaned shards to be collected", func() bool {
		for i := 2; i <= nodes; i++ {
			if usedOf(d.repo(i)) > base[i] {
				return false
			}
		}
		return true
	})
	daemons.start(d.repo(1))
	waitRejoined(t, d.repo(1), nodes-1)
}

// startPut runs a put of a 48 MiB file on the node at repo in the background and waits until
// its shards are arriving on nodes 2..nodes; it returns the put's process.
func startPut(t *testing.T, d *devnetProc, nodes int, seed uint64) (*exec.Cmd, map[int]int64) {
	t.Helper()
	base := map[int]int64{}
	var total int64
	for i := 2; i <= nodes; i++ {
		base[i] = usedOf(d.repo(i))
		total += base[i]
	}
	file, _ := writeRandom(t, 48<<20, seed)
	self, _ := os.Executable()
	put := exec.Command(self, "--repo", d.repo(1), "put", "-q", file)
	put.Env = append(os.Environ(), asCLI+"=1")
	if err := put.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { put.Process.Kill(); put.Wait() })
	waitUntil(t, 60*time.Second, "shards of the put to reach other nodes", func() bool {
		var sum int64
		for i := 2; i <= nodes; i++ {
			sum += usedOf(d.repo(i))
		}
		return sum > total+4<<20
	})
	return put, base
}

// stoppedPutRollsBack: SIGTERM to the uploading daemon while a client is still sending its file
// (20 MiB of 48, then it stalls); by the time the daemon has exited, its rollback is done, well
// before any orphan lease could run out.
func stoppedPutRollsBack(t *testing.T, d *devnetProc, nodes int, daemons *restarted) {
	base := map[int]int64{}
	var total int64
	for i := 2; i <= nodes; i++ {
		base[i] = usedOf(d.repo(i))
		total += base[i]
	}
	c, err := api.NewClientFromRepo(d.repo(1))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = pw.Write(bytes.Repeat([]byte{0x5c}, 20<<20)) }() // a segment and more, then nothing
	putErr := make(chan error, 1)
	go func() {
		_, err := c.Put(context.Background(), pr, 48<<20, api.PutOptions{Name: "stalled.bin"})
		putErr <- err
	}()
	waitUntil(t, 60*time.Second, "shards of the put to reach other nodes", func() bool {
		var sum int64
		for i := 2; i <= nodes; i++ {
			sum += usedOf(d.repo(i))
		}
		return sum > total+4<<20
	})
	pid := d.pid(1)
	stopped := time.Now()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the uploading daemon to exit", func() bool { return syscall.Kill(pid, 0) != nil })
	exited := time.Since(stopped)
	pw.CloseWithError(io.ErrClosedPipe) // the client gives up its stalled body
	select {
	case err := <-putErr:
		if err == nil {
			t.Fatal("a put whose body never finished succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the client's put did not return after the daemon exited")
	}
	for i := 2; i <= nodes; i++ {
		if u := usedOf(d.repo(i)); u > base[i] {
			t.Fatalf("node-%d holds %d bytes more after the uploader stopped (in %s): the rollback did not finish before exit", i, u-base[i], exited)
		}
	}
	t.Logf("SIGTERM mid-put: daemon exited in %s with every shard taken back", exited.Round(time.Millisecond))
	daemons.start(d.repo(1))
	waitRejoined(t, d.repo(1), nodes-1)
}

// dumpLogs logs the lines of every node's daemon logs that contain one of words, to tell after a
// failure what the nodes did.
func dumpLogs(t *testing.T, d *devnetProc, nodes int, words ...string) {
	t.Helper()
	for i := 1; i <= nodes; i++ {
		for _, name := range []string{"daemon.log", "restarted.log"} {
			b, err := os.ReadFile(filepath.Join(d.repo(i), name))
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(b), "\n") {
				for _, w := range words {
					if strings.Contains(line, w) {
						t.Logf("node-%d %s: %s", i, name, line)
						break
					}
				}
			}
		}
	}
}
