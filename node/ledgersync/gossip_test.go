package ledgersync

import (
	"context"
	"testing"
	"time"
)

// An entry published on one of five ring-connected hosts reaches every store by gossip.
func TestGossipReachesEveryStore(t *testing.T) {
	nodes := newNodes(t, 5)
	for i := range nodes {
		connect(t, nodes[i].h, nodes[(i+1)%len(nodes)].h)
	}
	waitMesh(t, nodes, 2)

	a, b := newAuthor(t), newAuthor(t)
	first := a.next(t)
	nodes[0].publish(t, first)
	eventually(t, 10*time.Second, "the entry reaches every store", func() bool {
		for _, n := range nodes {
			if !n.st.has(first) {
				return false
			}
		}
		return true
	})
	// Chains from two hosts at once: each arrives in order, or out of order and then fetched.
	nodes[2].publish(t, a.chain(t, 3)...)
	nodes[4].publish(t, b.chain(t, 4)...)
	sameHeads(t, nodes, 10*time.Second, wantHeads(a, b))
}

// Hosts A,B | C,D partitioned publish on each side, one author's chain on both sides in turn;
// after the partition heals, the sync on reconnection gives every store the same heads.
func TestPartitionHeals(t *testing.T) {
	nodes := newNodes(t, 4)
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			connect(t, nodes[i].h, nodes[j].h)
		}
	}
	waitMesh(t, nodes, 3)
	x, y, z := newAuthor(t), newAuthor(t), newAuthor(t)
	nodes[0].publish(t, z.next(t))
	sameHeads(t, nodes, 10*time.Second, wantHeads(z))

	left, right := nodes[:2], nodes[2:]
	for _, l := range left {
		for _, r := range right {
			l.gt.block(r.h.ID())
			r.gt.block(l.h.ID())
			l.h.Network().ClosePeer(r.h.ID())
		}
	}
	eventually(t, 10*time.Second, "partition", func() bool {
		return len(nodes[0].h.Network().Peers()) == 1 && len(nodes[2].h.Network().Peers()) == 1
	})
	nodes[0].publish(t, x.chain(t, 3)...)
	nodes[1].publish(t, z.chain(t, 2)...) // z: 2,3 on the left
	zLeft := wantHeads(x, z)
	nodes[3].publish(t, y.chain(t, 4)...)
	sameHeads(t, left, 10*time.Second, zLeft)
	sameHeads(t, right, 10*time.Second, headsAfter(t, z, 1, y))

	for _, n := range nodes {
		n.gt.unblock()
	}
	connect(t, nodes[0].h, nodes[2].h)
	connect(t, nodes[1].h, nodes[3].h)
	sameHeads(t, nodes, 15*time.Second, wantHeads(x, y, z))

	// Both sides now hold everything: a round fetches nothing.
	stats, err := nodes[0].g.SyncWith(context.Background(), nodes[2].h.ID())
	if err != nil || stats.Fetched != 0 || stats.Authors != 0 {
		t.Fatalf("sync after convergence: %+v, %v", stats, err)
	}
}

// A node that was offline while entries were published catches up when it joins.
func TestOfflineNodeCatchesUp(t *testing.T) {
	nodes := newNodes(t, 3)
	connect(t, nodes[0].h, nodes[1].h)
	connect(t, nodes[1].h, nodes[2].h)
	waitMesh(t, nodes, 1)
	a, b := newAuthor(t), newAuthor(t)
	nodes[0].publish(t, a.chain(t, 5)...)
	nodes[2].publish(t, b.chain(t, 600)...) // more than one range answer holds
	want := wantHeads(a, b)
	sameHeads(t, nodes, 20*time.Second, want)

	late := newNode(t, testConfig)
	connect(t, late.h, nodes[2].h) // no gossip brings old entries: the sync on connection does
	sameHeads(t, []*node{late}, 20*time.Second, want)
	if n := late.st.count(); n != 605 {
		t.Fatalf("late node holds %d entries, want 605", n)
	}
}
