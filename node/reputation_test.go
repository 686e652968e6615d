package node_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node"
	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
)

// peerView is nd's reputation record of id.
func peerView(t *testing.T, nd *node.Node, id string) (api.PeerInfo, []api.PeerInfo) {
	t.Helper()
	ps, err := nd.Peers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.ID == id {
			return p, ps
		}
	}
	return api.PeerInfo{}, ps
}

// corruptShards overwrites, in place and at the same size, every blob nd stores except the
// manifests named in keep: the holder still claims its shards but no longer has their bytes.
func corruptShards(t *testing.T, nd *node.Node, keep map[string]bool) int {
	t.Helper()
	var n int
	err := nd.Store().List(func(c cid.Cid, size int64) error {
		if keep[c.String()] {
			return nil
		}
		f, _, err := nd.Store().Open(c)
		if err != nil {
			return nil
		}
		path := f.Name()
		f.Close()
		n++
		return os.WriteFile(path, bytes.Repeat([]byte{0xAB}, int(size)), 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A holder whose shard files are overwritten fails its audits: the stewards score it below
// every honest node, disqualify it, and place no new shard on it.
func TestCheatingHolderIsDisqualified(t *testing.T) {
	if testing.Short() {
		t.Skip("needs dozens of audit rounds")
	}
	net := fastNet(t, 7)
	up := net.Nodes[0]
	var caps []string
	keep := map[string]bool{}
	for i := range 3 {
		_, res := putRandom(t, up, 4<<20, uint64(100+i))
		caps = append(caps, res.Cap)
		keep[res.CID] = true
	}
	// The cheat: a holder other than the uploader; the observer: a steward of the first file
	// that is neither.
	st := statFrom(t, up, caps[0])
	var cheat, observer *node.Node
	for _, s := range st.Segments[0].Shards {
		if _, nd := nodeByID(net, s.Holder); nd != up && cheat == nil {
			cheat = nd
		}
	}
	for _, id := range st.Stewards {
		if _, nd := nodeByID(net, id); nd != nil && nd != cheat && nd != up {
			observer = nd
			break
		}
	}
	if cheat == nil || observer == nil {
		t.Fatal("no holder other than the uploader, or no steward other than it and the cheat")
	}
	cheatID := cheat.Host().ID().String()
	if n := corruptShards(t, cheat, keep); n == 0 {
		t.Fatal("the cheat holds no shard")
	}
	waitFor(t, 2*time.Minute, "the observer disqualifying the cheat", func() bool {
		p, _ := peerView(t, observer, cheatID)
		return p.Disqualified
	})
	p, all := peerView(t, observer, cheatID)
	if p.AuditsFailed == 0 || p.Status != "disqualified" {
		t.Fatalf("cheat as seen by the observer: %+v", p)
	}
	for _, o := range all {
		if o.ID != cheatID && o.Score <= p.Score {
			t.Fatalf("honest %s scores %.4f, not above the cheat's %.4f", o.ID, o.Score, p.Score)
		}
	}
	// New files from the observer go nowhere near the cheat.
	for i := range 4 {
		_, res := putRandom(t, observer, 2<<20, uint64(200+i))
		for _, seg := range statFrom(t, observer, res.Cap).Segments {
			for _, s := range seg.Shards {
				if slices.Contains(s.Holders, cheatID) {
					t.Fatalf("new file %d placed shard %d on the disqualified cheat", i, s.Index)
				}
			}
		}
	}
}

// A holder that passes audits but refuses to serve downloads is penalised by the readers it
// refuses: its suspension score and rank drop below every honest holder's.
func TestRefusingDownloadsIsPenalised(t *testing.T) {
	net := fastNet(t, 6)
	up := net.Nodes[0]
	data, res := putRandom(t, up, 1<<20, 7)
	st := statFrom(t, up, res.Cap)
	// The refuser holds a data shard (readers ask those first), and is not the uploader.
	_, refuser := nodeByID(net, st.Segments[0].Shards[0].Holder)
	if refuser == up {
		_, refuser = nodeByID(net, st.Segments[0].Shards[1].Holder)
	}
	var reader *node.Node
	for _, nd := range net.Nodes[1:] {
		if nd != refuser {
			reader = nd
			break
		}
	}
	refuser.Host().SetStreamHandler(transfer.ProtoShardGet, func(s network.Stream) { s.Reset() })
	refuserID := refuser.Host().ID().String()
	for i := range 12 {
		var out bytes.Buffer
		if err := reader.Get(ctxT(t), res.Cap, &out, func(int64) {}); err != nil {
			t.Fatalf("get %d: %v", i, err)
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("get %d returned other bytes", i)
		}
		if p, _ := peerView(t, reader, refuserID); p.Status == "suspended" {
			break
		}
	}
	// Warned or suspended (audits it passes meanwhile count as answers too), ranked below every
	// honest peer, and not called a liar.
	p, all := peerView(t, reader, refuserID)
	if p.Status != "suspended" && p.Status != "warned" {
		t.Fatalf("refuser as seen by the reader: %+v", p)
	}
	if p.Disqualified || p.AuditsFailed != 0 {
		t.Fatalf("a refusal is not a lie, yet: %+v", p)
	}
	for _, o := range all {
		if o.ID != refuserID && (o.Suspension <= p.Suspension || o.Rank <= p.Rank) {
			t.Fatalf("honest %+v is not above the refuser %+v", o, p)
		}
	}
}
