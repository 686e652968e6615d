package reputation

import (
	"bytes"
	"slices"

	"lukechampine.com/blake3"
)

// RepairTakeoverRounds is how many repair intervals a steward waits, per rank, before it
// repairs a file whose leader has not: the leader may be slow, or failing.
const RepairTakeoverRounds = 10

// StewardRank is self's position among members ordered by BLAKE3(file ‖ member), or -1 if self
// is not a member. file is the manifest CID's bytes. It is a rendezvous order every steward
// computes alike and that differs per file, so no node leads every file: rank 0 repairs and
// attests, the others stand by (RepairWait).
func StewardRank(file []byte, members []NodeID, self NodeID) int {
	if !slices.Contains(members, self) {
		return -1
	}
	mine := stewardKey(file, self)
	rank := 0
	for _, m := range members {
		if m != self && less(stewardKey(file, m), mine) {
			rank++
		}
	}
	return rank
}

func less(a, b [32]byte) bool { return bytes.Compare(a[:], b[:]) < 0 }

func stewardKey(file []byte, m NodeID) [32]byte {
	var buf [128]byte // file CID and peer ID fit: no allocation per key
	return blake3.Sum256(append(append(buf[:0], file...), m...))
}

// RepairWait is how long (in the unit of interval) the steward at rank must see a file below
// its repair threshold before it repairs: at once for the leader, RepairTakeoverRounds repair
// intervals more per rank for the others.
func RepairWait(rank int, interval int64) int64 {
	return int64(rank) * RepairTakeoverRounds * interval
}

// IsLeader reports whether self leads file among members: it is a member and no member ranked
// before it is alive. alive is asked only about members ranked before self. A file with no
// steward set has no leader, so every keeper acts (callers decide what that means).
func IsLeader(file []byte, members []NodeID, self NodeID, alive func(NodeID) bool) bool {
	if !slices.Contains(members, self) {
		return false
	}
	mine := stewardKey(file, self)
	for _, m := range members {
		if m != self && less(stewardKey(file, m), mine) && alive(m) {
			return false
		}
	}
	return true
}

// Candidate returns id as a placement candidate scored by this book at now: the reputation
// rank as Score (0 for disqualified or suspended nodes, so they get nothing new) and the
// vetting. The node and the simulator build candidates through it.
func (b *Book) Candidate(id NodeID, subnet string, free, now int64) Candidate {
	r, _ := b.Get(id)
	return Candidate{ID: id, Subnet: subnet, Free: free, Score: b.p.PlacementScore(r, now), Vetted: r.Vetted}
}
