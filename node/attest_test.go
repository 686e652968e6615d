package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/cairn-storage/cairn/payments"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// AttestPassForTest runs one attestation pass as of now, as the chore does, and returns how
// many attestations it signed (for node_test).
func (n *Node) AttestPassForTest(ctx context.Context, now time.Time) (int, error) {
	return n.attestPass(ctx, now)
}

func attestTestPeers(t *testing.T, k int) []peer.ID {
	t.Helper()
	out := make([]peer.ID, k)
	for i := range out {
		_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = peer.IDFromPublicKey(pub); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// attestTestFile is a 2-segment, 2-of-3 file tagged "acme" whose stewards are stewards, with
// one receipt per holder, each for the positions given.
func attestTestFile(t *testing.T, owner peer.ID, stewards []peer.ID, receipts map[peer.ID][]uint32, at map[peer.ID]int64) stewardedFile {
	t.Helper()
	m := &manifest.Manifest{K: 2, N: 3, Owner: owner, Partner: "acme"}
	for s := range 2 {
		seg := manifest.Segment{ShardSize: int64(1000 + s)}
		for i := range 3 {
			seg.Shards = append(seg.Shards, codec.ShardCID(fmt.Appendf(nil, "shard %d.%d", s, i)))
			seg.DeleteHashes = append(seg.DeleteHashes, [32]byte{})
		}
		m.Segments = append(m.Segments, seg)
	}
	mc := codec.BlobCID(codec.CodecCBOR, []byte(t.Name()))
	loc := &manifest.Locations{Manifest: mc,
		Stewards: []manifest.StewardSet{{Members: slices.Sorted(slices.Values(stewards))}}}
	for h, ps := range receipts {
		loc.Add(manifest.Entry{Receipt: manifest.Receipt{Manifest: mc, Holder: h, Positions: ps, Time: at[h]}})
	}
	return stewardedFile{mc: mc, m: m, loc: loc}
}

// leaderOrder sorts members by the repair rendezvous order of f.
func leaderOrder(f stewardedFile, members []peer.ID) []peer.ID {
	out := slices.Clone(members)
	slices.SortFunc(out, func(a, b peer.ID) int {
		return stewardRank(f.mc, members, a) - stewardRank(f.mc, members, b)
	})
	return out
}

func TestAttestLeaderIsFirstLiveSteward(t *testing.T) {
	ps := attestTestPeers(t, 5)
	stewards := ps[:3]
	f := attestTestFile(t, ps[4], stewards, nil, nil)
	order := leaderOrder(f, stewards)
	all := func(peer.ID) bool { return true }
	for i, s := range order {
		if got := attestLeader(f, s, all); got != (i == 0) {
			t.Errorf("steward of rank %d: leader %v, all alive", i, got)
		}
	}
	var asked []peer.ID
	deadFirst := func(p peer.ID) bool { asked = append(asked, p); return p != order[0] }
	if !attestLeader(f, order[1], deadFirst) || attestLeader(f, order[2], deadFirst) {
		t.Error("with the first steward dead, the second must lead, alone")
	}
	if attestLeader(f, order[0], func(peer.ID) bool { t.Error("the first steward asked about others"); return true }) != true {
		t.Error("the first steward does not lead")
	}
	if slices.Contains(asked, order[2]) {
		t.Error("a steward asked about one ranked after it")
	}
	if attestLeader(f, ps[3], all) {
		t.Error("a node outside the steward set leads")
	}
}

// The plan from a record and tallies: audited holders from the epoch start with their passes,
// a failed audit withholds, a holder new this epoch counts from its receipt, the steward's own
// shards and unevidenced holders are left out; a steward that does not lead plans nothing.
func TestAttestPlanFromRecord(t *testing.T) {
	grid := payments.EpochParams{Genesis: 1_700_000_000, Length: 3600}
	const epoch = 7
	start, end, _ := grid.Bounds(epoch)
	ps := attestTestPeers(t, 8)
	owner, self, passer, failer, newcomer, silent, absent := ps[0], ps[1], ps[2], ps[3], ps[4], ps[5], ps[6]
	stewards := []peer.ID{self, ps[7]}
	receipts := map[peer.ID][]uint32{
		self: {0}, passer: {1, 4}, failer: {2, 5}, newcomer: {3}, silent: {0}, absent: {1},
	}
	at := map[peer.ID]int64{self: start - 99, passer: start - 99, failer: start - 99,
		newcomer: start + 120, silent: start + 60, absent: start - 99}
	f := attestTestFile(t, owner, stewards, receipts, at)
	tallies := map[holderShard]auditTally{
		{self, f.m.Segments[0].Shards[0]}:     {passes: 3},
		{passer, f.m.Segments[0].Shards[1]}:   {passes: 2},
		{passer, f.m.Segments[1].Shards[1]}:   {passes: 1, misses: 1},
		{failer, f.m.Segments[0].Shards[2]}:   {passes: 4},
		{failer, f.m.Segments[1].Shards[2]}:   {fails: 1},
		{silent, f.m.Segments[0].Shards[0]}:   {misses: 2}, // new, but never answered
		{passer, f.m.Segments[0].Shards[2]}:   {fails: 5},  // not a shard passer holds
		{newcomer, f.m.Segments[0].Shards[0]}: {fails: 5},  // nor one newcomer holds
	}
	// What the pass does per file: lead, then plan.
	plan := func(self peer.ID) []payments.Storage {
		if !attestLeader(f, self, func(peer.ID) bool { return true }) {
			return nil
		}
		return planAs(t, f, tallies, epoch, grid, self)
	}
	if other := leaderOrder(f, stewards)[1]; len(plan(other)) != 0 {
		t.Fatal("a steward that does not lead planned attestations")
	}
	if len(plan(leaderOrder(f, stewards)[0])) == 0 {
		t.Fatal("the leader planned nothing")
	}
	// Either steward, were it to lead, plans the same but for its own shards.
	for _, leader := range stewards {
		checkAttestPlan(t, f, planAs(t, f, tallies, epoch, grid, leader), leader, owner, self, passer, newcomer, start, end)
	}
}

func planAs(t *testing.T, f stewardedFile, tallies map[holderShard]auditTally, epoch uint64, grid payments.EpochParams, steward peer.ID) []payments.Storage {
	t.Helper()
	out, err := payments.PlanStorage(epoch, grid, []byte(steward), []payments.FileEvidence{attestEvidence(f, tallies)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func checkAttestPlan(t *testing.T, f stewardedFile, got []payments.Storage, leader, owner, self, passer, newcomer peer.ID, start, end int64) {
	t.Helper()
	wants := []struct {
		holder peer.ID
		shard  cid.Cid
		bytes  int64
		from   int64
		audits uint32
	}{
		{self, f.m.Segments[0].Shards[0], 1000, start, 3},
		{passer, f.m.Segments[0].Shards[1], 1000, start, 3},
		{passer, f.m.Segments[1].Shards[1], 1001, start, 3},
		{newcomer, f.m.Segments[1].Shards[0], 1001, start + 120, 0},
	}
	var exp []payments.Storage
	for _, w := range wants {
		if w.holder == leader {
			continue // a steward never attests its own storage
		}
		exp = append(exp, payments.Storage{Holder: []byte(w.holder), Manifest: f.mc.Bytes(), Shard: w.shard.Bytes(),
			Owner: []byte(owner), Partner: "acme", Bytes: w.bytes, From: w.from, To: end, Audits: w.audits})
	}
	slices.SortFunc(exp, func(a, b payments.Storage) int { return bytes.Compare(a.Holder, b.Holder) })
	if len(got) != len(exp) {
		t.Fatalf("planned %d attestations, want %d:\n%+v", len(got), len(exp), got)
	}
	for i := range exp {
		g, e := got[i], exp[i]
		if !bytes.Equal(g.Holder, e.Holder) || !bytes.Equal(g.Shard, e.Shard) || !bytes.Equal(g.Manifest, e.Manifest) ||
			!bytes.Equal(g.Owner, e.Owner) || g.Partner != e.Partner || g.Bytes != e.Bytes || g.From != e.From ||
			g.To != e.To || g.Audits != e.Audits {
			t.Errorf("attestation %d:\n got %+v\nwant %+v", i, g, e)
		}
	}
}

func TestAttestTrackerKeepsFewEpochs(t *testing.T) {
	var none *attestTracker // attestations off: audits are ignored
	none.audited("p", []cid.Cid{cid.Undef}, []bool{true}, time.Now())
	none.missed("p", []transfer.AuditItem{{}}, time.Now())

	dir := t.TempDir()
	tr, err := openAttestTracker(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := codec.ShardCID([]byte("x"))
	tr.audited("p", []cid.Cid{c}, []bool{true}, time.Unix(5, 0)) // no grid yet: not counted
	tr.setGrid(payments.EpochParams{Length: 10})
	for e := range 6 {
		at := time.Unix(int64(10*e+1), 0)
		tr.audited("p", []cid.Cid{c, c}, []bool{true, false}, at)
		tr.missed("p", []transfer.AuditItem{{Shard: c}}, at)
	}
	if len(tr.tallies) != maxAttestEpochs {
		t.Fatalf("%d epochs kept, want %d", len(tr.tallies), maxAttestEpochs)
	}
	if got := tr.epoch(5)[holderShard{"p", c}]; got != (auditTally{1, 1, 1}) {
		t.Fatalf("epoch 5 tally %+v", got)
	}
	if err := tr.attested(4, 50); err != nil {
		t.Fatal(err)
	}
	if len(tr.tallies) != 1 || len(tr.epoch(4)) != 0 {
		t.Fatalf("after attesting epoch 4, epochs %v are kept", tr.tallies)
	}
	again, err := openAttestTracker(dir)
	if err != nil || again.state != (attestState{4, 50}) {
		t.Fatalf("reopened: %+v, %v", again.state, err)
	}
	tr.setGrid(payments.EpochParams{Length: 20})
	if len(tr.tallies) != 0 {
		t.Fatal("tallies of another grid kept")
	}
	if err := os.WriteFile(filepath.Join(dir, attestFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if bad, err := openAttestTracker(dir); err == nil || bad == nil || bad.state != (attestState{}) {
		t.Fatalf("a damaged attest.json: %v, %+v", err, bad)
	}
}
