package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	cliGrace = 10 * time.Second // SIGTERM to a CLI child until SIGKILL
	mb       = 1e6              // throughput unit: MB = 10^6 bytes
)

type procResult struct {
	stdout, stderr []byte
	wall           time.Duration
	cpu            time.Duration // the CLI process's user+system time
	maxRSS         int64         // KiB
}

// cairn runs one CLI command against node i's daemon, timing the process from start to exit.
func (b *bench) cairn(ctx context.Context, node int, args ...string) (procResult, error) {
	cmd := exec.CommandContext(ctx, b.exe, append([]string{"--repo", b.nodeDir(node)}, args...)...)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = cliGrace
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := procResult{wall: time.Since(start), stdout: stdout.Bytes(), stderr: stderr.Bytes(),
		maxRSS: maxRSSKiB(cmd.ProcessState)}
	if ps := cmd.ProcessState; ps != nil {
		res.cpu = ps.UserTime() + ps.SystemTime()
	}
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return res, err
}

// mbps is the throughput of moving the input file in p's wall-clock time.
func (b *bench) mbps(p procResult) float64 {
	return float64(b.opts.size) / mb / p.wall.Seconds()
}

// readPeaks records each daemon's VmHWM (peak RSS over its lifetime) and warns for unreadable ones.
func readPeaks(nodes []nodeMem) (warnings []string) {
	for i := range nodes {
		n := &nodes[i]
		if n.HWMKiB = procStatusKiB(n.PID, "VmHWM"); n.HWMKiB < 0 {
			warnings = append(warnings, fmt.Sprintf("node-%d (pid %d): VmHWM unreadable; did it exit?", n.Node, n.PID))
		}
	}
	return warnings
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
