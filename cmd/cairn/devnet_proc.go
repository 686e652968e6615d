package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"
)

// child is one daemon process of a devnet.
type child struct {
	name     string // "node-3"
	repo     string
	log      string
	cmd      *exec.Cmd
	done     chan struct{} // closed once the process has exited; err is set then
	err      error
	stopping atomic.Bool // set before devnet signals it, so the exit is not reported as a death
}

// spawn starts "exe daemon --repo DIR" with output to DIR/daemon.log: the repo's config holds
// everything it needs, so the same command restarts it by hand. Each child's exit is sent once
// to exits unless devnet stopped it.
func spawn(exe, repoPath string, exits chan<- *child) (*child, error) {
	c := &child{
		name: filepath.Base(repoPath),
		repo: repoPath,
		log:  filepath.Join(repoPath, "daemon.log"),
		done: make(chan struct{}),
	}
	logf, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	c.cmd = exec.Command(exe, "daemon", "--repo", repoPath)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	c.cmd.SysProcAttr = childSysProcAttr()
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", c.name, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
		if !c.stopping.Load() {
			exits <- c
		}
	}()
	return c, nil
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// deathMessage says which node died and where to look.
func (c *child) deathMessage() string {
	msg := fmt.Sprintf("%s (pid %d) exited: %v; log: %s", c.name, c.cmd.Process.Pid, c.err, c.log)
	if tail := tailFile(c.log, 8); tail != "" {
		msg += "\n" + tail
	}
	return msg
}

// stopChildren SIGTERMs every live child, waits up to grace, then SIGKILLs the rest.
// It returns how many had to be killed.
func stopChildren(children []*child, grace time.Duration) int {
	var alive []*child
	for _, c := range children {
		if c != nil && !c.exited() {
			c.stopping.Store(true)
			c.cmd.Process.Signal(syscall.SIGTERM)
			alive = append(alive, c)
		}
	}
	timeout := time.After(grace)
	killed := 0
	for _, c := range alive {
		select {
		case <-c.done:
			continue
		case <-timeout:
			timeout = closedTimeChan // the deadline has passed for everyone else too
		}
		if c.exited() {
			continue
		}
		c.cmd.Process.Kill()
		<-c.done
		killed++
	}
	return killed
}

var closedTimeChan = func() <-chan time.Time {
	ch := make(chan time.Time)
	close(ch)
	return ch
}()

// tailFile returns the last lines of a log, indented, for error messages.
func tailFile(path string, lines int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const maxTail = 8 << 10
	if st, err := f.Stat(); err == nil && st.Size() > maxTail {
		f.Seek(st.Size()-maxTail, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	parts := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	var out bytes.Buffer
	for _, p := range parts {
		if len(p) > 0 {
			out.WriteString("    | ")
			out.Write(p)
			out.WriteByte('\n')
		}
	}
	return string(bytes.TrimRight(out.Bytes(), "\n"))
}
