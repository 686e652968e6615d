package transfer

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// With three stewards and the owner gone, one steward re-places a shard: its co-stewards endorse
// the new holder's receipt, and every steward's record then lists the new holder, verified.
func TestEndorsedByMajorityReachesEveryRecord(t *testing.T) {
	f := newEndorseFixture(t, 3)
	a := f.nodes[0]
	ent := f.receipt(t, 5)
	out, err := GatherEndorsements(ctx(t), a.c, a.id(), a.priv, f.m, f.mc, f.chain, []manifest.Entry{ent})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || len(out[0].Endorsements) != 3 {
		t.Fatalf("gathered %+v, want the entry endorsed by all 3 stewards", out)
	}
	for i, n := range f.nodes {
		if !f.holds(t, n, ent.Receipt.Holder, 5) {
			t.Errorf("steward %d's record does not list the new holder", i)
		}
		var listed []cid.Cid
		if err := n.sw.Stewarded(func(c cid.Cid) error { listed = append(listed, c); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(listed) != 1 || !listed[0].Equals(f.mc) {
			t.Errorf("steward %d lists %v, want [%s]", i, listed, f.mc)
		}
	}
}

// With five stewards the asker's endorsement plus one more is no majority, so a co-steward keeps
// the entry only once the asker publishes its merged record; what GatherEndorsements returns is
// enough for that.
func TestEndorseFiveStewardsThenPublish(t *testing.T) {
	f := newEndorseFixture(t, 5)
	a := f.nodes[0]
	ent := f.receipt(t, 2, 6)
	out, err := GatherEndorsements(ctx(t), a.c, a.id(), a.priv, f.m, f.mc, f.chain, []manifest.Entry{ent})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || len(out[0].Endorsements) != 5 {
		t.Fatalf("gathered %+v, want 5 endorsements", out)
	}
	if !f.holds(t, a, ent.Receipt.Holder, 6) {
		t.Fatal("the asker's own record does not list the new holder")
	}
	b := f.nodes[1]
	if f.holds(t, b, ent.Receipt.Holder, 6) {
		t.Fatal("a co-steward kept an entry endorsed by 2 of 5")
	}
	body, rec, err := a.sw.Load(f.mc)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range f.nodes[1:] {
		if err := a.c.PutManifest(ctx(t), n.id(), f.mc, body, rec); err != nil {
			t.Fatal(err)
		}
		if !f.holds(t, n, ent.Receipt.Holder, 2) {
			t.Error("published record does not list the new holder")
		}
	}
}

// A peer outside the latest steward set gets nothing endorsed, even a valid receipt.
func TestEndorseRefusesNonMember(t *testing.T) {
	f := newEndorseFixture(t, 3)
	b := f.nodes[1]
	outsider := newStewardNode(t)
	connect(t, outsider.h, b.h)
	_, err := outsider.c.Endorse(ctx(t), b.id(), f.mc, []manifest.Entry{f.receipt(t, 1)}, nil)
	if !wire.IsCode(err, wire.CodeForbidden) || !strings.Contains(err.Error(), "neither a steward") {
		t.Fatalf("outsider: %v, want forbidden (neither a steward nor a holder)", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.vetSeen != 0 {
		t.Fatal("an outsider's request reached Vet")
	}
}

// A receipt not signed by its holder, and one Vet refuses, are refused with a reason; the other
// entries of the same request are endorsed and kept.
func TestEndorseRefusesEntriesOneByOne(t *testing.T) {
	f := newEndorseFixture(t, 3)
	a, b := f.nodes[0], f.nodes[1]
	good := f.receipt(t, 0)
	forged := f.receipt(t, 1)
	forged.Receipt.Sig[0] ^= 0xff
	audited := f.receipt(t, 3)
	b.refuseHolder(audited.Receipt.Holder)
	// The asker's own endorsement rides along, so b's makes a majority of three.
	entries := []manifest.Entry{good, forged, audited}
	for i := range entries {
		sig, err := manifest.Endorse(a.priv, &entries[i].Receipt)
		if err != nil {
			t.Fatal(err)
		}
		entries[i].Endorsements = []manifest.Signature{sig}
	}
	reply, err := a.c.Endorse(ctx(t), b.id(), f.mc, entries, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := reply.Entries
	if r[0].Err != nil || r[0].Sig.Signer != b.id() {
		t.Errorf("good entry: %+v", r[0])
	}
	if !wire.IsCode(r[1].Err, wire.CodeBadInput) || !strings.Contains(r[1].Err.Error(), "signature") {
		t.Errorf("forged receipt: %v, want bad_input about the signature", r[1].Err)
	}
	if !wire.IsCode(r[2].Err, wire.CodeForbidden) || !strings.Contains(r[2].Err.Error(), "audit of") {
		t.Errorf("vetted-out entry: %v, want forbidden with Vet's reason", r[2].Err)
	}
	if !f.holds(t, b, good.Receipt.Holder, 0) {
		t.Error("the endorsed entry is not in the endorser's record")
	}
	if f.holds(t, b, audited.Receipt.Holder, 3) || f.holds(t, b, forged.Receipt.Holder, 1) {
		t.Error("a refused entry got into the record")
	}
	if reply.SetSig != nil || reply.SetErr != nil {
		t.Errorf("no set was proposed, got %+v", reply)
	}
}

// A removed file's stewards endorse nothing for it, and stop listing it.
func TestEndorseRefusesRemovedFile(t *testing.T) {
	f := newEndorseFixture(t, 3)
	a, b := f.nodes[0], f.nodes[1]
	if err := b.sw.Tombstone(f.mc, f.mtok, nil); err != nil {
		t.Fatal(err)
	}
	_, err := a.c.Endorse(ctx(t), b.id(), f.mc, []manifest.Entry{f.receipt(t, 1)}, nil)
	if !wire.IsCode(err, wire.CodeForbidden) {
		t.Fatalf("removed file: %v, want forbidden", err)
	}
	if _, err := b.sw.MergeEntries(f.mc, nil); err == nil {
		t.Fatal("merged into a removed file's record")
	}
	n := 0
	_ = b.sw.Stewarded(func(cid.Cid) error { n++; return nil })
	if n != 0 {
		t.Fatalf("a removed file is still listed")
	}
}

// A handover: a majority of epoch 0 signs epoch 1 (one co-steward refusing is not enough to stop
// it), the result verifies as the chain's next epoch, and Merge prefers that longer chain. A
// steward that missed the handover adopts it from the next request, after which the handed-over
// asker is no longer a co-steward.
func TestHandoverSignedByMajority(t *testing.T) {
	f := newEndorseFixture(t, 3)
	a, b, c := f.nodes[0], f.nodes[1], f.nodes[2]
	newcomer := newStewardNode(t)
	b.refuseSets()
	members := []peer.ID{b.id(), c.id(), newcomer.id()}
	next, err := GatherSetSignatures(ctx(t), a.c, a.id(), a.priv, f.m, f.mc, f.chain, members)
	if err != nil {
		t.Fatal(err)
	}
	if next.Epoch != 1 || len(next.Sigs) != 2 {
		t.Fatalf("set %+v, want epoch 1 signed by a and c", next)
	}
	_, old, err := b.sw.Record(f.mc)
	if err != nil {
		t.Fatal(err)
	}
	handed := &manifest.Locations{Manifest: f.mc, Stewards: append(slices.Clone(f.chain), next)}
	if err := handed.Verify(f.m); err != nil {
		t.Fatalf("handed-over chain does not verify: %v", err)
	}
	if got := manifest.Merge(f.m, old, handed); len(got.Stewards) != 2 || len(got.Entries) != len(old.Entries) {
		t.Fatalf("merge kept %d epochs and %d entries, want 2 and %d", len(got.Stewards), len(got.Entries), len(old.Entries))
	}
	if _, own, _ := a.sw.Record(f.mc); len(own.Stewards) != 2 {
		t.Fatalf("the asker's record has %d epochs, want the new one adopted", len(own.Stewards))
	}
	// b still has epoch 0 (a is a member there) and adopts epoch 1 from a's request, which then
	// fails: a handed over.
	_, err = a.c.Endorse(ctx(t), b.id(), f.mc, []manifest.Entry{f.receipt(t, 1)}, nil)
	if !wire.IsCode(err, wire.CodeForbidden) {
		t.Fatalf("handed-over asker: %v, want forbidden", err)
	}
	if _, own, _ := b.sw.Record(f.mc); len(own.Stewards) != 2 {
		t.Fatalf("b's record has %d epochs, want epoch 1 adopted from the request", len(own.Stewards))
	}
	// A proposal that does not follow the latest epoch is refused with a reason.
	reply, err := c.c.Endorse(ctx(t), b.id(), f.mc, nil, &manifest.StewardSet{Epoch: 5, Members: members})
	if err != nil {
		t.Fatal(err)
	}
	if reply.SetSig != nil || !wire.IsCode(reply.SetErr, wire.CodeBadInput) {
		t.Fatalf("epoch 5 proposal: %+v, want bad_input", reply)
	}
}

// Without a majority no set is returned, and the reasons say why.
func TestHandoverWithoutMajorityFails(t *testing.T) {
	f := newEndorseFixture(t, 3)
	a := f.nodes[0]
	f.nodes[1].refuseSets()
	f.nodes[2].refuseSets()
	_, err := GatherSetSignatures(ctx(t), a.c, a.id(), a.priv, f.m, f.mc, f.chain, []peer.ID{a.id()})
	if err == nil || !strings.Contains(err.Error(), "not agreed") {
		t.Fatalf("%v, want a failure that quotes the refusals", err)
	}
	if _, own, _ := a.sw.Record(f.mc); len(own.Stewards) != 1 {
		t.Fatal("a failed handover changed the record")
	}
}

// endorseRaw sends hdr, and body once the steward says go ahead, and returns its answer.
func endorseRaw(t *testing.T, from host.Host, to peer.ID, hdr any, body []byte) (endorseResp, error) {
	t.Helper()
	s, err := from.NewStream(ctx(t), to, ProtoEndorse)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	_ = s.SetDeadline(time.Now().Add(10 * time.Second))
	if err := wire.Write(s, hdr); err != nil {
		return endorseResp{}, err
	}
	var ok Status
	if err := wire.Read(s, &ok); err != nil || !ok.OK {
		return endorseResp{Status: ok}, err
	}
	if _, err := s.Write(body); err != nil {
		return endorseResp{}, err
	}
	var resp endorseResp
	return resp, wire.Read(s, &resp)
}

// Malformed, oversized or inconsistent requests, even from a co-steward, are refused with a
// reason (or the stream is reset, for garbage framing); nothing panics and the steward goes on.
func TestEndorseMalformedRequests(t *testing.T) {
	f := newEndorseFixture(t, 3)
	a, b := f.nodes[0], f.nodes[1]
	mc := f.mc.String()
	id := []byte(a.id())
	tooMany := make([][]byte, manifest.MaxStewards+1)
	for i := range tooMany {
		_, p := key(t)
		tooMany[i] = []byte(p)
	}
	rec := manifest.NewLocations(f.mc)
	rec.Add(f.receipt(t, 1))
	oneEntry, err := rec.Encode()
	if err != nil {
		t.Fatal(err)
	}
	empty, _ := manifest.NewLocations(f.mc).Encode()
	other := manifest.NewLocations(codecCBORCID("another manifest"))
	other.Add(manifest.Entry{Receipt: f.receipt(t, 1).Receipt})
	otherBody, _ := other.Encode()
	for name, tc := range map[string]struct {
		hdr  any
		body []byte
	}{
		"bad cid":             {m{"manifest": "x", "entries": 1, "len": 10}, nil},
		"too many entries":    {m{"manifest": mc, "entries": MaxEndorseEntries + 1, "len": 10}, nil},
		"negative entries":    {m{"manifest": mc, "entries": -1, "len": 10}, nil},
		"empty body":          {m{"manifest": mc, "entries": 1, "len": 0}, nil},
		"huge body":           {m{"manifest": mc, "entries": 1, "len": MaxEndorseBody + 1}, nil},
		"over the manifest":   {m{"manifest": mc, "entries": 1, "len": manifest.MaxLocationsSize(f.m) + 1}, nil},
		"nothing asked":       {m{"manifest": mc, "entries": 0, "len": 10}, nil},
		"set of 17":           {m{"manifest": mc, "entries": 0, "len": 10, "next": m{"epoch": 1, "members": tooMany}}, nil},
		"set of garbage":      {m{"manifest": mc, "entries": 0, "len": 10, "next": m{"epoch": 1, "members": [][]byte{{1, 2, 3}}}}, nil},
		"set with a twin":     {m{"manifest": mc, "entries": 0, "len": 10, "next": m{"epoch": 1, "members": [][]byte{id, id}}}, nil},
		"garbage body":        {m{"manifest": mc, "entries": 1, "len": 64}, bytes.Repeat([]byte{0xa5}, 64)},
		"fewer entries":       {m{"manifest": mc, "entries": 1, "len": len(empty)}, empty},
		"more entries":        {m{"manifest": mc, "entries": 0, "len": len(oneEntry), "next": m{"epoch": 1, "members": [][]byte{id}}}, oneEntry},
		"body of another cid": {m{"manifest": mc, "entries": 1, "len": len(otherBody)}, otherBody},
	} {
		resp, err := endorseRaw(t, a.h, b.id(), tc.hdr, tc.body)
		if err != nil || resp.OK || resp.Code != wire.CodeBadInput || resp.Error == "" {
			t.Errorf("%s: %+v, %v; want bad_input with a reason", name, resp, err)
		}
	}
	for _, junk := range [][]byte{{0xff, 0xff, 0xff, 0xff}, frame(m{"evil": 1}), frame(m{"Manifest": mc, "entries": 1, "len": 1})} {
		if _, err := raw(t, a.c, b.id(), ProtoEndorse, junk); err == nil {
			t.Errorf("junk %x answered as if valid", junk)
		}
	}
	ent := f.receipt(t, 4)
	reply, err := a.c.Endorse(ctx(t), b.id(), f.mc, []manifest.Entry{ent}, nil)
	if err != nil || reply.Entries[0].Err != nil {
		t.Fatalf("steward stopped endorsing after malformed input: %v %+v", err, reply)
	}
}

func codecCBORCID(s string) cid.Cid { return codec.BlobCID(codec.CodecCBOR, []byte(s)) }

// One member returning a bad set signature does not spoil a majority the others make; with too
// few good ones left, no set comes out.
func TestSignedSetLeavesOutABadSignature(t *testing.T) {
	f := newEndorseFixture(t, 5)
	next := manifest.StewardSet{Epoch: 1, Members: f.chain[0].Members[:3]}
	var got []manifest.Signature
	for _, n := range f.nodes[1:] {
		s := manifest.StewardSet{Epoch: next.Epoch, Members: next.Members}
		if err := s.SignBy(n.priv, f.mc); err != nil {
			t.Fatal(err)
		}
		got = append(got, s.Sigs[0])
	}
	got[1].Sig = bytes.Repeat([]byte{1}, 64)
	own := manifest.StewardSet{Epoch: next.Epoch, Members: next.Members}
	if err := own.SignBy(f.nodes[0].priv, f.mc); err != nil {
		t.Fatal(err)
	}
	s, ok := signedSet(f.m, f.mc, f.chain, own, got)
	if !ok || len(s.Sigs) != 4 || slices.ContainsFunc(s.Sigs, func(x manifest.Signature) bool { return x.Signer == got[1].Signer }) {
		t.Fatalf("signed set %+v, ok=%v; want the 4 good signatures", s, ok)
	}
	if _, ok := signedSet(f.m, f.mc, f.chain, next, got[:2]); ok {
		t.Fatal("one good signature of five made a set")
	}
}

// A holder that is not a steward may get endorsements only for handing over its own positions
// (a graceful exit), never for adding holders elsewhere in the file.
func TestEndorseHolderHandsOverOnlyItsOwn(t *testing.T) {
	f := newEndorseFixture(t, 3)
	leaver := newStewardNode(t)
	for _, nd := range f.nodes {
		connect(t, leaver.h, nd.h)
	}
	r := manifest.Receipt{Positions: []uint32{0}, Time: 200}
	if err := r.Sign(leaver.priv, f.m); err != nil {
		t.Fatal(err)
	}
	a := f.nodes[0]
	if _, err := GatherEndorsements(ctx(t), a.c, a.id(), a.priv, f.m, f.mc, f.chain, []manifest.Entry{{Receipt: r}}); err != nil {
		t.Fatal(err)
	}
	b := f.nodes[1]
	if !f.holds(t, b, leaver.id(), 0) {
		t.Fatal("the leaver is not a holder in the co-steward's record")
	}
	reply, err := leaver.c.Endorse(ctx(t), b.id(), f.mc, []manifest.Entry{f.receipt(t, 0), f.receipt(t, 1)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Entries[0].Err != nil {
		t.Fatalf("handing over its own position was refused: %v", reply.Entries[0].Err)
	}
	if e := reply.Entries[1].Err; !wire.IsCode(e, wire.CodeForbidden) || !strings.Contains(e.Error(), "not the asking holder's") {
		t.Fatalf("a position the leaver does not hold: %v, want forbidden", e)
	}
	next := manifest.StewardSet{Epoch: 1, Members: []peer.ID{leaver.id()}}
	if _, err := leaver.c.Endorse(ctx(t), b.id(), f.mc, nil, &next); !wire.IsCode(err, wire.CodeForbidden) {
		t.Fatalf("a holder proposing a steward set: %v, want forbidden", err)
	}
}
