package node_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node"
	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/testnet"
	"github.com/cairn-storage/cairn/payments"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"lukechampine.com/blake3"
)

// attestEpoch is the test network's epoch length in seconds: long enough that a leader can
// attest an epoch and restart twice before the next one closes.
const attestEpoch = 10

// storageBy returns the Storage bodies nd's ledger holds that nd signed about manifest mc and
// that end at to (0: any end).
func storageBy(t *testing.T, nd *node.Node, mc cid.Cid, to int64) []payments.Storage {
	t.Helper()
	var buf bytes.Buffer
	if err := nd.LedgerExport(ctxT(t), &buf); err != nil {
		t.Fatal(err)
	}
	var out []payments.Storage
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		b, err := base64.StdEncoding.DecodeString(sc.Text())
		if err != nil {
			t.Fatal(err)
		}
		e, err := payments.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind != payments.KindStorage || peer.ID(e.Author) != nd.Host().ID() {
			continue
		}
		s, err := payments.DecodeStorage(e)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(s.Manifest, mc.Bytes()) && (to == 0 || s.To == to) {
			out = append(out, *s)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// expectedLeader is the first steward of set in the repair leader's rendezvous order.
func expectedLeader(t *testing.T, mc cid.Cid, set []string) peer.ID {
	t.Helper()
	var best peer.ID
	var bestKey []byte
	for _, s := range set {
		p, err := peer.Decode(s)
		if err != nil {
			t.Fatal(err)
		}
		k := blake3.Sum256(append(mc.Bytes(), []byte(p)...))
		if bestKey == nil || bytes.Compare(k[:], bestKey) < 0 {
			best, bestKey = p, k[:]
		}
	}
	return best
}

// The repair leader among a file's stewards, and only it, attests each holder's shards once an
// epoch closes: right parties, sizes and span, signed on its chain and accepted by its own
// ledger. A restart does not attest the epoch again; without attest.json it would. Holders new
// in the epoch count from their receipts; in the next, audited ones count from its start.
func TestStorageAttestationsByLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for an epoch to close")
	}
	fixed := testnet.FixedPorts(t)
	net := testnet.Start(t, 6, func(i int, c *config.Config) {
		fixed(i, c)
		c.Ledger.EpochLength = config.Duration(attestEpoch * time.Second)
	})
	grid := payments.EpochParams{Length: attestEpoch}

	// Put at the start of an epoch, so every receipt is dated inside it.
	e0, _ := grid.Of(time.Now().Unix())
	e0++
	start, end, _ := grid.Bounds(e0)
	time.Sleep(time.Until(time.Unix(start, 300e6)))
	data := randomBytes(300<<10, 77)
	res, err := net.Nodes[0].Put(ctxT(t), bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4, Partner: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	putDone := time.Now().Unix()
	if putDone >= end {
		t.Fatalf("the put took until %d, past its epoch's end %d", putDone, end)
	}
	mc, err := cid.Decode(res.CID)
	if err != nil {
		t.Fatal(err)
	}
	st := statFrom(t, net.Nodes[1], res.Cap)
	leaderID := expectedLeader(t, mc, st.StewardSet)
	li, leader := nodeByID(net, leaderID.String())
	if leader == nil {
		t.Fatalf("leader %s is not a test node", leaderID)
	}
	type key struct{ holder, shard string }
	want := map[key]int64{} // → shard size
	for _, seg := range st.Segments {
		for _, sh := range seg.Shards {
			for _, h := range sh.Holders {
				if h != leaderID.String() {
					want[key{h, sh.CID}] = seg.ShardSize
				}
			}
		}
	}
	if len(want) == 0 {
		t.Fatal("no holder other than the leader")
	}
	wantAgain := maps.Clone(want)

	// The epoch closes; the leader attests within a chore interval.
	var got []payments.Storage
	for deadline := time.Unix(end+8, 0); ; time.Sleep(200 * time.Millisecond) {
		if got = storageBy(t, leader, mc, end); len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("leader signed %d attestations for epoch %d, want %d", len(got), e0, len(want))
	}
	owner := net.Nodes[0].Host().ID()
	for _, s := range got {
		h, sh := peer.ID(s.Holder).String(), cid.Cid{}
		if _, c, err := cid.CidFromBytes(s.Shard); err == nil {
			sh = c
		}
		size, ok := want[key{h, sh.String()}]
		switch {
		case !ok:
			t.Errorf("attestation of %s's shard %s, which the record does not list", h, sh)
		case s.Bytes != size || s.Partner != "acme" || peer.ID(s.Owner) != owner:
			t.Errorf("attestation %+v: want %d bytes, partner acme, owner %s", s, size, owner)
		case s.From < start || s.From > putDone || s.To != end:
			t.Errorf("span [%d, %d), want from the receipt time in [%d, %d] to %d", s.From, s.To, start, putDone, end)
		}
		delete(want, key{h, sh.String()})
	}
	for i, nd := range net.Nodes {
		if i != li {
			if n := len(storageBy(t, nd, mc, 0)); n > 0 {
				t.Errorf("node %d, not the leader, signed %d attestations of the file", i, n)
			}
		}
	}
	count := len(got)

	// Restarted in the next epoch, the leader does not attest the closed one again...
	leader = net.Restart(t, li)
	if n, err := leader.AttestPassForTest(ctxT(t), time.Unix(end+1, 0)); err != nil || n != 0 {
		t.Fatalf("after a restart: %d attestations of epoch %d again (err %v)", n, e0, err)
	}
	if n := len(storageBy(t, leader, mc, end)); n != count {
		t.Fatalf("after a restart: %d attestations of epoch %d, had %d", n, e0, count)
	}
	// ...and it is attest.json that prevents it: without it, the receipts still dated inside
	// the epoch are attested once more.
	net.Stop(t, li)
	if err := os.Remove(filepath.Join(net.Repos[li].Path, "attest.json")); err != nil {
		t.Fatal(err)
	}
	leader = net.StartAgain(t, li)
	if _, err := leader.AttestPassForTest(ctxT(t), time.Unix(end+1, 0)); err != nil {
		t.Fatal(err)
	}
	if time.Now().Unix() >= end+attestEpoch {
		t.Skip("the restarts outlasted the next epoch: the control is moot")
	}
	again := storageBy(t, leader, mc, end)
	if len(again) <= count || !slices.ContainsFunc(again, func(s payments.Storage) bool { return s.Audits == 0 }) {
		t.Fatalf("without attest.json: %d attestations of epoch %d, want more than %d", len(again), e0, count)
	}

	// The next epoch, holders the leader audited since its restart are attested over all of it.
	start, end = end, end+attestEpoch
	for deadline := time.Unix(end+8, 0); ; time.Sleep(200 * time.Millisecond) {
		if got = storageBy(t, leader, mc, end); len(got) >= len(wantAgain) || time.Now().After(deadline) {
			break
		}
	}
	if len(got) != len(wantAgain) {
		t.Fatalf("leader signed %d attestations for epoch %d, want %d", len(got), e0+1, len(wantAgain))
	}
	for _, s := range got {
		_, sh, _ := cid.CidFromBytes(s.Shard)
		if _, ok := wantAgain[key{peer.ID(s.Holder).String(), sh.String()}]; !ok || s.From != start || s.To != end || s.Audits == 0 {
			t.Errorf("attestation %+v: want a listed shard, span [%d, %d), audits", s, start, end)
		}
	}
	for i, nd := range net.Nodes {
		if i != li {
			if n := len(storageBy(t, nd, mc, 0)); n > 0 {
				t.Errorf("node %d, not the leader, signed %d attestations of the file", i, n)
			}
		}
	}
}
