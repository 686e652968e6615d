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
	"strconv"
	"strings"
	"syscall"
	"time"
)

// binary returns the cairn executable: path if given, else a fresh build of ./cmd/cairn.
func binary(ctx context.Context, path, work string) (string, error) {
	if path != "" {
		return filepath.Abs(path)
	}
	exe := filepath.Join(work, "cairn")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", exe, "./cmd/cairn")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/cairn (run from the repo root): %v\n%s", err, bytes.TrimSpace(out))
	}
	return exe, nil
}

type devnet struct {
	cmd    *exec.Cmd
	root   string
	exited chan struct{}
}

// startDevnet runs `cairn devnet` in its own process group and waits for "ready".
func startDevnet(ctx context.Context, exe, work string, nodes int) (*devnet, error) {
	root := filepath.Join(work, "devnet")
	// k=2 n=4 so a small devnet has a distinct holder for every shard.
	cmd := exec.Command(exe, "devnet", "--nodes", strconv.Itoa(nodes), "--root", root, "--k", "2", "--n", "4")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	log, err := os.Create(filepath.Join(work, "devnet.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start devnet: %w", err)
	}
	d := &devnet{cmd: cmd, root: root, exited: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		seen := false
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "ready" && !seen {
				seen = true
				close(ready)
			}
		}
		io.Copy(io.Discard, out)
		cmd.Wait()
		log.Close()
		close(d.exited)
	}()
	select {
	case <-ready:
		return d, nil
	case <-d.exited:
		return nil, fmt.Errorf("devnet exited before it was ready; see %s", log.Name())
	case <-time.After(2 * time.Minute):
		d.stop()
		return nil, fmt.Errorf("devnet not ready within 2 minutes")
	case <-ctx.Done():
		d.stop()
		return nil, ctx.Err()
	}
}

func (d *devnet) repo(i int) string { return filepath.Join(d.root, fmt.Sprintf("node-%d", i)) }

// pid reads node i's daemon pid.
func (d *devnet) pid(i int) (int, error) {
	raw, err := os.ReadFile(filepath.Join(d.repo(i), "daemon.pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(raw)))
}

// stop SIGTERMs the devnet and kills its process group if it lingers.
func (d *devnet) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.exited
	}
}

// statusKiB reads one "Key: N kB" field of /proc/pid/status; -1 if unreadable.
func statusKiB(pid int, key string) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}
