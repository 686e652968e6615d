// Command cairn-bench measures put/get throughput and peak memory over a loopback devnet:
//
//	go run ./cmd/cairn-bench -nodes 10 -size 256MiB -runs 3 [-cairn PATH] [-k 4 -n 8] [-root DIR] [-keep] [-json]
//
// It builds ./cmd/cairn (unless -cairn), writes a -size file of seeded pseudo-random bytes, starts
// `cairn devnet` and, per run, times `put` on node-1 and `get` on node-(N/2+2) as wall-clock CLI
// process lifetimes (MB/s = 10^6 bytes/s), checks the download's SHA-256, then `rm`s the file.
// Memory: peak RSS of each CLI process (rusage), each daemon's VmHWM after all runs (uploader,
// downloader, max/median of the other holders) and holders' idle VmRSS before the first put.
// The devnet is always stopped and temp dirs removed (unless -keep), also on Ctrl-C, error or
// -timeout; any failed put/get or byte mismatch exits 1. -json prints JSON (table on stderr).
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/cairn-storage/cairn/node/config"
)

const (
	readyTimeout   = 120 * time.Second // devnet start until "ready"
	devnetGrace    = 15 * time.Second  // SIGTERM to devnet until SIGKILL of its group
	cliGrace       = 10 * time.Second  // SIGTERM to a CLI child until SIGKILL
	chunkSize      = 1 << 20           // input generation and verification buffer
	mb             = 1e6               // throughput unit: MB = 10^6 bytes
	logTailLines   = 15
	exitFailure    = 1
	exitUsage      = 2
	exitSignalBase = 128
)

type options struct {
	nodes   int
	sizeArg string
	size    int64
	runs    int
	cairn   string
	k, n    int
	root    string
	keep    bool
	json    bool
	timeout time.Duration
	seed    uint64
	note    string // why k/n were chosen for the user
}

func main() {
	os.Exit(run())
}

func run() int {
	opts, err := parseFlags()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cairn-bench: %v\n", err)
		return exitUsage
	}
	if !platformSupported {
		fmt.Fprintf(os.Stderr, "cairn-bench: %s is not supported (needs Unix process groups and rusage)\n", runtime.GOOS)
		return exitFailure
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var gotSignal atomic.Int32
	go func() {
		s := <-sigs
		if ss, ok := s.(syscall.Signal); ok {
			gotSignal.Store(int32(ss))
		}
		fmt.Fprintf(os.Stderr, "\ncairn-bench: %v: stopping (again to quit at once, without cleanup)\n", s)
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		name := s.String()
		switch s {
		case os.Interrupt:
			name = "SIGINT"
		case syscall.SIGTERM:
			name = "SIGTERM"
		}
		cancel(fmt.Errorf("interrupted by %s", name))
	}()
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, opts.timeout,
		fmt.Errorf("timed out after %s (raise -timeout)", opts.timeout))
	defer cancelTimeout()

	b := &bench{opts: opts, log: os.Stderr}
	res, err := b.run(ctx)
	b.cleanup()
	signal.Stop(sigs)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%v)", cause, err)
		}
		fmt.Fprintf(os.Stderr, "cairn-bench: FAIL: %v\n", err)
		if sig := gotSignal.Load(); sig != 0 {
			return exitSignalBase + int(sig)
		}
		return exitFailure
	}
	if opts.json {
		printHuman(os.Stderr, res)
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(os.Stderr, "cairn-bench: write JSON: %v\n", err)
			return exitFailure
		}
	} else {
		printHuman(os.Stdout, res)
	}
	return 0
}

func parseFlags() (options, error) {
	var o options
	fs := flag.NewFlagSet("cairn-bench", flag.ContinueOnError)
	fs.IntVar(&o.nodes, "nodes", 10, "devnet size (number of daemons)")
	fs.StringVar(&o.sizeArg, "size", "256MiB", "input file size: bytes, or with a unit (KB, MB, GB = 10^3.., KiB, MiB, GiB = 2^10..)")
	fs.IntVar(&o.runs, "runs", 3, "put/get rounds")
	fs.StringVar(&o.cairn, "cairn", "", "cairn binary to use (default: go build ./cmd/cairn into a temp dir)")
	fs.IntVar(&o.k, "k", 0, "shards needed per segment, passed to devnet --k (default: node config default)")
	fs.IntVar(&o.n, "n", 0, "shards stored per segment, passed to devnet --n (default: node config default)")
	fs.StringVar(&o.root, "root", "", "devnet root: must be missing or empty (default: a new temp dir)")
	fs.BoolVar(&o.keep, "keep", false, "keep the devnet root and work dir (repos, daemon logs, input file)")
	fs.BoolVar(&o.json, "json", false, "print results as a JSON object on stdout (the table goes to stderr)")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "abort (cleanly) after this long overall")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the input file's pseudo-random bytes (ChaCha8)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./cmd/cairn-bench [flags]\n\n"+
			"Benchmarks cairn put/get throughput and peak memory over a loopback devnet.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (all options are flags; see -h)", fs.Arg(0))
	}
	size, err := parseSize(o.sizeArg)
	if err != nil {
		return o, fmt.Errorf("-size %q: %v", o.sizeArg, err)
	}
	o.size = size
	def := config.Default().Put
	if o.k == 0 && o.n == 0 && o.nodes < def.N && o.nodes >= 3 {
		// A small network cannot take the default n shards per segment: keep about the default
		// redundancy ratio with n = nodes, so a quick "-nodes 5" run works without -k/-n.
		// k stays >= 2: with k=1 every parity shard equals the data shard, which puts reject
		// ("shard 1 duplicates shard 0").
		o.n, o.k = o.nodes, max(2, o.nodes*def.K/def.N)
		o.note = fmt.Sprintf("-nodes %d < default n=%d: using k=%d n=%d (pass -k/-n to choose)", o.nodes, def.N, o.k, o.n)
	}
	k, n := cmpOr(o.k, def.K), cmpOr(o.n, def.N)
	switch {
	case o.nodes < 2 || o.nodes > 250:
		return o, fmt.Errorf("-nodes %d: must be between 2 and 250 (each segment needs n >= 2 distinct nodes)", o.nodes)
	case o.runs < 1:
		return o, fmt.Errorf("-runs %d: must be at least 1", o.runs)
	case o.size < 1:
		return o, errors.New("-size must be at least 1 byte")
	case o.k < 0 || o.n < 0:
		return o, errors.New("-k and -n must be positive")
	case k >= n || n > 255:
		return o, fmt.Errorf("k=%d n=%d: need 1 <= k < n <= 255", k, n)
	case o.nodes < n:
		return o, fmt.Errorf("-nodes %d is fewer than n=%d shards per segment, so every put would fail "+
			"with too_few_nodes; use -nodes >= %d or a smaller -n (and -k)", o.nodes, n, n)
	case o.timeout <= 0:
		return o, errors.New("-timeout must be positive")
	}
	return o, nil
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// parseSize accepts "268435456", "256MiB", "256 MiB", "1.5GB", "16m" (single letters are binary).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, errors.New("want a number of bytes, optionally with a unit such as MiB or MB")
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit %q (use B, KB, MB, GB, KiB, MiB, GiB)", unit)
	}
	bytes := v * mult
	if bytes > math.MaxInt64/2 {
		return 0, errors.New("too large")
	}
	return int64(math.Round(bytes)), nil
}

// ---- results ----

type result struct {
	Command    string       `json:"command"`
	Args       []string     `json:"args"`
	Dir        string       `json:"working_dir"`
	Started    time.Time    `json:"started"`
	Machine    machine      `json:"machine"`
	Setup      setup        `json:"setup"`
	Units      string       `json:"units"`
	Runs       []runResult  `json:"runs"`
	Summary    summary      `json:"summary"`
	Daemons    daemonReport `json:"daemons"`
	Notes      []string     `json:"notes,omitempty"`
	Warnings   []string     `json:"warnings,omitempty"`
	TotalSecs  float64      `json:"total_seconds"`
	SetupSecs  float64      `json:"setup_seconds"`
	DevnetRoot string       `json:"devnet_root"`
	WorkDir    string       `json:"work_dir"`
	Kept       bool         `json:"kept"` // -keep: both dirs are still there
}

type machine struct {
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	CPUs        int    `json:"cpus"`
	CPUModel    string `json:"cpu_model"`
	MemTotalKiB int64  `json:"mem_total_kib,omitempty"`
	Kernel      string `json:"kernel,omitempty"`
	GoVersion   string `json:"go_version"`
	CairnGo     string `json:"cairn_go_version,omitempty"`
	CairnRev    string `json:"cairn_revision,omitempty"`
	CairnBinary string `json:"cairn_binary"`
	CairnBuilt  bool   `json:"cairn_built_by_bench"`
}

type setup struct {
	Nodes      int    `json:"nodes"`
	SizeBytes  int64  `json:"size_bytes"`
	Runs       int    `json:"runs"`
	K          int    `json:"k"`
	N          int    `json:"n"`
	Segments   int    `json:"segments"`
	Seed       uint64 `json:"seed"`
	InputSHA   string `json:"input_sha256"`
	Uploader   int    `json:"uploader_node"`
	Downloader int    `json:"downloader_node"`
}

type runResult struct {
	Run         int     `json:"run"`
	PutSeconds  float64 `json:"put_seconds"`
	PutMBps     float64 `json:"put_mb_per_s"`
	PutRSSKiB   int64   `json:"put_cli_maxrss_kib"`
	GetSeconds  float64 `json:"get_seconds"`
	GetMBps     float64 `json:"get_mb_per_s"`
	GetRSSKiB   int64   `json:"get_cli_maxrss_kib"`
	Verified    bool    `json:"verified"`
	RmSeconds   float64 `json:"rm_seconds"`
	RmShardsDel int     `json:"rm_shards_deleted"`
	RmFailed    int     `json:"rm_shards_failed"`
	Cap         string  `json:"-"`
}

type stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

type summary struct {
	PutSeconds stat `json:"put_seconds"`
	PutMBps    stat `json:"put_mb_per_s"`
	PutRSSKiB  stat `json:"put_cli_maxrss_kib"`
	GetSeconds stat `json:"get_seconds"`
	GetMBps    stat `json:"get_mb_per_s"`
	GetRSSKiB  stat `json:"get_cli_maxrss_kib"`
}

type nodeMem struct {
	Node       int   `json:"node"`
	PID        int   `json:"pid"`
	IdleRSSKiB int64 `json:"idle_vmrss_kib"` // before the first put; -1 if unreadable
	HWMKiB     int64 `json:"vmhwm_kib"`      // after all runs; -1 if unreadable
}

type daemonReport struct {
	Uploader        nodeMem   `json:"uploader"`
	Downloader      nodeMem   `json:"downloader"`
	HolderCount     int       `json:"holder_count"`
	HolderHWMMax    int64     `json:"holder_vmhwm_max_kib"`
	HolderHWMMaxAt  int       `json:"holder_vmhwm_max_node"`
	HolderHWMMedian float64   `json:"holder_vmhwm_median_kib"`
	IdleRSSMedian   float64   `json:"idle_holder_vmrss_median_kib"`
	IdleRSSMax      int64     `json:"idle_holder_vmrss_max_kib"`
	Nodes           []nodeMem `json:"nodes"`
}

// ---- the benchmark ----

type bench struct {
	opts      options
	log       io.Writer
	work      string // temp dir: cairn binary, input, output, devnet.log
	root      string // devnet root
	rootMine  bool   // we created root (remove it) rather than only its contents
	exe       string
	input     string
	inputHash []byte
	dn        *devnetProc
	pids      map[int]int // node index -> daemon pid
}

type devnetProc struct {
	cmd     *exec.Cmd
	ready   chan struct{}
	exited  chan struct{}
	waitErr error
	logPath string
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "cairn-bench: "+format+"\n", args...)
}

func (b *bench) run(ctx context.Context) (*result, error) {
	o := b.opts
	start := time.Now()
	wd, _ := os.Getwd()
	res := &result{
		Command: commandLine(), Args: os.Args[1:], Dir: wd, Started: start.UTC().Truncate(time.Second),
		Units: "MB = 10^6 bytes; MB/s = size / wall-clock seconds of the CLI process; RSS in KiB (JSON) or MiB (table)",
	}
	res.Machine = describeMachine()
	if o.note != "" {
		res.Notes = append(res.Notes, o.note)
		b.logf("%s", o.note)
	}

	var err error
	if b.work, err = os.MkdirTemp("", "cairn-bench-"); err != nil {
		return nil, err
	}
	if err := b.prepareRoot(); err != nil {
		return nil, err
	}
	res.DevnetRoot, res.WorkDir, res.Kept = b.root, b.work, b.opts.keep
	b.logf("work dir %s, devnet root %s", b.work, b.root)

	if err := b.prepareBinary(ctx, &res.Machine); err != nil {
		return nil, err
	}
	if err := b.writeInput(ctx); err != nil {
		return nil, err
	}

	up, down := 1, min(o.nodes/2+2, o.nodes) // never the uploader: nodes >= 2
	res.Setup = setup{
		Nodes: o.nodes, SizeBytes: o.size, Runs: o.runs, Seed: o.seed,
		InputSHA: hex.EncodeToString(b.inputHash), Uploader: up, Downloader: down,
	}

	if err := b.startDevnet(ctx); err != nil {
		return nil, err
	}
	nodes, err := b.readDaemons()
	if err != nil {
		return nil, err
	}
	res.SetupSecs = time.Since(start).Seconds()

	out := filepath.Join(b.work, "output.bin")
	for i := 1; i <= o.runs; i++ {
		r, err := b.oneRun(ctx, i, up, down, out, &res.Setup)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i, err)
		}
		if r.RmFailed > 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("run %d: rm could not delete %d shards", i, r.RmFailed))
		}
		res.Runs = append(res.Runs, r)
	}

	for i := range nodes {
		nodes[i].HWMKiB = procStatusKiB(nodes[i].PID, "VmHWM")
		if nodes[i].HWMKiB < 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("node-%d (pid %d): VmHWM unreadable; did it exit?", nodes[i].Node, nodes[i].PID))
		}
	}
	res.Daemons = daemonSummary(nodes, up, down)
	res.Summary = summarize(res.Runs)
	if b.dn != nil && isClosed(b.dn.exited) {
		return nil, fmt.Errorf("the devnet exited during the benchmark (%v); see %s", b.dn.waitErr, b.dn.logPath)
	}
	res.TotalSecs = time.Since(start).Seconds()
	return res, nil
}

// prepareRoot creates the devnet root, refusing a non-empty -root so that a previous network's
// repos are neither reused (unreproducible) nor deleted afterwards.
func (b *bench) prepareRoot() error {
	if b.opts.root == "" {
		dir, err := os.MkdirTemp("", "cairn-bench-net-")
		if err != nil {
			return err
		}
		b.root, b.rootMine = dir, true
		return nil
	}
	root, err := filepath.Abs(b.opts.root)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(root)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(root, 0o755); err != nil {
			return err
		}
		b.root, b.rootMine = root, true
		return nil
	case err != nil:
		return fmt.Errorf("-root: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("-root %s is not empty; give a new or empty directory (the bench deletes what it creates there)", root)
	}
	b.root = root
	return nil
}

func (b *bench) prepareBinary(ctx context.Context, m *machine) error {
	if b.opts.cairn != "" {
		exe, err := filepath.Abs(b.opts.cairn)
		if err != nil {
			return err
		}
		if st, err := os.Stat(exe); err != nil || st.IsDir() {
			return fmt.Errorf("-cairn %s: not an executable file", b.opts.cairn)
		}
		b.exe = exe
	} else {
		gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
		mod := strings.TrimSpace(string(gomod))
		if err != nil || mod == "" || mod == os.DevNull {
			return errors.New("cannot find the cairn module (run from inside the repo, or pass -cairn PATH)")
		}
		b.exe = filepath.Join(b.work, "cairn")
		b.logf("building cairn: go build -o %s ./cmd/cairn", b.exe)
		t := time.Now()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.exe, "./cmd/cairn")
		cmd.Dir = filepath.Dir(mod)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/cairn: %v\n%s", err, bytes.TrimSpace(out))
		}
		b.logf("built in %.1f s", time.Since(t).Seconds())
		m.CairnBuilt = true
		m.CairnRev = gitRevision(ctx, cmd.Dir) // used when the build was not VCS-stamped
	}
	m.CairnBinary = b.exe
	if bi, err := buildinfo.ReadFile(b.exe); err == nil {
		m.CairnGo = bi.GoVersion
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" && modified == "true" {
			rev += "+dirty"
		}
		if rev != "" {
			m.CairnRev = rev
		}
	}
	return nil
}

// gitRevision describes the source tree's commit, "+dirty" if tracked files changed; "" if unknown.
func gitRevision(ctx context.Context, dir string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		rev += "+dirty"
	}
	return rev
}

// writeInput writes -size bytes of ChaCha8 output in chunks, hashing as it goes.
func (b *bench) writeInput(ctx context.Context) error {
	b.input = filepath.Join(b.work, "input.bin")
	b.logf("writing %s input (%d bytes, seed %d)", humanBytes(b.opts.size), b.opts.size, b.opts.seed)
	f, err := os.OpenFile(b.input, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], b.opts.seed)
	rng := rand.NewChaCha8(seed)
	h := sha256.New()
	buf := make([]byte, chunkSize)
	for left := b.opts.size; left > 0; {
		if err := ctx.Err(); err != nil {
			f.Close()
			return err
		}
		p := buf[:min(int64(len(buf)), left)]
		rng.Read(p)
		h.Write(p)
		if _, err := f.Write(p); err != nil {
			f.Close()
			return fmt.Errorf("write input: %w", err)
		}
		left -= int64(len(p))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write input: %w", err)
	}
	b.inputHash = h.Sum(nil)
	return nil
}

func (b *bench) startDevnet(ctx context.Context) error {
	o := b.opts
	args := []string{"devnet", "--nodes", strconv.Itoa(o.nodes), "--root", b.root}
	if o.k > 0 {
		args = append(args, "--k", strconv.Itoa(o.k))
	}
	if o.n > 0 {
		args = append(args, "--n", strconv.Itoa(o.n))
	}
	logPath := filepath.Join(b.work, "devnet.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(b.exe, args...)
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return err
	}
	b.logf("starting devnet: cairn %s", strings.Join(args, " "))
	t := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start devnet: %w", err)
	}
	dn := &devnetProc{cmd: cmd, ready: make(chan struct{}), exited: make(chan struct{}), logPath: logPath}
	b.dn = dn
	go func() {
		sc := bufio.NewScanner(stdout)
		readySeen := false
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			fmt.Fprintf(logf, "[stdout] %s\n", line)
			if line == "ready" && !readySeen {
				readySeen = true
				close(dn.ready)
			}
		}
		io.Copy(io.Discard, stdout)
		dn.waitErr = cmd.Wait() // only after the pipe is drained
		logf.Close()
		close(dn.exited)
	}()
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case <-dn.ready:
		b.logf("devnet ready in %.1f s", time.Since(t).Seconds())
		return nil
	case <-dn.exited:
		return fmt.Errorf("devnet exited before it was ready (%v); its log:\n%s", dn.waitErr, tailFile(logPath, logTailLines))
	case <-timer.C:
		return fmt.Errorf("devnet not ready within %s; its log:\n%s", readyTimeout, tailFile(logPath, logTailLines))
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// readDaemons reads every daemon's pid and its idle VmRSS (the baseline, before any put).
func (b *bench) readDaemons() ([]nodeMem, error) {
	b.pids = map[int]int{}
	nodes := make([]nodeMem, 0, b.opts.nodes)
	for i := 1; i <= b.opts.nodes; i++ {
		path := filepath.Join(b.root, fmt.Sprintf("node-%d", i), "daemon.pid")
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("node-%d: %w", i, err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("node-%d: bad pid file %s: %q", i, path, raw)
		}
		b.pids[i] = pid
		nodes = append(nodes, nodeMem{Node: i, PID: pid, IdleRSSKiB: procStatusKiB(pid, "VmRSS"), HWMKiB: -1})
	}
	return nodes, nil
}

func (b *bench) oneRun(ctx context.Context, i, up, down int, out string, s *setup) (runResult, error) {
	r := runResult{Run: i}
	size := float64(b.opts.size)
	total := b.opts.runs

	p, err := b.cairn(ctx, up, "put", "--json", b.input)
	if err != nil {
		return r, b.cliError(ctx, "put", up, p, err)
	}
	var put struct {
		Cap      string `json:"cap"`
		Size     int64  `json:"size"`
		K        int    `json:"k"`
		N        int    `json:"n"`
		Segments int    `json:"segments"`
	}
	if err := json.Unmarshal(p.stdout, &put); err != nil || put.Cap == "" {
		put.Cap = lastLine(p.stdout) // older binaries: the capability is the last stdout line
		if !strings.HasPrefix(put.Cap, "cairn:") {
			return r, fmt.Errorf("put printed no capability; stdout:\n%s", p.stdout)
		}
	}
	if put.Size != 0 && put.Size != b.opts.size {
		return r, fmt.Errorf("put reports %d bytes stored, the input has %d", put.Size, b.opts.size)
	}
	if put.K > 0 {
		s.K, s.N, s.Segments = put.K, put.N, put.Segments
	}
	r.Cap = put.Cap
	r.PutSeconds = p.wall.Seconds()
	r.PutMBps = size / mb / r.PutSeconds
	r.PutRSSKiB = p.maxRSS
	b.logf("run %d/%d: put on node-%d: %.2f s, %.1f MB/s, CLI peak RSS %s", i, total, up,
		r.PutSeconds, r.PutMBps, kibMiB(r.PutRSSKiB))

	os.Remove(out)
	g, err := b.cairn(ctx, down, "get", put.Cap, "-o", out)
	if err != nil {
		return r, b.cliError(ctx, "get", down, g, err)
	}
	r.GetSeconds = g.wall.Seconds()
	r.GetMBps = size / mb / r.GetSeconds
	r.GetRSSKiB = g.maxRSS
	if err := b.verify(ctx, out); err != nil {
		return r, err
	}
	r.Verified = true
	b.logf("run %d/%d: get on node-%d: %.2f s, %.1f MB/s, CLI peak RSS %s; sha256 matches", i, total, down,
		r.GetSeconds, r.GetMBps, kibMiB(r.GetRSSKiB))
	if err := os.Remove(out); err != nil {
		return r, err
	}

	rm, err := b.cairn(ctx, up, "rm", "--json", put.Cap)
	if err != nil {
		if ctx.Err() != nil {
			return r, fmt.Errorf("rm: %w", err)
		}
		b.logf("run %d/%d: warning: rm failed: %v: %s", i, total, err, oneLine(rm.stderr))
		r.RmFailed = -1
		return r, nil
	}
	r.RmSeconds = rm.wall.Seconds()
	var rmRes struct {
		Deleted int `json:"shards_deleted"`
		Failed  int `json:"shards_failed"`
	}
	if json.Unmarshal(rm.stdout, &rmRes) == nil {
		r.RmShardsDel, r.RmFailed = rmRes.Deleted, rmRes.Failed
	}
	return r, nil
}

type procResult struct {
	stdout, stderr []byte
	wall           time.Duration
	maxRSS         int64 // KiB
}

// cairn runs one CLI command against node i's daemon, timing the process from start to exit.
func (b *bench) cairn(ctx context.Context, node int, args ...string) (procResult, error) {
	var res procResult
	repo := filepath.Join(b.root, fmt.Sprintf("node-%d", node))
	cmd := exec.CommandContext(ctx, b.exe, append([]string{"--repo", repo}, args...)...)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = cliGrace
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res.wall = time.Since(start)
	res.stdout, res.stderr = stdout.Bytes(), stderr.Bytes()
	res.maxRSS = maxRSSKiB(cmd.ProcessState)
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return res, err
}

// cliError explains a failed CLI command with its own message and the daemon log's tail.
func (b *bench) cliError(ctx context.Context, what string, node int, p procResult, err error) error {
	if ctx.Err() != nil { // we stopped it: its own complaint is noise
		return fmt.Errorf("%s on node-%d stopped after %.1f s", what, node, p.wall.Seconds())
	}
	msg := fmt.Sprintf("%s on node-%d failed (%v)", what, node, err)
	if s := strings.TrimSpace(string(p.stderr)); s != "" {
		msg += ": " + s
	}
	logPath := filepath.Join(b.root, fmt.Sprintf("node-%d", node), "daemon.log")
	if tail := tailFile(logPath, logTailLines); tail != "" {
		msg += fmt.Sprintf("\nlast lines of %s:\n%s", logPath, tail)
	}
	if !b.opts.keep {
		msg += "\n(rerun with -keep to inspect the repos and logs)"
	}
	return errors.New(msg)
}

// verify compares the download with the input by streaming SHA-256; on a mismatch it finds the
// first differing byte.
func (b *bench) verify(ctx context.Context, out string) error {
	f, err := os.Open(out)
	if err != nil {
		return fmt.Errorf("get succeeded but its output is missing: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, readerCtx{ctx, f}, make([]byte, chunkSize))
	if err != nil {
		return fmt.Errorf("read output: %w", err)
	}
	if n == b.opts.size && bytes.Equal(h.Sum(nil), b.inputHash) {
		return nil
	}
	where := firstDifference(b.input, out)
	return fmt.Errorf("BYTES DIFFER: downloaded %d bytes (input %d), sha256 %x, want %x; %s",
		n, b.opts.size, h.Sum(nil), b.inputHash, where)
}

type readerCtx struct {
	ctx context.Context
	r   io.Reader
}

func (r readerCtx) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, context.Cause(r.ctx)
	}
	return r.r.Read(p)
}

func firstDifference(a, b string) string {
	fa, err := os.Open(a)
	if err != nil {
		return err.Error()
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return err.Error()
	}
	defer fb.Close()
	ba, bb := make([]byte, chunkSize), make([]byte, chunkSize)
	var off int64
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		m := min(na, nb)
		for i := 0; i < m; i++ {
			if ba[i] != bb[i] {
				return fmt.Sprintf("first difference at byte %d", off+int64(i))
			}
		}
		if na != nb {
			return fmt.Sprintf("identical up to byte %d, where the shorter file ends", off+int64(m))
		}
		if ea != nil || eb != nil {
			return "contents compare equal on a second read (the output changed while being checked?)"
		}
		off += int64(m)
	}
}

// cleanup stops the devnet, kills any daemon it left, and removes the temp dirs unless -keep.
// It runs on every exit path, so it uses its own deadlines rather than the run's context.
func (b *bench) cleanup() {
	if dn := b.dn; dn != nil && !isClosed(dn.exited) {
		b.logf("stopping devnet (pid %d)", dn.cmd.Process.Pid)
		dn.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-dn.exited:
		case <-time.After(devnetGrace):
			b.logf("devnet did not stop within %s: killing its process group", devnetGrace)
			killGroup(dn.cmd.Process.Pid, syscall.SIGKILL)
			select {
			case <-dn.exited:
			case <-time.After(5 * time.Second):
				b.logf("devnet (pid %d) still not reaped", dn.cmd.Process.Pid)
			}
		}
	}
	b.killLeftoverDaemons()
	if b.opts.keep {
		b.logf("kept work dir %s and devnet root %s (-keep)", b.work, b.root)
		return
	}
	if b.work != "" {
		os.RemoveAll(b.work)
	}
	if b.root != "" {
		if b.rootMine {
			os.RemoveAll(b.root)
		} else if entries, err := os.ReadDir(b.root); err == nil {
			for _, e := range entries {
				os.RemoveAll(filepath.Join(b.root, e.Name()))
			}
		}
	}
}

// killLeftoverDaemons stops daemons that outlived their devnet (killed devnet without Pdeathsig).
// A pid counts only while its command line still names our devnet root, so a reused pid is
// never touched.
func (b *bench) killLeftoverDaemons() {
	ours := func(pid int) bool {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return err == nil && processExists(pid) && bytes.Contains(cmdline, []byte(b.root))
	}
	var left []int
	for _, pid := range b.pids {
		if ours(pid) {
			left = append(left, pid)
		}
	}
	if len(left) == 0 {
		return
	}
	deadline := time.Now().Add(5 * time.Second) // Pdeathsig may already be stopping them
	for time.Now().Before(deadline) && slices.ContainsFunc(left, ours) {
		time.Sleep(100 * time.Millisecond)
	}
	for _, pid := range left {
		if ours(pid) {
			b.logf("killing leftover daemon pid %d", pid)
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
			}
		}
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// ---- reporting ----

func summarize(runs []runResult) summary {
	col := func(f func(r runResult) float64) stat {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		return stats(v)
	}
	return summary{
		PutSeconds: col(func(r runResult) float64 { return r.PutSeconds }),
		PutMBps:    col(func(r runResult) float64 { return r.PutMBps }),
		PutRSSKiB:  col(func(r runResult) float64 { return float64(r.PutRSSKiB) }),
		GetSeconds: col(func(r runResult) float64 { return r.GetSeconds }),
		GetMBps:    col(func(r runResult) float64 { return r.GetMBps }),
		GetRSSKiB:  col(func(r runResult) float64 { return float64(r.GetRSSKiB) }),
	}
}

func stats(v []float64) stat {
	if len(v) == 0 {
		return stat{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return stat{Median: median(s), Min: s[0], Max: s[len(s)-1]}
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func daemonSummary(nodes []nodeMem, up, down int) daemonReport {
	d := daemonReport{Nodes: nodes, HolderHWMMax: -1, IdleRSSMax: -1}
	var hwm, idle []float64
	for _, n := range nodes {
		if n.Node == up {
			d.Uploader = n
		}
		if n.Node == down {
			d.Downloader = n
		}
		if n.Node == up || n.Node == down {
			continue
		}
		d.HolderCount++
		if n.HWMKiB >= 0 {
			hwm = append(hwm, float64(n.HWMKiB))
			if n.HWMKiB > d.HolderHWMMax {
				d.HolderHWMMax, d.HolderHWMMaxAt = n.HWMKiB, n.Node
			}
		}
		if n.IdleRSSKiB >= 0 {
			idle = append(idle, float64(n.IdleRSSKiB))
			d.IdleRSSMax = max(d.IdleRSSMax, n.IdleRSSKiB)
		}
	}
	slices.Sort(hwm)
	slices.Sort(idle)
	d.HolderHWMMedian, d.IdleRSSMedian = median(hwm), median(idle)
	if len(hwm) == 0 {
		d.HolderHWMMedian = -1
	}
	if len(idle) == 0 {
		d.IdleRSSMedian = -1
	}
	return d
}

func printHuman(w io.Writer, r *result) {
	m, s := r.Machine, r.Setup
	fmt.Fprintf(w, "cairn-bench results\n")
	fmt.Fprintf(w, "  command   %s\n", r.Command)
	fmt.Fprintf(w, "  machine   %s/%s, %d CPUs (runtime.NumCPU), %s", m.OS, m.Arch, m.CPUs, m.CPUModel)
	if m.MemTotalKiB > 0 {
		fmt.Fprintf(w, ", %.1f GiB RAM", float64(m.MemTotalKiB)/(1<<20))
	}
	if m.Kernel != "" {
		fmt.Fprintf(w, ", kernel %s", m.Kernel)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  go        %s (bench)", m.GoVersion)
	if m.CairnGo != "" {
		fmt.Fprintf(w, ", cairn binary %s", m.CairnGo)
	}
	if m.CairnRev != "" {
		fmt.Fprintf(w, " at %s", m.CairnRev)
	}
	if !m.CairnBuilt {
		fmt.Fprintf(w, " (%s)", m.CairnBinary)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  network   %d-node loopback devnet, k=%d n=%d, %s; put on node-%d, get on node-%d\n",
		s.Nodes, s.K, s.N, plural(s.Segments, "segment"), s.Uploader, s.Downloader)
	fmt.Fprintf(w, "  file      %d bytes (%s), ChaCha8 seed %d, sha256 %s\n", s.SizeBytes, humanBytes(s.SizeBytes), s.Seed, s.InputSHA)
	fmt.Fprintf(w, "  units     MB/s = 10^6 bytes / wall-clock seconds of the CLI process; RSS in MiB (2^20 bytes)\n\n")

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tput s\tput MB/s\tput RSS\tget s\tget MB/s\tget RSS\tsha256\t")
	for _, x := range r.Runs {
		fmt.Fprintf(tw, "%d\t%.2f\t%.1f\t%.1f\t%.2f\t%.1f\t%.1f\t%s\t\n", x.Run, x.PutSeconds, x.PutMBps,
			float64(x.PutRSSKiB)/1024, x.GetSeconds, x.GetMBps, float64(x.GetRSSKiB)/1024, okStr(x.Verified))
	}
	sm := r.Summary
	row := func(name string, f func(stat) float64) {
		fmt.Fprintf(tw, "%s\t%.2f\t%.1f\t%.1f\t%.2f\t%.1f\t%.1f\t\t\n", name, f(sm.PutSeconds), f(sm.PutMBps),
			f(sm.PutRSSKiB)/1024, f(sm.GetSeconds), f(sm.GetMBps), f(sm.GetRSSKiB)/1024)
	}
	row("median", func(s stat) float64 { return s.Median })
	row("min", func(s stat) float64 { return s.Min })
	row("max", func(s stat) float64 { return s.Max })
	tw.Flush()

	d := r.Daemons
	fmt.Fprintf(w, "\n  daemon peak RSS (VmHWM after %s, MiB)\n", plural(len(r.Runs), "run"))
	fmt.Fprintf(w, "    uploader    node-%-3d %8s\n", d.Uploader.Node, kibNum(d.Uploader.HWMKiB))
	fmt.Fprintf(w, "    downloader  node-%-3d %8s\n", d.Downloader.Node, kibNum(d.Downloader.HWMKiB))
	if d.HolderCount > 0 {
		fmt.Fprintf(w, "    holders     %d nodes  max %s (node-%d), median %s\n", d.HolderCount,
			kibNum(d.HolderHWMMax), d.HolderHWMMaxAt, kibNum(int64(d.HolderHWMMedian)))
		fmt.Fprintf(w, "  idle baseline (holders' VmRSS before the first put): median %s MiB, max %s MiB\n",
			kibNum(int64(d.IdleRSSMedian)), kibNum(d.IdleRSSMax))
	}
	fmt.Fprintf(w, "  time      %.1f s total, %.1f s of it setup (build, input, devnet start)\n", r.TotalSecs, r.SetupSecs)
	if r.Kept {
		fmt.Fprintf(w, "  kept      devnet root %s, work dir %s\n", r.DevnetRoot, r.WorkDir)
	}
	for _, note := range r.Notes {
		fmt.Fprintf(w, "  note      %s\n", note)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "  warning   %s\n", warn)
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func okStr(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAIL"
}

func kibNum(kib int64) string {
	if kib < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", float64(kib)/1024)
}

func kibMiB(kib int64) string {
	if kib <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}

func humanBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f %s", v, units[i])
	}
	return fmt.Sprintf("%.2f %s", v, units[i])
}

// ---- machine and process facts ----

func describeMachine() machine {
	m := machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		CPUModel: "unknown"}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, key := range []string{"model name", "Hardware", "cpu model", "Processor", "cpu"} {
			if v := procField(raw, key); v != "" {
				m.CPUModel = v
				break
			}
		}
	}
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotalKiB = parseKiB(procField(raw, "MemTotal"))
	}
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(raw))
	}
	return m
}

// procField returns the value of the first "key : value" line of a /proc file.
func procField(raw []byte, key string) string {
	for line := range strings.Lines(string(raw)) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// procStatusKiB reads a "kB" field (VmRSS, VmHWM) of /proc/<pid>/status; -1 if unavailable.
func procStatusKiB(pid int, key string) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	return parseKiB(procField(raw, key))
}

func parseKiB(v string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func commandLine() string {
	parts := []string{"cairn-bench"}
	for _, a := range os.Args[1:] {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?&;|<>(){}[]#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func oneLine(b []byte) string {
	return strings.Join(strings.Fields(string(b)), " ")
}

func tailFile(path string, lines int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const maxTail = 16 << 10
	if st, err := f.Stat(); err == nil && st.Size() > maxTail {
		f.Seek(st.Size()-maxTail, io.SeekStart)
	}
	raw, _ := io.ReadAll(f)
	parts := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	for i, p := range parts {
		parts[i] = "    | " + p
	}
	return strings.Join(parts, "\n")
}
