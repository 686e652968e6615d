package manifest

import (
	"bytes"
	"slices"
	"testing"
)

func encodeEq(t *testing.T, a, b *Locations) bool {
	t.Helper()
	return bytes.Equal(mustEncodeLoc(t, a), mustEncodeLoc(t, b))
}

// forged is what a hostile peer serving the manifest would answer: its own
// chain, its own "holders" endorsed by itself, a real holder's receipt
// re-endorsed by a stranger, and strangers' endorsements on real entries.
func forged(f *fixture, real *Locations) *Locations {
	l := NewLocations(f.id)
	l.Stewards = []StewardSet{f.set(0, []byte{90, 91}, 90)}
	l.Add(f.entry(90, 1<<40, []byte{90, 91}, 0, 1, 2, 3))
	l.Add(f.entry(91, 1<<40, []byte{90}, 4))
	// A real holder's newer receipt, endorsed only by strangers.
	l.Add(f.entry(40, 500, []byte{90, 91}, 0, 9))
	// A real entry with extra stranger endorsements.
	e := cloneEntry(real.Entries[1])
	f.endorse(&e, 92)
	l.Add(e)
	return l
}

func TestMergeForgedYieldsReal(t *testing.T) {
	f := newFixture(t)
	real := f.record()
	bad := forged(f, real)
	if bad.Verify(f.m) == nil {
		t.Fatal("forged record verified")
	}
	for _, got := range []*Locations{Merge(f.m, real, bad), Merge(f.m, bad, real)} {
		if err := got.Verify(f.m); err != nil {
			t.Fatal(err)
		}
		if !encodeEq(t, got, real) {
			t.Fatalf("merge with forged record changed it:\n got %+v\nwant %+v", got, real)
		}
	}
	// Alone, the forged record yields nothing.
	got := Merge(f.m, bad, nil)
	if len(got.Entries) != 0 || len(got.Stewards) != 0 {
		t.Fatalf("forged record alone kept %d entries, %d sets", len(got.Entries), len(got.Stewards))
	}
}

func TestMergeCannotHide(t *testing.T) {
	f := newFixture(t)
	full := f.record()
	partial := NewLocations(f.id)
	partial.Stewards = full.Stewards[:1]
	i := slices.IndexFunc(full.Entries, func(e Entry) bool { return e.Receipt.Holder == testPeer(t, 40) })
	partial.Add(full.Entries[i]) // the owner-endorsed one
	for _, got := range []*Locations{Merge(f.m, partial, full), Merge(f.m, full, partial)} {
		if !encodeEq(t, got, full) {
			t.Fatal("merging a partial record hid entries")
		}
	}
	// Entries endorsed only under epoch 1 need the longer chain, which
	// Merge keeps.
	if got := Merge(f.m, partial, nil); len(got.Entries) != 1 {
		t.Fatalf("partial alone: %d entries", len(got.Entries))
	}
}

func TestMergeNewerAndUnion(t *testing.T) {
	f := newFixture(t)
	a, b := NewLocations(f.id), NewLocations(f.id)
	a.Stewards = f.chain()
	b.Stewards = f.chain()
	r := f.receipt(41, 100, 1)
	x, y := Entry{Receipt: r}, Entry{Receipt: r}
	f.endorse(&x, ownerSeed)
	f.endorse(&y, 20, 21)
	a.Add(x)
	b.Add(y)
	a.Add(f.entry(40, 100, []byte{ownerSeed}, 0))
	b.Add(f.entry(40, 200, []byte{22, 23, 24}, 0, 4)) // after a repair
	got := Merge(f.m, a, b)
	if err := got.Verify(f.m); err != nil {
		t.Fatal(err)
	}
	if p := got.Positions(testPeer(t, 40)); !slices.Equal(p, []uint32{0, 4}) {
		t.Fatalf("newer receipt lost: %v", p)
	}
	i := slices.IndexFunc(got.Entries, func(e Entry) bool { return e.Receipt.Holder == testPeer(t, 41) })
	if n := len(got.Entries[i].Endorsements); n != 3 {
		t.Fatalf("endorsements not united: %d", n)
	}
	// A newer receipt nobody endorsed does not displace an endorsed one.
	c := NewLocations(f.id)
	c.Add(Entry{Receipt: f.receipt(40, 999, 0, 1, 2)})
	if p := Merge(f.m, got, c).Positions(testPeer(t, 40)); !slices.Equal(p, []uint32{0, 4}) {
		t.Fatalf("unendorsed newer receipt displaced the endorsed one: %v", p)
	}
}

func TestMergeLimits(t *testing.T) {
	f := newFixture(t)
	a := NewLocations(f.id)
	for h := range byte(MaxHoldersPerShard + 2) {
		a.Add(f.entry(40+h, 100+int64(h), []byte{ownerSeed}, 6))
	}
	got := Merge(f.m, a, nil)
	if err := got.Verify(f.m); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 0)
	for h := byte(2); h < MaxHoldersPerShard+2; h++ {
		want = append(want, 40+h)
	}
	var ids []string
	for _, s := range want {
		ids = append(ids, string(testPeer(t, s)))
	}
	slices.Sort(ids)
	var gotIDs []string
	for _, p := range got.Holders(1, 2, f.m.N) {
		gotIDs = append(gotIDs, string(p))
	}
	if !slices.Equal(gotIDs, ids) {
		t.Fatal("limit did not keep the newest receipts")
	}
	// More than MaxStewards+1 valid endorsements (owner and stewards of
	// two epochs) are reduced to those that justify the entry.
	b := NewLocations(f.id)
	members := make([]byte, MaxStewards)
	for i := range members {
		members[i] = byte(100 + i)
	}
	b.Stewards = []StewardSet{f.set(0, members, ownerSeed), f.set(1, []byte{60, 61}, members...)}
	e := f.entry(40, 1, append(append([]byte{ownerSeed}, members...), 60), 0)
	b.Entries = []Entry{e}
	if b.Verify(f.m) == nil {
		t.Fatal("18 endorsements verified")
	}
	got = Merge(f.m, b, nil)
	if err := got.Verify(f.m); err != nil {
		t.Fatal(err)
	}
	if es := got.Entries[0].Endorsements; len(es) != 1 || es[0].Signer != f.m.Owner {
		t.Fatalf("reduced endorsements: %d", len(es))
	}
}

func TestMergeChainChoice(t *testing.T) {
	f := newFixture(t)
	long := NewLocations(f.id)
	long.Stewards = f.chain()
	short := NewLocations(f.id)
	short.Stewards = long.Stewards[:1]
	if got := Merge(f.m, short, long); len(got.Stewards) != 2 {
		t.Fatal("longer chain not chosen")
	}
	// A chain with a bad tail contributes its valid prefix.
	bad := NewLocations(f.id)
	bad.Stewards = []StewardSet{long.Stewards[0], f.set(1, epoch1, 20)}
	if got := Merge(f.m, bad, nil); len(got.Stewards) != 1 {
		t.Fatalf("bad tail: %d sets", len(got.Stewards))
	}
	// Two forks of equal length: the same winner either way.
	fork := NewLocations(f.id)
	fork.Stewards = []StewardSet{long.Stewards[0], f.set(1, []byte{30, 31}, 21, 22)}
	if !encodeEq(t, Merge(f.m, long, fork), Merge(f.m, fork, long)) {
		t.Fatal("fork choice depends on order")
	}
	// A record for another manifest contributes nothing; an invalid m
	// yields an empty record.
	g := newFixture(t)
	g.m.Partner = "x"
	g.id = CID(mustEncode(t, g.m))
	if got := Merge(f.m, g.record(), nil); len(got.Entries)+len(got.Stewards) != 0 || !got.Manifest.Equals(f.id) {
		t.Fatal("record for another manifest merged")
	}
	if got := Merge(&Manifest{}, long, nil); got.Manifest.Defined() || got.Entries != nil {
		t.Fatal("invalid manifest merged")
	}
}

// TestMergePure: Merge does not modify its inputs.
func TestMergePure(t *testing.T) {
	f := newFixture(t)
	a := f.record()
	b := forged(f, a)
	ab, bb := mustEncodeLoc(t, a), mustEncodeLoc(t, b)
	got := Merge(f.m, a, b)
	got.Entries[0].Receipt.Positions[0] = 99
	got.Stewards[0].Members[0] = "x"
	if !bytes.Equal(ab, mustEncodeLoc(t, a)) || !bytes.Equal(bb, mustEncodeLoc(t, b)) {
		t.Fatal("Merge modified an input")
	}
}
