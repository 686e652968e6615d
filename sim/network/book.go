package network

import "github.com/cairn-storage/cairn/reputation"

// book is the one shared reputation book: reputation.Book's state and methods, keyed by node
// index instead of by NodeID string. Each method is its Book counterpart's body over the same
// pure Params functions (Book.Apply is Params.Apply on the peer's record, Book.Candidate is
// Params.PlacementScore and Record.Vetted), so the records are identical
// (TestBookMatchesReputationBook replays a run's observations through a reputation.Book);
// at 100,000 nodes the string-keyed map cost a sixth of the run.
type book struct {
	p    reputation.Params
	recs []reputation.Record // the zero Record: never observed
}

// apply is Book.Apply.
func (b *book) apply(i int32, o reputation.Observation) {
	if r := b.p.Apply(b.recs[i], o); r.Started {
		b.recs[i] = r
	}
}

// get is Book.Get: a fresh record for a node never observed.
func (b *book) get(i int32) reputation.Record {
	if r := b.recs[i]; r.Started {
		return r
	}
	return b.p.NewRecord()
}

// status is Book.Status.
func (b *book) status(i int32, now int64) reputation.Status { return b.p.Status(b.get(i), now) }

// candidate is Book.Candidate.
func (b *book) candidate(i int32, id reputation.NodeID, subnet string, free, now int64) reputation.Candidate {
	r := b.get(i)
	return reputation.Candidate{ID: id, Subnet: subnet, Free: free, Score: b.p.PlacementScore(r, now), Vetted: r.Vetted}
}

// Record is node's record in the shared book (a fresh one if never observed).
func (n *Network) Record(node int32) reputation.Record { return n.book.get(node) }

// Status is node's status in the shared book now.
func (n *Network) Status(node int32) reputation.Status {
	return n.book.status(node, n.Unix(n.now()))
}

// Params are the shared book's parameters.
func (n *Network) Params() reputation.Params { return n.params }
