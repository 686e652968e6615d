package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/testnet"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
)

type result struct {
	target   int
	idleKiB  int64
	peakKiB  int64 // highest sampled VmRSS during the flood
	hwmKiB   int64 // VmHWM after the flood
	afterKiB int64 // VmRSS after the flood
	report   testnet.FloodReport
	honest   string
	honestOK bool
	floodFor time.Duration
}

// flood attacks node o.target of dn from o.sybils identities while node-1 puts a file and
// another node gets it, sampling the target's RSS.
func flood(ctx context.Context, o options, exe string, dn *devnet) (*result, error) {
	pid, err := dn.pid(o.target)
	if err != nil {
		return nil, fmt.Errorf("node-%d pid: %w", o.target, err)
	}
	target, err := addrInfo(ctx, dn.repo(o.target))
	if err != nil {
		return nil, err
	}
	res := &result{target: o.target, idleKiB: statusKiB(pid, "VmRSS"), report: testnet.FloodReport{}}
	var advs []*testnet.Adversary
	defer func() {
		for _, a := range advs {
			a.Close()
		}
	}()
	for range o.sybils {
		a, err := testnet.StartAdversary(o.ip)
		if err != nil {
			return nil, err
		}
		advs = append(advs, a)
		a.Fill, a.Trickle = testnet.MaxFill, 0
		if err := a.Connect(ctx, target); err != nil {
			// The target's per-IP connection limit refusing a Sybil is the defence working.
			fmt.Fprintf(os.Stderr, "cairn-flood: sybil %d not connected: %v\n", len(advs), err)
		}
	}
	input := filepath.Join(filepath.Dir(dn.root), "input.bin")
	data := make([]byte, o.size)
	rand.Read(data)
	if err := os.WriteFile(input, data, 0o644); err != nil {
		return nil, err
	}

	fctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	protos := transfer.Protocols()
	start := time.Now()
	for _, a := range advs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep := a.Flood(fctx, target.ID, protos, o.streams, testnet.MaxClaim)
			mu.Lock()
			defer mu.Unlock()
			res.report.Merge(rep)
		}()
	}
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			res.peakKiB = max(res.peakKiB, statusKiB(pid, "VmRSS"))
			select {
			case <-fctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	// The honest transfer starts once the flood is under way.
	time.Sleep(min(2*time.Second, o.duration/4))
	res.honest, res.honestOK = honest(fctx, exe, dn, o, input, data)
	wg.Wait()
	<-sampled
	res.floodFor = time.Since(start)
	res.hwmKiB = statusKiB(pid, "VmHWM")
	res.afterKiB = statusKiB(pid, "VmRSS")
	if !res.honestOK {
		return res, fmt.Errorf("honest put/get during the flood: %s", res.honest)
	}
	return res, nil
}

// honest puts input on node-1 and gets it on the node after the target, through the CLI.
func honest(ctx context.Context, exe string, dn *devnet, o options, input string, data []byte) (string, bool) {
	t := time.Now()
	out, err := exec.CommandContext(ctx, exe, "--repo", dn.repo(1), "put", input).Output()
	if err != nil {
		return fmt.Sprintf("put failed after %.1f s: %v", time.Since(t).Seconds(), stderrOf(err)), false
	}
	capability := ""
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "cairn:") {
			capability = f
		}
	}
	if capability == "" {
		return fmt.Sprintf("put printed no capability: %q", out), false
	}
	put := time.Since(t)
	got := filepath.Join(filepath.Dir(input), "output.bin")
	getter := o.target + 1
	t = time.Now()
	if err := exec.CommandContext(ctx, exe, "--repo", dn.repo(getter), "get", capability, "-o", got).Run(); err != nil {
		return fmt.Sprintf("get on node-%d failed: %v", getter, stderrOf(err)), false
	}
	back, err := os.ReadFile(got)
	if err != nil || !bytes.Equal(back, data) {
		return fmt.Sprintf("get on node-%d returned %d bytes, not the %d put (%v)", getter, len(back), len(data), err), false
	}
	return fmt.Sprintf("put %d bytes on node-1 in %.1f s, got them back identical on node-%d in %.1f s",
		len(data), put.Seconds(), getter, time.Since(t).Seconds()), true
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return strings.TrimSpace(string(ee.Stderr))
	}
	return err.Error()
}

// addrInfo asks the daemon at repo for its peer ID and addresses.
func addrInfo(ctx context.Context, repo string) (peer.AddrInfo, error) {
	c, err := api.NewClientFromRepo(repo)
	if err != nil {
		return peer.AddrInfo{}, err
	}
	id, err := c.ID(ctx)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("id of %s: %w", repo, err)
	}
	p, err := peer.Decode(id.PeerID)
	if err != nil {
		return peer.AddrInfo{}, err
	}
	ai := peer.AddrInfo{ID: p}
	for _, s := range id.Addresses {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			continue
		}
		if _, last := ma.SplitLast(a); last != nil && last.Protocol().Code == ma.P_P2P {
			a, _ = ma.SplitLast(a)
		}
		ai.Addrs = append(ai.Addrs, a)
	}
	return ai, nil
}

func (r *result) print(w io.Writer, o options) {
	fmt.Fprintf(w, "flood: %d identities on %s x %d streams x %d protocols against node-%d for %.1f s\n",
		o.sybils, o.ip, o.streams, len(r.report), r.target, r.floodFor.Seconds())
	fmt.Fprintf(w, "node-%d RSS: idle %s, peak sampled %s, VmHWM %s, after %s\n",
		r.target, mib(r.idleKiB), mib(r.peakKiB), mib(r.hwmKiB), mib(r.afterKiB))
	protos := make([]protocol.ID, 0, len(r.report))
	for p := range r.report {
		protos = append(protos, p)
	}
	slices.Sort(protos)
	for _, p := range protos {
		fmt.Fprintf(w, "  %-32s %s\n", p, r.report[p])
	}
	fmt.Fprintf(w, "  %-32s %s\n", "total", r.report.Total())
	fmt.Fprintf(w, "honest transfer: %s\n", r.honest)
}

func mib(kib int64) string {
	if kib < 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}
