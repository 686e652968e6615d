package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on every
// mainstream architecture; Go has no portable sysconf).
const clockTicks = 100

// daemonsCPU sums the user+system CPU time every daemon has used so far. On a machine whose cores
// all nodes share, throughput is bounded by CPU per byte, and CPU time is far steadier than wall
// time when other work shares the machine: compare it across builds.
func (b *bench) daemonsCPU() time.Duration {
	var sum time.Duration
	for _, pid := range b.pids {
		sum += procCPU(pid)
	}
	return sum
}

// procCPU reads utime+stime of pid from /proc; 0 if unavailable (not Linux, or exited).
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is parenthesised and may contain spaces.
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 { // state is f[0]; utime and stime are fields 14 and 15 of the whole line
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * time.Second / clockTicks
}

// cpuPerGB is CPU seconds spent per 10^9 bytes of the input file.
func (b *bench) cpuPerGB(d time.Duration) float64 {
	return d.Seconds() / (float64(b.opts.size) / 1e9)
}
