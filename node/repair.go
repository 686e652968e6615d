package node

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/cairn-storage/cairn/reputation"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// maxRepairSegments bounds the segments one file gets repaired per round, so one huge file
// cannot starve the others; the next round carries on.
const maxRepairSegments = 16

// repairState is what the repair chore remembers between rounds: since when each file has been
// below its threshold (for the leader's stagger), and the last repair this node made.
type repairState struct {
	mu    sync.Mutex
	below map[cid.Cid]time.Time

	// Counters for RepairStats.
	shardsRead, bytesRead, shardsRebuilt, bytesWritten atomic.Int64
}

// RepairStats counts this node's repair work since it started.
type RepairStats struct {
	ShardsRead, BytesRead       int64 // healthy shards fetched to rebuild from
	ShardsRebuilt, BytesWritten int64 // rebuilt shards stored on their new holders
}

// RepairStats reports the repair work this node did as a steward.
func (n *Node) RepairStats() RepairStats {
	r := &n.repairs
	return RepairStats{ShardsRead: r.shardsRead.Load(), BytesRead: r.bytesRead.Load(),
		ShardsRebuilt: r.shardsRebuilt.Load(), BytesWritten: r.bytesWritten.Load()}
}

// repairRound checks, as a steward, the health of every file this node stewards and repairs the
// ones below the threshold. Who repairs: a deterministic leader, the first live steward of the
// latest set in a per-file rendezvous order (repairTurn); the others take over only if the file
// stays below threshold for long. Two stewards repairing at once is harmless, only wasteful: each
// adds holders' receipts, which merge as a set (at most MaxHoldersPerShard per shard, newest kept).
func (n *Node) repairRound(ctx context.Context) {
	now := time.Now()
	var cands []reputation.Candidate
	rng := mrand.New(mrand.NewPCG(uint64(now.UnixNano()), 0x726570))
	alive := n.probeCache(ctx)
	_ = n.forEachStewarded(func(f stewardedFile) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n.checkStewards(ctx, f, alive)
		segs := n.segmentHealth(f)
		thr := n.repairThreshold(f.m)
		if !anyBelow(segs, thr) {
			n.repairs.mu.Lock()
			delete(n.repairs.below, f.mc)
			n.repairs.mu.Unlock()
			return nil
		}
		if !n.repairTurn(f, now, alive) {
			return nil
		}
		// Deaths are seen one audit at a time: before rebuilding, ask every holder of the file
		// now, so one repair restores every shard lost so far rather than stopping at the
		// threshold with a death it had not yet noticed.
		self := n.host.ID()
		for _, e := range f.loc.Entries {
			if h := e.Receipt.Holder; h != self {
				alive(h)
			}
		}
		segs = n.segmentHealth(f)
		if cands == nil {
			cands = n.repairCandidates(ctx)
		}
		if err := n.repairFile(ctx, f, segs, cands, thr, rng); err != nil {
			n.log.Info("repair incomplete", "manifest", f.mc, "err", err)
		}
		return nil
	})
}

func anyBelow(segs []reputation.SegmentHealth, thr int) bool {
	for _, s := range segs {
		healthy := 0
		for _, sh := range s.Shards {
			if sh.Healthy {
				healthy++
			}
		}
		if healthy < thr {
			return true
		}
	}
	return false
}

func (n *Node) repairThreshold(m *manifest.Manifest) int {
	t := n.repo.Config.Maintenance.RepairThreshold
	if t <= m.K || t > m.N {
		return reputation.DefaultThreshold(m.K, m.N)
	}
	return t
}

// segmentHealth is this steward's view of f: a shard is healthy when one of its listed holders
// answers audits, did not fail the last audit of it, and is not disqualified here.
func (n *Node) segmentHealth(f stewardedFile) []reputation.SegmentHealth {
	out := make([]reputation.SegmentHealth, len(f.m.Segments))
	for si, seg := range f.m.Segments {
		sh := reputation.SegmentHealth{Index: si, Shards: make([]reputation.ShardState, f.m.N)}
		for i := range f.m.N {
			for _, h := range f.loc.Holders(si, i, f.m.N) {
				ok := n.holderHealthy(h, seg.Shards[i])
				if sh.Shards[i].Holder == "" || ok && !sh.Shards[i].Healthy {
					sh.Shards[i] = reputation.ShardState{Holder: reputation.NodeID(h), Healthy: ok}
				}
			}
		}
		out[si] = sh
	}
	return out
}

func (n *Node) holderHealthy(h peer.ID, c cid.Cid) bool {
	if h == n.host.ID() {
		return !n.exiting() && n.store.Has(c)
	}
	r, params, _ := n.scores.record(h)
	if params.Status(r, time.Now().Unix()) == reputation.Disqualified {
		return false
	}
	return n.health.healthy(h, c)
}

// repairTurn reports whether this steward should repair f now. The stewards of the latest set
// that answer probes are ranked (see stewardRank); the first repairs at once, the others only
// after the file has been below threshold for reputation.RepairWait.
func (n *Node) repairTurn(f stewardedFile, now time.Time, alive func(peer.ID) bool) bool {
	n.repairs.mu.Lock()
	since, ok := n.repairs.below[f.mc]
	if !ok {
		since = now
		n.repairs.below[f.mc] = now
	}
	n.repairs.mu.Unlock()
	if len(f.loc.Stewards) == 0 {
		return true
	}
	var live []peer.ID
	for _, p := range f.loc.Stewards[len(f.loc.Stewards)-1].Members {
		if p == n.host.ID() || alive(p) {
			live = append(live, p)
		}
	}
	rank := stewardRank(f.mc, live, n.host.ID())
	if rank < 0 {
		return false // not a current steward: leave it to them
	}
	wait := time.Duration(reputation.RepairWait(rank, int64(n.repo.Config.Intervals.Repair.D())))
	return now.Sub(since) >= wait
}

// stewardRank is reputation.StewardRank for peer IDs: self's place in the file's rendezvous
// order of members, or -1.
func stewardRank(mc cid.Cid, members []peer.ID, self peer.ID) int {
	return reputation.StewardRank(mc.Bytes(), nodeIDs(members), reputation.NodeID(self))
}

func nodeIDs(ps []peer.ID) []reputation.NodeID {
	out := make([]reputation.NodeID, len(ps))
	for i, p := range ps {
		out[i] = reputation.NodeID(p)
	}
	return out
}

// repairCandidates are the live nodes that may receive rebuilt shards, scored by this node.
func (n *Node) repairCandidates(ctx context.Context) []reputation.Candidate {
	var out []reputation.Candidate
	for _, c := range n.toReputation(n.discover(ctx)) {
		if n.health.isDown(peer.ID(c.ID)) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// repairFile plans and carries out the repair of f's segments below thr.
func (n *Node) repairFile(ctx context.Context, f stewardedFile, segs []reputation.SegmentHealth, cands []reputation.Candidate, thr int, rng *mrand.Rand) error {
	var maxShard int64
	for _, s := range f.m.Segments {
		maxShard = max(maxShard, s.ShardSize)
	}
	// A node already holding shards of this file may still take a rebuilt one (of another
	// segment); its new receipt then restates the old positions too.
	plans, err := reputation.PlanRepair(segs, cands, reputation.RepairRules{
		K: f.m.K, N: f.m.N, Threshold: thr, ShardSize: maxShard, MaxSegments: maxRepairSegments,
		UnvettedShare: n.unvettedShare(),
	}, rng)
	var short *reputation.RepairShortfall
	if err != nil && !errors.As(err, &short) {
		return err
	}
	if len(plans) == 0 {
		return err
	}
	added := map[peer.ID][]uint32{} // target -> new positions
	for _, p := range plans {
		got, perr := n.repairSegment(ctx, f, p, cands)
		if perr != nil {
			n.log.Info("segment repair failed", "manifest", f.mc, "segment", p.Index, "err", perr)
			continue
		}
		for t, pos := range got {
			added[t] = append(added[t], pos...)
		}
	}
	if len(added) == 0 {
		return errors.Join(err, errors.New("no shard rebuilt"))
	}
	entries := n.repairReceipts(ctx, f, added)
	if len(entries) == 0 {
		return errors.Join(err, errors.New("no new holder signed a receipt"))
	}
	if perr := n.publishEntries(ctx, f, entries); perr != nil {
		return errors.Join(err, perr)
	}
	n.log.Info("repaired", "manifest", f.mc, "segments", len(plans), "holders", len(entries))
	return err
}

// repairSegment reads K healthy shards, rebuilds the missing ones at the ciphertext level,
// checks each against its CID and stores it on its target under the file's delete hash (so the
// owner can still delete it). It returns the positions each target now holds.
func (n *Node) repairSegment(ctx context.Context, f stewardedFile, p reputation.SegmentPlan, cands []reputation.Candidate) (map[peer.ID][]uint32, error) {
	seg := f.m.Segments[p.Index]
	size := int(seg.ShardSize)
	have := make([][]byte, f.m.N)
	for _, i := range p.Read {
		data, err := n.readShard(ctx, f, p.Index, i)
		if err != nil {
			return nil, err
		}
		have[i] = data
	}
	rebuilt, err := codec.Rebuild(f.m.K, f.m.N, size, have, p.Rebuild)
	if err != nil {
		return nil, err
	}
	out := map[peer.ID][]uint32{}
	for j, idx := range p.Rebuild {
		if got := codec.ShardCID(rebuilt[j]); !got.Equals(seg.Shards[idx]) {
			return nil, fmt.Errorf("rebuilt shard %d is %s, manifest says %s", idx, got, seg.Shards[idx])
		}
		t := peer.ID(cands[p.Targets[j]].ID)
		sctx, cancel := context.WithTimeout(ctx, n.repo.Config.Put.ShardTimeout.D())
		start := time.Now()
		err := n.xfer.PutShard(sctx, t, seg.Shards[idx], rebuilt[j], seg.DeleteHashes[idx])
		n.observeTransfer(sctx, t, int64(size), time.Since(start), err)
		cancel()
		if err != nil {
			n.log.Info("repair target refused shard", "target", t, "err", err)
			continue
		}
		n.repairs.shardsRebuilt.Add(1)
		n.repairs.bytesWritten.Add(int64(size))
		out[t] = append(out[t], uint32(p.Index*f.m.N+idx))
	}
	return out, nil
}

// readShard fetches shard i of segment si, verified, from a healthy holder.
func (n *Node) readShard(ctx context.Context, f stewardedFile, si, i int) ([]byte, error) {
	seg := f.m.Segments[si]
	var last error = fmt.Errorf("shard %d of segment %d: no healthy holder", i, si)
	for _, h := range f.loc.Holders(si, i, f.m.N) {
		if !n.holderHealthy(h, seg.Shards[i]) {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, n.repo.Config.Put.ShardTimeout.D())
		start := time.Now()
		data, err := n.xfer.GetShard(sctx, h, seg.Shards[i], seg.ShardSize, nil)
		n.observeTransfer(sctx, h, seg.ShardSize, time.Since(start), err)
		cancel()
		if err == nil {
			n.repairs.shardsRead.Add(1)
			n.repairs.bytesRead.Add(int64(len(data)))
			return data, nil
		}
		last = err
	}
	return nil, last
}

// repairReceipts asks every target for a receipt over all the positions of f it now holds: the
// new ones and any it held before (its newest receipt replaces its older one).
func (n *Node) repairReceipts(ctx context.Context, f stewardedFile, added map[peer.ID][]uint32) []manifest.Entry {
	var (
		mu      sync.Mutex
		entries []manifest.Entry
		wg      sync.WaitGroup
	)
	for t, pos := range added {
		all := append(f.loc.Positions(t), pos...)
		slices.Sort(all)
		all = slices.Compact(all)
		items := make([]transfer.ReceiptItem, 0, len(all))
		for _, p := range all {
			c, _, dh, ok := shardAt(f.m, p)
			if ok {
				items = append(items, transfer.ReceiptItem{Position: p, Shard: c, DeleteHash: dh})
			}
		}
		wg.Go(func() {
			rec, err := n.holderReceipt(ctx, f, t, items)
			if err != nil {
				n.log.Info("repair target did not sign", "target", t, "err", err)
				return
			}
			mu.Lock()
			entries = append(entries, manifest.Entry{Receipt: *rec})
			mu.Unlock()
		})
	}
	wg.Wait()
	return entries
}

// holderReceipt gets and checks t's receipt for items of f.
func (n *Node) holderReceipt(ctx context.Context, f stewardedFile, t peer.ID, items []transfer.ReceiptItem) (*manifest.Receipt, error) {
	rctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	var rec *manifest.Receipt
	var err error
	after := f.loc.ReceiptTime(t) // the new receipt must outrank t's current one
	if t == n.host.ID() {
		rec, err = n.receipts.SignAfter("", f.mc, items, after)
		if rec != nil {
			rec.Holder = t
		}
	} else {
		rec, err = n.xfer.RequestReceiptAfter(rctx, t, f.mc, items, false, after)
	}
	if err != nil {
		return nil, err
	}
	if err := rec.Verify(f.m); err != nil {
		return nil, err
	}
	return rec, nil
}

// publishEntries has a majority of f's current stewards endorse entries (each co-steward audits
// the new holders first), merges them into this node's record, hands the record to every steward
// and lets the new holders keep their shards for good.
func (n *Node) publishEntries(ctx context.Context, f stewardedFile, entries []manifest.Entry) error {
	if len(f.loc.Stewards) == 0 {
		return errors.New("record has no steward set")
	}
	set := f.loc.Stewards[len(f.loc.Stewards)-1]
	ectx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	endorsed, err := transfer.GatherEndorsements(ectx, n.xfer, n.host.ID(), n.priv, f.m, f.mc, f.loc.Stewards, entries)
	if err != nil {
		return fmt.Errorf("endorsements: %w", err)
	}
	loc, err := n.stewards.MergeEntries(f.mc, endorsed)
	if err != nil {
		return err
	}
	n.shareRecord(ectx, f.mc, set.Members, loc)
	n.confirmEntries(ectx, f, endorsed)
	return nil
}

// shareRecord gives every other steward this node's merged record (they merge it as a set).
func (n *Node) shareRecord(ctx context.Context, mc cid.Cid, members []peer.ID, loc *manifest.Locations) {
	body, _, err := n.stewards.Load(mc)
	if err != nil {
		return
	}
	locBytes, err := loc.Encode()
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	for _, p := range members {
		if p == n.host.ID() {
			continue
		}
		wg.Go(func() {
			if err := n.xfer.PutManifest(ctx, p, mc, body, locBytes); err != nil {
				n.log.Debug("steward did not take the updated record", "peer", p, "err", err)
			}
		})
	}
	wg.Wait()
}

// confirmEntries tells each new holder its shards are referenced by a published record.
func (n *Node) confirmEntries(ctx context.Context, f stewardedFile, entries []manifest.Entry) {
	for _, e := range entries {
		items := make([]transfer.ReceiptItem, 0, len(e.Receipt.Positions))
		for _, p := range e.Receipt.Positions {
			if c, _, dh, ok := shardAt(f.m, p); ok {
				items = append(items, transfer.ReceiptItem{Position: p, Shard: c, DeleteHash: dh})
			}
		}
		var err error
		if e.Receipt.Holder == n.host.ID() {
			err = n.receipts.Confirm("", f.mc, items)
		} else {
			_, err = n.xfer.RequestReceipt(ctx, e.Receipt.Holder, f.mc, items, true)
		}
		if err != nil {
			n.log.Info("new holder did not confirm; its collector will", "holder", e.Receipt.Holder, "err", err)
		}
	}
}

// probeCache answers whether a peer is alive, asking it (Info) at most once per round and
// recording the answer in the steward's health view.
func (n *Node) probeCache(ctx context.Context) func(peer.ID) bool {
	seen := map[peer.ID]bool{}
	return func(p peer.ID) bool {
		if ok, done := seen[p]; done {
			return ok
		}
		ictx, cancel := context.WithTimeout(ctx, infoTimeout)
		_, err := n.xfer.Info(ictx, p)
		cancel()
		ok := err == nil
		if ok {
			n.health.reachable(p)
		} else if ctx.Err() == nil {
			n.health.unreachable(p, time.Now())
		}
		seen[p] = ok
		return ok
	}
}
