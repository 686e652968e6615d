package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-storage/cairn/node/config"
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
	// maintenance: "" = the node defaults; "compare" = alternate devnets with audits and
	// repair running every few seconds (--fast) and off (--fast --no-maintenance).
	maintenance string
	// ledger: "compare" = alternate devnets with the ledger on (gossip, receipts,
	// attestations, statements; --fast epochs) and off (--fast --no-ledger).
	ledger     string
	devnetArgs []string // extra `cairn devnet` flags of this bench (set by compare mode)
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
	fs.StringVar(&o.maintenance, "maintenance", "", `"compare": run devnets alternately with audits and repair every few seconds (devnet --fast) and with them off (--fast --no-maintenance), -runs rounds each, 2 devnets per mode, and report both`)
	fs.StringVar(&o.ledger, "ledger", "", `"compare": run devnets alternately with the ledger on (gossip, download receipts, storage attestations, statements; 15 s epochs under devnet --fast) and off (--fast --no-ledger), -runs rounds each, 2 devnets per mode, and report both`)
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
	// Negative -k/-n pass through cmp.Or but are rejected before k and n are used.
	k, n := cmp.Or(o.k, def.K), cmp.Or(o.n, def.N)
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
	case o.maintenance != "" && o.maintenance != "compare":
		return o, fmt.Errorf("-maintenance %q: the only mode is \"compare\"", o.maintenance)
	case o.ledger != "" && o.ledger != "compare":
		return o, fmt.Errorf("-ledger %q: the only mode is \"compare\"", o.ledger)
	case o.ledger != "" && o.maintenance != "":
		return o, errors.New("-ledger compare and -maintenance compare are separate runs: pick one")
	}
	return o, nil
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
