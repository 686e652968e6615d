package network

import (
	"slices"
)

// Evidence is one epoch's storage evidence, what each file's leader steward would hand
// payments.PlanStorage (node/attest_plan.go attestEvidence): per leader, per file it leads,
// per holder listed in the file's record, its receipt time, its shards and this epoch's audit
// tallies of them.
type Evidence struct {
	Epoch    uint64
	Stewards []StewardEvidence // by steward index
}

// StewardEvidence is the files one leader steward attests.
type StewardEvidence struct {
	Steward int32
	Files   []FileEvidence // by file index
}

// FileEvidence is payments.FileEvidence with indices for identities: NodeID, FileKey and
// ShardCID give the bytes.
type FileEvidence struct {
	File    int32
	Owner   int32
	Partner string
	Holders []HolderEvidence // by holder index
}

// HolderEvidence is payments.HolderEvidence for one holder of a file.
type HolderEvidence struct {
	Holder      int32
	ReceiptTime int64 // unix seconds: its newest receipt for the file
	Shards      []ShardRef
	Passes      uint32 // audits of these shards at this holder in the epoch
	Fails       uint32
	Misses      uint32
}

// ShardRef is one shard a holder is listed for.
type ShardRef struct {
	Shard int32 // global shard index; Network.ShardOf gives (file, segment, position)
	Bytes int64
}

// ShardOf splits a global shard index into its file, segment within the file and position.
func (n *Network) ShardOf(s int32) (f, seg, j int) {
	g := s / int32(n.cfg.N)
	fi := n.segFile[g]
	return int(fi), int(g - n.fSeg[fi]), int(s % int32(n.cfg.N))
}

// EpochEvidence closes an epoch: it returns the evidence of the audits since the previous
// call, as the leaders (reputation.IsLeader with alive = up, now) would attest it, and resets
// every tally. Files with no steward up have no leader and no evidence. Slices are freshly
// allocated (three allocations of the whole, not one per file).
func (n *Network) EpochEvidence(epoch uint64) Evidence {
	type led struct{ leader, file int32 }
	var fs []led
	for f := range n.fKey {
		if L := n.leader(f); L >= 0 {
			fs = append(fs, led{L, int32(f)})
		}
	}
	slices.SortFunc(fs, func(a, b led) int {
		if a.leader != b.leader {
			return int(a.leader - b.leader)
		}
		return int(a.file - b.file)
	})
	// Size the flat backing arrays first.
	nh, nsh := 0, 0
	for _, x := range fs {
		ps := n.filePairs(int(x.file))
		nsh += len(ps)
		for i := range ps {
			if i == 0 || ps[i].holder != ps[i-1].holder {
				nh++
			}
		}
	}
	files := make([]FileEvidence, 0, len(fs))
	holders := make([]HolderEvidence, 0, nh)
	shards := make([]ShardRef, 0, nsh)
	ev := Evidence{Epoch: epoch}
	for _, x := range fs {
		if len(ev.Stewards) == 0 || ev.Stewards[len(ev.Stewards)-1].Steward != x.leader {
			ev.Stewards = append(ev.Stewards, StewardEvidence{Steward: x.leader, Files: files[len(files):len(files)]})
		}
		fe := FileEvidence{File: x.file, Owner: n.fOwner[x.file], Partner: n.partners[n.fPartner[x.file]]}
		h0 := len(holders)
		ps := n.filePairs(int(x.file))
		for i, p := range ps {
			c := p.copy
			if i == 0 || p.holder != ps[i-1].holder {
				holders = append(holders, HolderEvidence{Holder: p.holder, Shards: shards[len(shards):len(shards)]})
			}
			he := &holders[len(holders)-1]
			he.ReceiptTime = max(he.ReceiptTime, n.Unix(n.cAt[c]))
			s := n.cShard[c]
			shards = append(shards, ShardRef{Shard: s, Bytes: n.segShardSize(s / int32(n.cfg.N))})
			he.Shards = he.Shards[:len(he.Shards)+1]
			he.Passes = addSat(he.Passes, n.cPass[c])
			he.Fails = addSat(he.Fails, n.cFail[c])
			he.Misses = addSat(he.Misses, n.cMiss[c])
		}
		for k := h0; k < len(holders); k++ {
			holders[k].Shards = slices.Clip(holders[k].Shards)
		}
		fe.Holders = holders[h0:len(holders):len(holders)]
		files = append(files, fe)
		st := &ev.Stewards[len(ev.Stewards)-1]
		st.Files = st.Files[:len(st.Files)+1]
	}
	for i := range ev.Stewards {
		ev.Stewards[i].Files = slices.Clip(ev.Stewards[i].Files)
	}
	clear(n.cPass)
	clear(n.cFail)
	clear(n.cMiss)
	return ev
}

// addSat adds without wrapping around (node/attest_plan.go addSat).
func addSat(a, b uint32) uint32 {
	if s := a + b; s >= a {
		return s
	}
	return ^uint32(0)
}
