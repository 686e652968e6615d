//go:build unix

package main

import (
	"os"
	"runtime"
	"syscall"
)

const platformSupported = true

// killGroup signals every process in the group led by pid (children run with Setpgid).
func killGroup(pid int, sig syscall.Signal) error {
	return syscall.Kill(-pid, sig)
}

// processExists reports whether pid names a live (or unreaped) process.
func processExists(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// maxRSSKiB is the peak resident set of an exited child, in KiB (ru_maxrss is KiB on Linux and
// the BSDs, bytes on macOS).
func maxRSSKiB(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) / 1024
	}
	return int64(ru.Maxrss)
}
