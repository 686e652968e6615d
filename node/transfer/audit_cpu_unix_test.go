//go:build unix

package transfer

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) this process has used, both ends of a loopback
// benchmark included.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
