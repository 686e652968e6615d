//go:build !unix

package transfer

import "time"

// processCPU is not measured here; the benchmark then reports 0 CPU per shard.
func processCPU() time.Duration { return 0 }
