package kadcheck

import (
	"fmt"
	"time"

	"github.com/cairn-storage/cairn/sim/kad"
)

// Config sets a validation run; start from DefaultConfig.
type Config struct {
	Nodes   int    // real kad-dht nodes on the mocknet
	K       int    // bucket size (kad-dht BucketSize)
	Alpha   int    // requests in flight (Concurrency)
	Beta    int    // resiliency (Resiliency)
	Lookups int    // lookups compared, each from a random node to a random key
	Seed    uint64 // fixes peer identities, join order, keys, initiators, ideal tables

	// Bootstrappers is how many nodes start connected to each other; every
	// other node joins through two of them.
	Bootstrappers int
	// Workers is how many nodes run their second routing-table refresh at once.
	Workers int
	// LinkLatency is the one-way delay of every mocknet link during the
	// measured lookups (tables are built at zero latency, which is faster).
	// Equal delays are the model's unit latency; at zero, the order in which
	// answers come back is the CPU scheduler's.
	LinkLatency time.Duration
}

// DefaultConfig is the full-size run: 300 nodes with kad-dht's K, α and β.
func DefaultConfig() Config {
	return Config{Nodes: 300, K: kad.DefaultK, Alpha: kad.DefaultAlpha, Beta: kad.DefaultBeta,
		Lookups: 500, Seed: 1, Bootstrappers: 4, Workers: 2, LinkLatency: 10 * time.Millisecond}
}

// MaxNodes bounds Config.Nodes: every node is a real libp2p host in this
// process.
const MaxNodes = 2000

func (c Config) validate() error {
	switch {
	case c.Nodes < 2 || c.Nodes > MaxNodes:
		return fmt.Errorf("kadcheck: Nodes %d, want 2..%d", c.Nodes, MaxNodes)
	case c.K < 1 || c.K > 255:
		return fmt.Errorf("kadcheck: K %d, want 1..255", c.K)
	case c.Alpha < 1:
		return fmt.Errorf("kadcheck: Alpha %d, want at least 1", c.Alpha)
	case c.Beta < 1 || c.Beta > c.K:
		return fmt.Errorf("kadcheck: Beta %d, want 1..K (%d)", c.Beta, c.K)
	case c.Lookups < 1:
		return fmt.Errorf("kadcheck: Lookups %d, want at least 1", c.Lookups)
	case c.Bootstrappers < 1 || c.Bootstrappers > c.Nodes:
		return fmt.Errorf("kadcheck: Bootstrappers %d, want 1..Nodes (%d)", c.Bootstrappers, c.Nodes)
	case c.Workers < 1:
		return fmt.Errorf("kadcheck: Workers %d, want at least 1", c.Workers)
	case c.LinkLatency < 0 || c.LinkLatency > time.Second:
		return fmt.Errorf("kadcheck: LinkLatency %v, want 0..1s", c.LinkLatency)
	}
	return nil
}
