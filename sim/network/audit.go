package network

import (
	"slices"

	"github.com/cairn-storage/cairn/node/audit"
	"github.com/cairn-storage/cairn/reputation"
	"github.com/cairn-storage/cairn/sim/churn"
)

// turnBad makes every node of classes a or b whose onset has come lose the bytes it holds:
// droppers and Sybils delete them, cheaters truncate them (which audits find only when a
// challenged range falls past the kept prefix).
func (n *Network) turnBad(a, b Class) {
	for i := range int32(n.Len()) {
		if c := n.class[i]; (c == a || c == b) && n.bad(i) && n.state[i] != churn.Gone {
			for cp := n.copyHead[i]; cp >= 0; cp = n.cNext[cp] {
				n.loseBytes(cp)
			}
		}
	}
}

// leader is file f's leader: the first up member in rendezvous order, as reputation.IsLeader
// decides with alive = up; -1 if no member is up.
func (n *Network) leader(f int) int32 {
	S := n.cfg.Stewards
	for _, sl := range n.fOrder[f*S : (f+1)*S] {
		if m := n.fStew[f*S+int(sl)]; m >= 0 && n.state[m] == churn.Up {
			return m
		}
	}
	return -1
}

// filePairs fills scratch.pairs with every copy of file f and its holder, sorted by holder
// then copy.
func (n *Network) filePairs(f int) []pair {
	N := int32(n.cfg.N)
	ps := n.scratch.pairs[:0]
	for g := n.fSeg[f]; g < n.fSeg[f]+n.fSegs[f]; g++ {
		for s := g * N; s < (g+1)*N; s++ {
			for c := n.shFirst[s]; c >= 0; c = n.cNextS[c] {
				ps = append(ps, pair{n.cHolder[c], c})
			}
		}
	}
	if len(ps) <= 32 {
		for i := 1; i < len(ps); i++ {
			for j := i; j > 0 && pairLess(ps[j], ps[j-1]); j-- {
				ps[j], ps[j-1] = ps[j-1], ps[j]
			}
		}
	} else {
		slices.SortFunc(ps, func(a, b pair) int {
			if pairLess(a, b) {
				return -1
			}
			if pairLess(b, a) {
				return 1
			}
			return 0
		})
	}
	n.scratch.pairs = ps
	return ps
}

func pairLess(a, b pair) bool { return a.holder < b.holder || a.holder == b.holder && a.copy < b.copy }

// auditRound is node.auditRound for every file at once: the file's leader steward audits one
// random shard of each holder listed in the file's record (itself excepted). A holder that is
// down or gone gives no answer: one AuditTimeout per (steward, holder) pair and round, as the
// node batches a round's items per holder, and a miss per item. An answering holder passes iff
// it still has the bytes, or, for a cheater, iff every range audit.Ranges challenges lies in
// its kept prefix. Outcomes go into the shared book, the stewards' view and the epoch's
// tallies.
func (n *Network) auditRound() {
	s := &n.scratch
	t := n.Unix(n.now())
	// Group the files by leader (a counting sort, files in index order within), so each
	// leader's round is one pass, as each steward's own round is in the node.
	nn := n.Len()
	s.count = append(s.count[:0], make([]int32, nn+1)...)
	s.lead = s.lead[:0]
	for f := range n.fKey {
		L := n.leader(f)
		s.lead = append(s.lead, L)
		if L >= 0 {
			s.count[L+1]++
		}
	}
	for i := 1; i <= nn; i++ {
		s.count[i] += s.count[i-1]
	}
	s.byLeader = append(s.byLeader[:0], make([]int32, s.count[nn])...)
	for f, L := range s.lead {
		if L >= 0 {
			s.byLeader[s.count[L]] = int32(f)
			s.count[L]++
		}
	}
	if len(s.toStamp) < nn {
		s.toStamp = append(s.toStamp, make([]uint32, nn-len(s.toStamp))...)
	}
	prev := int32(-1)
	for _, f := range s.byLeader {
		L := s.lead[f]
		if L != prev {
			prev = L
			s.toGen++ // a new batch per holder: one timeout each
			if s.toGen == 0 {
				clear(s.toStamp)
				s.toGen = 1
			}
		}
		ps := n.filePairs(int(f))
		for i := 0; i < len(ps); {
			h := ps[i].holder
			j := i + 1
			for j < len(ps) && ps[j].holder == h {
				j++
			}
			if h != L {
				c := ps[i+n.rngAudit.IntN(j-i)].copy
				n.auditCopy(h, c, t)
			}
			i = j
		}
	}
}

// auditCopy is one audit item of the current leader's batch for holder h.
func (n *Network) auditCopy(h, c int32, t int64) {
	cls := n.class[h]
	counted := cls == Honest || n.bad(h)
	if n.state[h] != churn.Up {
		n.cMiss[c]++
		n.total.AuditMiss++
		n.interval.AuditMiss++
		if counted {
			n.classAudits[cls][2]++
		}
		if s := &n.scratch; s.toStamp[h] != s.toGen {
			s.toStamp[h] = s.toGen
			n.observe(h, reputation.AuditTimeout, t)
			if n.suspAt[h] == never && n.book.status(h, t) == reputation.Suspended {
				n.suspAt[h] = n.now()
			}
		}
		n.setViewDown(h, true)
		return
	}
	n.setViewDown(h, false)
	var pass bool
	switch {
	case cls == AuditCheating && n.bad(h):
		pass = n.cheaterPasses(c)
	default:
		pass = n.cFlags[c]&flagPresent != 0
	}
	f := n.segFile[n.cShard[c]/int32(n.cfg.N)]
	if pass {
		n.cPass[c]++
		n.total.AuditPass++
		n.interval.AuditPass++
		if counted {
			n.classAudits[cls][0]++
		}
		n.observe(h, reputation.AuditPass, t)
		if n.cFlags[c]&flagFailed != 0 {
			n.cFlags[c] &^= flagFailed
			n.markDirty(f)
		}
		return
	}
	n.cFail[c]++
	n.total.AuditFail++
	n.interval.AuditFail++
	if counted {
		n.classAudits[cls][1]++
	}
	n.observe(h, reputation.AuditFail, t)
	if n.cFlags[c]&flagFailed == 0 {
		n.cFlags[c] |= flagFailed
		n.markDirty(f)
	}
	if !n.dq[h] {
		if n.book.recs[h].Disqualified {
			n.dq[h] = true
			n.dqList = append(n.dqList, h)
			if n.dqAt[h] == never {
				n.dqAt[h] = n.now()
			}
			n.markHolderFiles(h)
		}
	}
}

// cheaterPasses reports whether an audit of copy c with a fresh nonce challenges only ranges
// inside the prefix its cheating holder kept.
func (n *Network) cheaterPasses(c int32) bool {
	s := n.cShard[c]
	size := n.segShardSize(s / int32(n.cfg.N))
	kept := uint64(float64(size) * n.cfg.Behaviours.KeepFraction)
	nonce := &n.scratch.nonce
	for i := 0; i < 32; i += 8 {
		v := n.rngNonce.Uint64()
		for b := range 8 {
			nonce[i+b] = byte(v >> (8 * b))
		}
	}
	for _, r := range audit.Ranges(*nonce, n.shardCIDOf(s), size, n.cfg.AuditRanges) {
		if r.Off+r.Len > kept {
			return false
		}
	}
	return true
}

// setViewDown records in the stewards' view whether h answers; a change makes the files it
// holds worth a new health check.
func (n *Network) setViewDown(h int32, down bool) {
	if n.viewDown[h] == down {
		return
	}
	n.viewDown[h] = down
	n.markHolderFiles(h)
}

// markHolderFiles marks every file h is listed for.
func (n *Network) markHolderFiles(h int32) {
	N := int32(n.cfg.N)
	for c := n.copyHead[h]; c >= 0; c = n.cNext[c] {
		n.markDirty(n.segFile[n.cShard[c]/N])
	}
}

// markDirty queues file f for the next repair round's health check.
func (n *Network) markDirty(f int32) {
	if n.cfg.DisableRepair {
		return
	}
	s := &n.scratch
	if s.workStamp[f] != n.stamp+1 {
		s.workStamp[f] = n.stamp + 1
		n.dirty = append(n.dirty, f)
	}
}

// observe applies one of the stewards' observations of h to the shared book.
func (n *Network) observe(h int32, o reputation.Outcome, t int64) {
	ob := reputation.Observation{Peer: n.nid[h], Outcome: o, Time: t}
	n.book.apply(h, ob)
	n.candOK[h] = false
	if n.onObserve != nil {
		n.onObserve(ob)
	}
}

// Observe applies o (about node, at unix time o.Time) to the shared book: for observations
// the network does not make itself (transfers, say).
func (n *Network) Observe(node int32, o reputation.Observation) {
	o.Peer = n.nid[node]
	n.book.apply(node, o)
	n.candOK[node] = false
	if n.onObserve != nil {
		n.onObserve(o)
	}
}

// candidate is node i as a placement candidate at unix time t: book.candidate, cached
// between observations of i. The cache is exact: without hearsay, a record's rank changes
// only by an observation, or by time while disqualified (probation), which is never cached.
func (n *Network) candidate(i int32, t int64) reputation.Candidate {
	free := max(0, n.capacity[i]-n.used[i])
	if n.candOK[i] {
		return reputation.Candidate{ID: n.nid[i], Subnet: n.subnetNames[n.subnet[i]], Free: free,
			Score: n.candScore[i], Vetted: n.candVetted[i]}
	}
	c := n.book.candidate(i, n.nid[i], n.subnetNames[n.subnet[i]], free, t)
	if !n.dq[i] {
		n.candScore[i], n.candVetted[i], n.candOK[i] = c.Score, c.Vetted, true
	}
	return c
}
