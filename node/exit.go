package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/cairn-storage/cairn/reputation"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// exitFile marks a repo whose node is leaving the network: after a restart it resumes handing
// its shards away instead of taking new ones.
const exitFile = "exit.json"

// exitRetry is how long a resumed exit waits before another pass when the last one left shards.
const exitRetry = 10 * time.Second

// exitState serialises exit passes and tells the daemon when to stop.
type exitState struct {
	mu      sync.Mutex // one pass at a time
	done    chan struct{}
	doneOne sync.Once
}

// Exit hands every shard this node holds for a published file to nodes chosen by placement,
// gets their receipts endorsed by the file's stewards (who audit the new holders first), hands
// over the stewardship of the files it stewards, and reports Complete once nothing is left.
// Then the node asks its daemon to stop (Exited). Interrupted, it resumes: the repo remembers the
// exit, shards already handed over are skipped, and a restarted daemon carries on by itself.
func (n *Node) Exit(ctx context.Context) (*api.ExitResult, error) {
	if err := n.markExiting(); err != nil {
		return nil, err
	}
	res := n.exitPass(ctx)
	if res.Complete {
		n.exit.doneOne.Do(func() { close(n.exit.done) })
	}
	return res, nil
}

// Exited is closed once an exit completed: the daemon stops then.
func (n *Node) Exited() <-chan struct{} { return n.exit.done }

// exiting reports whether this node is handing its shards away.
func (n *Node) exiting() bool { return n.server.Draining.Load() }

func (n *Node) markExiting() error {
	if n.server.Draining.Load() {
		return nil
	}
	b := fmt.Appendf(nil, "{\"started\": %d}\n", time.Now().Unix())
	if err := config.WriteFileAtomic(filepath.Join(n.repo.Path, exitFile), b, 0o600); err != nil {
		return fmt.Errorf("remember the exit: %w", err)
	}
	n.server.Draining.Store(true)
	return nil
}

// resumeExit continues an exit a previous run started, pass after pass until complete.
func (n *Node) resumeExit() {
	if _, err := os.Stat(filepath.Join(n.repo.Path, exitFile)); err != nil {
		return
	}
	n.server.Draining.Store(true)
	n.wg.Go(func() {
		select {
		case <-n.joined:
		case <-n.ctx.Done():
			return
		}
		for n.ctx.Err() == nil {
			res := n.exitPass(n.ctx)
			n.log.Info("exit pass", "shards", res.Shards, "moved", res.Moved, "failed", res.Failed, "complete", res.Complete)
			if res.Complete {
				n.exit.doneOne.Do(func() { close(n.exit.done) })
				return
			}
			select {
			case <-time.After(exitRetry):
			case <-n.ctx.Done():
			}
		}
	})
}

// exitPass makes one attempt at handing everything over.
func (n *Node) exitPass(ctx context.Context) *api.ExitResult {
	n.exit.mu.Lock()
	defer n.exit.mu.Unlock()
	res := &api.ExitResult{}
	byFile, err := n.heldByFile()
	if err != nil {
		res.Error = err.Error()
		return res
	}
	for _, cs := range byFile {
		res.Shards += len(cs)
	}
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 0x65786974))
	var cands []reputation.Candidate
	var errs []error
	for mc := range byFile {
		if ctx.Err() != nil {
			break
		}
		if cands == nil {
			cands = n.exitCandidates(ctx)
		}
		moved, left, err := n.exitFile(ctx, mc, cands, rng)
		res.Moved += moved
		res.Failed += left
		if moved > 0 {
			res.Files++
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("file %s: %w", mc, err))
		}
	}
	res.Failed = res.Shards - res.Moved
	if err := n.handOverStewardship(ctx); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		res.Error = errors.Join(errs...).Error()
	}
	res.Complete = res.Failed == 0 && len(errs) == 0 && ctx.Err() == nil
	return res
}

// heldByFile lists the shards this node holds for published files, by manifest.
func (n *Node) heldByFile() (map[cid.Cid][]cid.Cid, error) {
	out := map[cid.Cid][]cid.Cid{}
	err := n.store.List(func(c cid.Cid, _ int64) error {
		refs, err := n.store.Refs(c)
		if err != nil {
			return nil // deleted meanwhile
		}
		for _, r := range refs {
			if len(r.Manifest) == 0 {
				continue
			}
			mc, err := cid.Cast(r.Manifest)
			if err != nil || mc.Equals(c) {
				continue
			}
			out[mc] = append(out[mc], c)
			break
		}
		return nil
	})
	return out, err
}

// exitCandidates are the live nodes that may take this node's shards.
func (n *Node) exitCandidates(ctx context.Context) []reputation.Candidate {
	var out []reputation.Candidate
	for _, c := range n.toReputation(n.discover(ctx)) {
		if peer.ID(c.ID) != n.host.ID() {
			out = append(out, c)
		}
	}
	return out
}

// exitFile hands over this node's positions of one file. moved counts the positions another
// holder now covers (including ones handed over by an earlier pass), left the others.
func (n *Node) exitFile(ctx context.Context, mc cid.Cid, cands []reputation.Candidate, rng *mrand.Rand) (moved, left int, err error) {
	res, err := n.resolve(ctx, mc, true)
	if err != nil {
		return 0, 0, err
	}
	f := stewardedFile{mc: mc, m: res.m, loc: res.loc}
	mine := f.loc.Positions(n.host.ID())
	todo := n.notCoveredElsewhere(ctx, f, mine)
	moved = len(mine) - len(todo)
	if len(todo) == 0 {
		return moved, 0, nil
	}
	added := map[peer.ID][]uint32{}
	bySeg := map[int][]uint32{}
	for _, p := range todo {
		bySeg[int(p)/f.m.N] = append(bySeg[int(p)/f.m.N], p)
	}
	for si, ps := range bySeg {
		targets, err := n.placeHandover(f, si, len(ps), cands, rng)
		if err != nil {
			n.log.Info("no node can take this segment's shards", "manifest", mc, "segment", si, "err", err)
			continue
		}
		for i, p := range ps {
			if n.sendOwnShard(ctx, f, p, targets[i]) == nil {
				added[targets[i]] = append(added[targets[i]], p)
			}
		}
	}
	entries := n.repairReceipts(ctx, f, added)
	if len(entries) == 0 {
		return moved, len(todo), errors.New("no new holder signed a receipt")
	}
	endorsed, err := n.publishHandover(ctx, f, entries)
	if err != nil {
		return moved, len(todo), err
	}
	for _, e := range endorsed {
		for _, p := range e.Receipt.Positions {
			if slices.Contains(added[e.Receipt.Holder], p) {
				moved++
			}
		}
	}
	n.log.Info("exit: handed over", "manifest", mc, "held", mine, "todo", todo, "added", added, "entries", len(entries), "endorsed", len(endorsed))
	return moved, len(mine) - moved, nil
}

// notCoveredElsewhere returns the positions no other listed holder answers for.
func (n *Node) notCoveredElsewhere(ctx context.Context, f stewardedFile, mine []uint32) []uint32 {
	var todo []uint32
	for _, p := range mine {
		seg, idx := int(p)/f.m.N, int(p)%f.m.N
		c := f.m.Segments[seg].Shards[idx]
		covered := false
		for _, h := range f.loc.Holders(seg, idx, f.m.N) {
			if h == n.host.ID() {
				continue
			}
			hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			has, err := n.xfer.HasShards(hctx, h, []cid.Cid{c})
			cancel()
			if err == nil && has[0] {
				covered = true
				break
			}
		}
		if !covered {
			todo = append(todo, p)
		}
	}
	return todo
}

// placeHandover picks count nodes for shards of segment si: none that holds a shard of it.
func (n *Node) placeHandover(f stewardedFile, si, count int, cands []reputation.Candidate, rng *mrand.Rand) ([]peer.ID, error) {
	ex := []reputation.NodeID{reputation.NodeID(n.host.ID())}
	for i := range f.m.N {
		for _, h := range f.loc.Holders(si, i, f.m.N) {
			ex = append(ex, reputation.NodeID(h))
		}
	}
	idx, err := reputation.Place(cands, reputation.Rules{N: count, ShardSize: f.m.Segments[si].ShardSize,
		Exclude: ex, UnvettedShare: n.unvettedShare()}, rng)
	if err != nil {
		return nil, err
	}
	out := make([]peer.ID, len(idx))
	for i, j := range idx {
		out[i] = peer.ID(cands[j].ID)
	}
	return out, nil
}

// sendOwnShard copies this node's shard at position p to t, under the file's delete hash.
func (n *Node) sendOwnShard(ctx context.Context, f stewardedFile, p uint32, t peer.ID) error {
	c, size, dh, _ := shardAt(f.m, p)
	fh, blob, err := n.store.Open(c)
	if err != nil {
		return err
	}
	data := make([]byte, blob.Size)
	_, err = io.ReadFull(fh, data)
	fh.Close()
	if err != nil || blob.Size != size {
		return fmt.Errorf("read own shard %s: %v", c, err)
	}
	sctx, cancel := context.WithTimeout(ctx, n.repo.Config.Put.ShardTimeout.D())
	defer cancel()
	start := time.Now()
	err = n.xfer.PutShard(sctx, t, c, data, dh)
	n.observeTransfer(sctx, t, size, time.Since(start), err)
	if err != nil {
		n.log.Info("handover target refused shard", "target", t, "err", err)
	}
	return err
}

// publishHandover has the file's stewards endorse the new holders (each audits them first),
// gives every steward the updated record and lets the new holders keep their shards.
func (n *Node) publishHandover(ctx context.Context, f stewardedFile, entries []manifest.Entry) ([]manifest.Entry, error) {
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	endorsed, err := transfer.GatherEndorsements(pctx, n.xfer, n.host.ID(), n.priv, f.m, f.mc, f.loc.Stewards, entries)
	if err != nil {
		return nil, fmt.Errorf("endorsements: %w", err)
	}
	loc := manifest.NewLocations(f.mc)
	loc.Stewards = f.loc.Stewards
	for _, e := range f.loc.Entries {
		loc.Add(e)
	}
	for _, e := range endorsed {
		loc.Add(e)
	}
	body, err := f.m.Encode()
	if err != nil {
		return nil, err
	}
	locBytes, err := loc.Encode()
	if err != nil {
		return nil, err
	}
	members := f.loc.Stewards[len(f.loc.Stewards)-1].Members
	var wg sync.WaitGroup
	for _, p := range members {
		wg.Go(func() {
			if err := n.xfer.PutManifest(pctx, p, f.mc, body, locBytes); err != nil {
				n.log.Debug("steward did not take the handover record", "peer", p, "err", err)
			}
		})
	}
	wg.Wait()
	n.confirmEntries(pctx, f, endorsed)
	return endorsed, nil
}
