package node

import (
	"github.com/cairn-storage/cairn/payments"
	"github.com/cairn-storage/cairn/reputation"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// holderShard keys the audit tallies: an audit challenges one shard at one holder, and the
// auditor does not say which file it drew the shard from.
type holderShard struct {
	holder peer.ID
	shard  cid.Cid
}

// auditTally counts one epoch's audits of one shard at one holder.
type auditTally struct {
	passes, fails, misses uint32
}

// attestLeader reports whether self attests f: it is the first live steward of the latest set
// in the repair leader's rendezvous order (stewardRank), so stewards that agree on who is live
// attest each file once. A record without a steward set has no leader: every keeper attests
// (settlement counts duplicates once). alive is asked only about stewards ranked before self.
func attestLeader(f stewardedFile, self peer.ID, alive func(peer.ID) bool) bool {
	if len(f.loc.Stewards) == 0 {
		return true
	}
	members := f.loc.Stewards[len(f.loc.Stewards)-1].Members
	return reputation.IsLeader(f.mc.Bytes(), nodeIDs(members), reputation.NodeID(self),
		func(p reputation.NodeID) bool { return alive(peer.ID(p)) })
}

// attestEvidence is f as payments.PlanStorage reads it: per holder in the signed record, its
// receipt time, the distinct shards its receipt lists, and the audit tallies of those shards at
// that holder in the epoch, summed over the file.
func attestEvidence(f stewardedFile, tallies map[holderShard]auditTally) payments.FileEvidence {
	fe := payments.FileEvidence{Manifest: f.mc.Bytes(), Owner: []byte(f.m.Owner), Partner: f.m.Partner}
	for i := range f.loc.Entries {
		r := &f.loc.Entries[i].Receipt
		h := payments.HolderEvidence{Holder: []byte(r.Holder), ReceiptTime: r.Time}
		seen := make(map[cid.Cid]bool, len(r.Positions))
		for _, p := range r.Positions {
			c, size, _, ok := shardAt(f.m, p)
			if !ok || seen[c] {
				continue
			}
			seen[c] = true
			t := tallies[holderShard{r.Holder, c}]
			h.Passes, h.Fails, h.Misses = addSat(h.Passes, t.passes), addSat(h.Fails, t.fails), addSat(h.Misses, t.misses)
			h.Shards = append(h.Shards, payments.ShardRef{CID: c.Bytes(), Bytes: size})
		}
		fe.Holders = append(fe.Holders, h)
	}
	return fe
}

// addSat adds without wrapping around.
func addSat(a, b uint32) uint32 {
	if s := a + b; s >= a {
		return s
	}
	return ^uint32(0)
}
