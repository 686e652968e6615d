//go:build linux || darwin || freebsd

package store

import (
	"math"
	"syscall"
)

// diskFree reports the bytes available to unprivileged writers on the
// filesystem holding dir; errors mean "unknown", treated as unbounded.
func diskFree(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return math.MaxInt64
	}
	n := uint64(st.Bavail) * uint64(st.Bsize)
	if n > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(n)
}
