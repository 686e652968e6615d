package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	readyTimeout = 120 * time.Second // devnet start until "ready"
	devnetGrace  = 15 * time.Second  // SIGTERM to devnet until SIGKILL of its group
	logTailLines = 15
)

type devnetProc struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // valid once exited is closed
	logPath string
}

// startDevnet runs `cairn devnet` in its own process group, logging its stderr and stdout to
// devnet.log, and waits for it to print "ready".
func (b *bench) startDevnet(ctx context.Context) error {
	o := b.opts
	args := []string{"devnet", "--nodes", strconv.Itoa(o.nodes), "--root", b.root}
	if o.k > 0 {
		args = append(args, "--k", strconv.Itoa(o.k))
	}
	if o.n > 0 {
		args = append(args, "--n", strconv.Itoa(o.n))
	}
	args = append(args, o.devnetArgs...)
	logPath := filepath.Join(b.work, "devnet.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(b.exe, args...) // not CommandContext: cleanup stops it gracefully
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return err
	}
	b.logf("starting devnet: cairn %s", strings.Join(args, " "))
	t := time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start devnet: %w", err)
	}
	dn := &devnetProc{cmd: cmd, exited: make(chan struct{}), logPath: logPath}
	b.dn = dn
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		readySeen := false
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			fmt.Fprintf(logFile, "[stdout] %s\n", line)
			if line == "ready" && !readySeen {
				readySeen = true
				close(ready)
			}
		}
		io.Copy(io.Discard, stdout)
		dn.waitErr = cmd.Wait() // only after the pipe is drained
		logFile.Close()
		close(dn.exited)
	}()
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case <-ready:
		b.logf("devnet ready in %.1f s", time.Since(t).Seconds())
		return nil
	case <-dn.exited:
		return fmt.Errorf("devnet exited before it was ready (%v); its log:\n%s", dn.waitErr, tailFile(logPath))
	case <-timer.C:
		return fmt.Errorf("devnet not ready within %s; its log:\n%s", readyTimeout, tailFile(logPath))
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// readDaemons reads every daemon's pid and its idle VmRSS (the baseline, before any put).
func (b *bench) readDaemons() ([]nodeMem, error) {
	b.pids = map[int]int{}
	nodes := make([]nodeMem, 0, b.opts.nodes)
	for i := 1; i <= b.opts.nodes; i++ {
		path := filepath.Join(b.nodeDir(i), "daemon.pid")
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

// stopDevnet asks the devnet to stop its daemons (SIGTERM) and kills its whole process group if
// it takes longer than devnetGrace.
func (b *bench) stopDevnet() {
	dn := b.dn
	if dn == nil || isClosed(dn.exited) {
		return
	}
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

// tailFile returns the last logTailLines lines of a log (read from its last 16 KiB), indented
// for quoting in an error; "" if it cannot be read.
func tailFile(path string) string {
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
	if len(parts) > logTailLines {
		parts = parts[len(parts)-logTailLines:]
	}
	for i, p := range parts {
		parts[i] = "    | " + p
	}
	return strings.Join(parts, "\n")
}
