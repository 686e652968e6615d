package node

import (
	"testing"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/ledgersync"
	"github.com/cairn-storage/cairn/payments"
	"github.com/libp2p/go-libp2p/core/peer"
)

// describeDifferences names the entries behind a disagreement: this node's own entries the
// peer lacks, with their kind and ID, and the peer's entries this node lacks, by Seq.
func TestDescribeDifferences(t *testing.T) {
	l := openTestLedger(t, t.TempDir(), newTestKey(t))
	for i := range 3 {
		if _, err := l.AppendOwn(payments.KindPrice, &payments.Price{FromEpoch: uint64(i), StorageGiBMonth: 1, EgressGiB: 1}); err != nil {
			t.Fatal(err)
		}
	}
	other, _ := peer.IDFromPrivateKey(newTestKey(t))
	n := &Node{led: l}
	res := &api.VerifyResult{}
	n.describeDifferences(res, "peer-x", []ledgersync.HeadDiff{
		{Author: []byte(l.self), Ours: 3, Theirs: 1},
		{Author: []byte(other), Ours: 0, Theirs: 2},
	})
	if len(res.Differences) != 4 {
		t.Fatalf("differences %+v, want 4", res.Differences)
	}
	for i, d := range res.Differences[:2] {
		if d.Side != "missing_there" || d.Author != l.self.String() || d.Seq != uint64(i+2) || d.Kind != "price" || len(d.ID) != 64 {
			t.Fatalf("difference %d: %+v", i, d)
		}
	}
	for i, d := range res.Differences[2:] {
		if d.Side != "missing_here" || d.Author != other.String() || d.Seq != uint64(i+1) || d.Peer != "peer-x" {
			t.Fatalf("difference %d: %+v", i+2, d)
		}
	}
	// The list is bounded.
	res = &api.VerifyResult{}
	n.describeDifferences(res, "peer-x", []ledgersync.HeadDiff{{Author: []byte(other), Theirs: 1 << 20}})
	if len(res.Differences) != api.MaxVerifyDifferences {
		t.Fatalf("%d differences, want the cap %d", len(res.Differences), api.MaxVerifyDifferences)
	}
}
