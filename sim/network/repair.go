package network

import (
	"errors"
	"slices"

	"github.com/cairn-storage/cairn/reputation"
	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
)

// downEntry is a steward that went down at at (the handover queue).
type downEntry struct {
	node int32
	at   sim.Time
}

// repairRound is node.repairRound for every file whose health may have changed (an audit
// outcome, a holder's answer or silence, a disqualification) or that was below threshold at
// the last round; the others are as they were. Steward handovers run first.
func (n *Network) repairRound() {
	now := n.now()
	n.expireDQ()
	n.handovers(now)
	n.stamp++
	n.work = append(n.work[:0], n.dirty...)
	n.dirty = n.dirty[:0]
	for _, f := range n.belowL {
		if n.scratch.workStamp[f] != n.stamp {
			n.scratch.workStamp[f] = n.stamp
			n.work = append(n.work, f)
		}
	}
	slices.Sort(n.work) // file order, as forEachStewarded walks the store
	n.belowL = n.belowL[:0]
	for _, f := range n.work {
		n.repairFile(f, now)
		if n.fBelow[f] != never {
			n.belowL = append(n.belowL, f)
		}
	}
}

// expireDQ clears the disqualifications whose probation has ended (Book.Status is the judge):
// those holders' shards count as healthy again.
func (n *Network) expireDQ() {
	t := n.Unix(n.now())
	k := 0
	for _, h := range n.dqList {
		if n.book.status(h, t) == reputation.Disqualified {
			n.dqList[k] = h
			k++
			continue
		}
		n.dq[h] = false
		n.candOK[h] = false
		n.markHolderFiles(h)
	}
	n.dqList = n.dqList[:k]
}

// holderHealthy is node.holderHealthy for copy c: its holder is not disqualified, answered
// its latest audit or probe, and did not fail c's latest audit.
func (n *Network) holderHealthy(c int32) bool {
	h := n.cHolder[c]
	if n.dq[h] && n.book.status(h, n.Unix(n.now())) == reputation.Disqualified {
		return false
	}
	return !n.viewDown[h] && n.cFlags[c]&flagFailed == 0
}

// segmentHealth is node.segmentHealth for file f's segments not yet lost for good (a lost
// segment can never be rebuilt: the node would retry and fail forever): per shard, the first
// listed holder, replaced by the first healthy one. It fills scratch.health, with Index the
// segment's position in the file.
func (n *Network) segmentHealth(f int32) []reputation.SegmentHealth {
	s := &n.scratch
	N := n.cfg.N
	s.health = s.health[:0]
	s.states = s.states[:0]
	for g := n.fSeg[f]; g < n.fSeg[f]+n.fSegs[f]; g++ {
		if n.segLost[g] {
			continue
		}
		for j := range N {
			var st reputation.ShardState
			for c := n.shFirst[g*int32(N)+int32(j)]; c >= 0; c = n.cNextS[c] {
				ok := n.holderHealthy(c)
				if st.Holder == "" || ok && !st.Healthy {
					st = reputation.ShardState{Holder: n.nid[n.cHolder[c]], Healthy: ok}
				}
			}
			s.states = append(s.states, st)
		}
	}
	k := 0
	for g := n.fSeg[f]; g < n.fSeg[f]+n.fSegs[f]; g++ {
		if n.segLost[g] {
			continue
		}
		s.health = append(s.health, reputation.SegmentHealth{Index: int(g - n.fSeg[f]), Shards: s.states[k*N : (k+1)*N : (k+1)*N]})
		k++
	}
	return s.health
}

// healthCounts reports whether some segment of f not lost for good has fewer than the
// threshold healthy shards (segmentHealth's Healthy: some listed holder is healthy), and
// whether one of those could be repaired now (at least K healthy). It builds nothing.
func (n *Network) healthCounts(f int32) (any, repairable bool) {
	N := int32(n.cfg.N)
	for g := n.fSeg[f]; g < n.fSeg[f]+n.fSegs[f]; g++ {
		if n.segLost[g] {
			continue
		}
		h := 0
		for s := g * N; s < (g+1)*N; s++ {
			for c := n.shFirst[s]; c >= 0; c = n.cNextS[c] {
				if n.holderHealthy(c) {
					h++
					break
				}
			}
		}
		if h < n.thr {
			any = true
			if h >= n.cfg.K {
				repairable = true
			}
		}
	}
	return any, repairable
}

// repairFile is one file's turn in a repair round: repairTurn (the first live steward in
// rendezvous order repairs at once, the one at rank r after reputation.RepairWait), the
// acting steward's probe of every holder, reputation.PlanRepair over the live candidates it
// discovers, and the plans carried out: read K shards from healthy holders (a holder that
// lost the bytes fails the read, and the segment's repair with it), store the rebuilt shards
// on their targets with fresh receipts.
func (n *Network) repairFile(f int32, now sim.Time) {
	if any, _ := n.healthCounts(f); !any {
		n.fBelow[f] = never
		return
	}
	if n.fBelow[f] == never {
		n.fBelow[f] = now
	}
	actor, rank := n.repairer(f)
	if actor < 0 || now.Sub(n.fBelow[f]) < sim.Duration(reputation.RepairWait(rank, int64(n.cfg.RepairInterval))) {
		return
	}
	// Probe every holder: deaths audits have not yet seen count too.
	for _, p := range n.filePairs(int(f)) {
		if p.holder != actor {
			n.setViewDown(p.holder, n.state[p.holder] != churn.Up)
		}
	}
	if _, ok := n.healthCounts(f); !ok {
		return // nothing PlanRepair could plan: every segment below threshold has < K healthy
	}
	segs := n.segmentHealth(f)
	n.discover(actor, true)
	var maxShard int64
	for g := n.fSeg[f]; g < n.fSeg[f]+n.fSegs[f]; g++ {
		maxShard = max(maxShard, n.segShardSize(g))
	}
	rules := reputation.RepairRules{K: n.cfg.K, N: n.cfg.N, Threshold: n.thr, ShardSize: maxShard,
		MaxSegments: n.cfg.MaxRepairSegments, UnvettedShare: n.cfg.UnvettedShare}
	var st []byte
	if n.onPlan != nil {
		st, _ = n.pcgRepair.MarshalBinary()
	}
	plans, err := reputation.PlanRepair(segs, n.scratch.cands, rules, n.rngRepair)
	if n.onPlan != nil {
		n.onPlan(segs, n.scratch.cands, rules, st, plans, err)
	}
	var short *reputation.RepairShortfall
	if err != nil && !errors.As(err, &short) {
		n.fail(err)
		return
	}
	N := int32(n.cfg.N)
	for _, p := range plans {
		g := n.fSeg[f] + int32(p.Index)
		size := n.segShardSize(g)
		ok := true
		for _, j := range p.Read {
			if !n.readShard(g*N+int32(j), size) {
				ok = false
				break
			}
		}
		if !ok {
			n.total.RepairsFailed++
			n.interval.RepairsFailed++
		} else {
			for i, j := range p.Rebuild {
				n.addCopy(g*N+int32(j), n.scratch.picked[p.Targets[i]], now)
				n.total.ShardsRebuilt++
				n.interval.ShardsRebuilt++
				n.total.RepairBytesWritten += size
				n.interval.RepairBytesWritten += size
			}
		}
		if n.onApplied != nil {
			targets := make([]int32, len(p.Targets))
			for i, x := range p.Targets {
				targets[i] = n.scratch.picked[x]
			}
			n.onApplied(f, p, targets, ok)
		}
	}
	// The file was just changed; the next round checks it again.
	n.markDirty(f)
}

// repairer is the steward that repairs file f and its rank among the live stewards: the first
// up steward in rendezvous order that does its duty. A bad steward (one whose onset has come)
// leaves the file alone, so the next one takes over after RepairWait.
func (n *Network) repairer(f int32) (int32, int) {
	S := n.cfg.Stewards
	rank := 0
	for _, sl := range n.fOrder[int(f)*S : (int(f)+1)*S] {
		m := n.fStew[int(f)*S+int(sl)]
		if m < 0 || n.state[m] != churn.Up {
			continue
		}
		if !n.bad(m) {
			return m, rank
		}
		rank++
	}
	return -1, 0
}

// readShard is node.readShard: try each healthy listed holder of shard s until one has the
// bytes and is up.
func (n *Network) readShard(s int32, size int64) bool {
	for c := n.shFirst[s]; c >= 0; c = n.cNextS[c] {
		if !n.holderHealthy(c) {
			continue
		}
		if h := n.cHolder[c]; n.state[h] == churn.Up && n.cFlags[c]&flagPresent != 0 {
			n.total.RepairBytesRead += size
			n.interval.RepairBytesRead += size
			return true
		}
	}
	return false
}

// handovers is node.checkStewards for the stewards that have been down for 3 repair
// intervals: the file's leader replaces one such steward by the closest node up (and not down
// in its view) outside the set, if a majority of the set is alive to sign.
func (n *Network) handovers(now sim.Time) {
	grace := sim.Duration(defaultHandoverIvs) * n.cfg.RepairInterval
	q := n.retry
	n.retry = nil
	for n.downHead < len(n.downQ) && now.Sub(n.downQ[n.downHead].at) >= grace {
		q = append(q, n.downQ[n.downHead])
		n.downHead++
	}
	if n.downHead > 4096 && n.downHead*2 > len(n.downQ) {
		n.downQ = append(n.downQ[:0], n.downQ[n.downHead:]...)
		n.downHead = 0
	}
	for _, d := range q {
		if n.state[d.node] == churn.Up || n.since[d.node] != d.at {
			continue // back up (or down again since: a later entry covers that)
		}
		for id := n.stewHead[d.node]; id >= 0; {
			next := n.sNext[id]
			if !n.handover(id/int32(n.cfg.Stewards), id, now) {
				n.retry = append(n.retry, d)
				break
			}
			id = next
		}
	}
}

// handover replaces the member in slot id of file f; false if it must wait (too few members
// alive to sign, or the file had a handover this round).
func (n *Network) handover(f, id int32, now sim.Time) bool {
	S := n.cfg.Stewards
	live, members := 0, 0
	for _, m := range n.fStew[int(f)*S : (int(f)+1)*S] {
		if m >= 0 {
			members++
			if n.state[m] == churn.Up {
				live++
			}
		}
	}
	if live == 0 || 2*(live-1) < members-1 || n.fHanded[f] == now {
		return false
	}
	stew := n.fStew[int(f)*S : (int(f)+1)*S]
	next := n.space.closest(n.scratch.closest[:0], n.fKey[f], 1, func(i int32) bool {
		return n.state[i] == churn.Up && !n.viewDown[i] && n.capacity[i] > n.used[i] && !slices.Contains(stew, i)
	})
	n.scratch.closest = next
	n.unlinkSteward(id)
	n.fStew[id] = -1
	slot := int(id - f*int32(S))
	if len(next) > 0 {
		n.fStew[id] = next[0]
		n.linkSteward(f, slot)
	}
	n.rerank(f, slot)
	n.fHanded[f] = now
	n.total.Handovers++
	n.interval.Handovers++
	return true
}
