package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// oneRun is round i: put the input on node up, get it back on node down into out and verify it,
// then rm it so the next round starts from the same state. It fills s from put's report.
func (b *bench) oneRun(ctx context.Context, i, up, down int, out string, s *setup) (runResult, error) {
	r := runResult{Run: i}
	total := b.opts.runs

	cpu0 := b.daemonsCPU()
	p, err := b.cairn(ctx, up, "put", "--json", b.input)
	cpu1 := b.daemonsCPU()
	if err != nil {
		return r, b.cliError(ctx, "put", up, p, err)
	}
	var put struct {
		Cap      string `json:"cap"`
		Size     int64  `json:"size"`
		K        int    `json:"k"`
		N        int    `json:"n"`
		Segments int    `json:"segments"`
	}
	if err := json.Unmarshal(p.stdout, &put); err != nil || put.Cap == "" {
		put.Cap = lastLine(p.stdout) // older binaries: the capability is the last stdout line
		if !strings.HasPrefix(put.Cap, "cairn:") {
			return r, fmt.Errorf("put printed no capability; stdout:\n%s", p.stdout)
		}
	}
	if put.Size != 0 && put.Size != b.opts.size {
		return r, fmt.Errorf("put reports %d bytes stored, the input has %d", put.Size, b.opts.size)
	}
	if put.K > 0 {
		s.K, s.N, s.Segments = put.K, put.N, put.Segments
	}
	r.PutSeconds, r.PutMBps, r.PutRSSKiB = p.wall.Seconds(), b.mbps(p), p.maxRSS
	r.PutCPUPerGB = b.cpuPerGB(cpu1 - cpu0 + p.cpu)
	b.logf("run %d/%d: put on node-%d: %.2f s, %.1f MB/s, %.2f CPU s/GB, CLI peak RSS %s", i, total, up,
		r.PutSeconds, r.PutMBps, r.PutCPUPerGB, kibMiB(r.PutRSSKiB))

	os.Remove(out)
	cpu0 = b.daemonsCPU()
	g, err := b.cairn(ctx, down, "get", put.Cap, "-o", out)
	cpu1 = b.daemonsCPU()
	if err != nil {
		return r, b.cliError(ctx, "get", down, g, err)
	}
	r.GetSeconds, r.GetMBps, r.GetRSSKiB = g.wall.Seconds(), b.mbps(g), g.maxRSS
	r.GetCPUPerGB = b.cpuPerGB(cpu1 - cpu0 + g.cpu)
	if err := b.verify(ctx, out); err != nil {
		return r, err
	}
	r.Verified = true
	b.logf("run %d/%d: get on node-%d: %.2f s, %.1f MB/s, %.2f CPU s/GB, CLI peak RSS %s; sha256 matches", i, total, down,
		r.GetSeconds, r.GetMBps, r.GetCPUPerGB, kibMiB(r.GetRSSKiB))
	if err := os.Remove(out); err != nil {
		return r, err
	}

	// A failed rm only skews later rounds (more stored data), so it is a warning, not a failure.
	rm, err := b.cairn(ctx, up, "rm", "--json", put.Cap)
	if err != nil {
		if ctx.Err() != nil {
			return r, fmt.Errorf("rm: %w", err)
		}
		b.logf("run %d/%d: warning: rm failed: %v: %s", i, total, err, oneLine(rm.stderr))
		r.RmFailed = -1
		return r, nil
	}
	r.RmSeconds = rm.wall.Seconds()
	var rmRes struct {
		Deleted int `json:"shards_deleted"`
		Failed  int `json:"shards_failed"`
	}
	if json.Unmarshal(rm.stdout, &rmRes) == nil {
		r.RmShardsDel, r.RmFailed = rmRes.Deleted, rmRes.Failed
	}
	return r, nil
}

// cliError explains a failed CLI command with its own message and the daemon log's tail.
func (b *bench) cliError(ctx context.Context, what string, node int, p procResult, err error) error {
	if ctx.Err() != nil { // we stopped it: its own complaint is noise
		return fmt.Errorf("%s on node-%d stopped after %.1f s", what, node, p.wall.Seconds())
	}
	msg := fmt.Sprintf("%s on node-%d failed (%v)", what, node, err)
	if s := strings.TrimSpace(string(p.stderr)); s != "" {
		msg += ": " + s
	}
	logPath := filepath.Join(b.nodeDir(node), "daemon.log")
	if tail := tailFile(logPath); tail != "" {
		msg += fmt.Sprintf("\nlast lines of %s:\n%s", logPath, tail)
	}
	if !b.opts.keep {
		msg += "\n(rerun with -keep to inspect the repos and logs)"
	}
	return errors.New(msg)
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func oneLine(b []byte) string {
	return strings.Join(strings.Fields(string(b)), " ")
}
