package manifest

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestLocationsRoundTrip(t *testing.T) {
	f := newFixture(t)
	l := f.record()
	b := mustEncodeLoc(t, l)
	got, err := DecodeLocations(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, l) {
		t.Fatalf("round trip changed record:\n got %+v\nwant %+v", got, l)
	}
	if err := got.Verify(f.m); err != nil {
		t.Fatal(err)
	}
	if b2 := mustEncodeLoc(t, got); !bytes.Equal(b, b2) {
		t.Fatal("re-encoding differs")
	}
	if len(b) > MaxLocationsSize(f.m) {
		t.Fatalf("%d bytes over bound %d", len(b), MaxLocationsSize(f.m))
	}
	empty := NewLocations(f.id)
	got, err = DecodeLocations(mustEncodeLoc(t, empty))
	if err != nil || !reflect.DeepEqual(got, empty) {
		t.Fatalf("empty record: %+v, %v", got, err)
	}
}

func TestLocationsHoldersPositions(t *testing.T) {
	f := newFixture(t)
	l := f.record()
	h40, h41, h42 := testPeer(t, 40), testPeer(t, 41), testPeer(t, 42)
	l.Add(f.entry(43, 100, []byte{ownerSeed}, 5))
	h43 := testPeer(t, 43)
	cases := []struct {
		seg, shard int
		want       []peer.ID
	}{
		{0, 0, []peer.ID{h40}},
		{0, 1, []peer.ID{h41}},
		{1, 1, sortedIDs(h41, h43)}, // position 5
		{2, 3, []peer.ID{h42}},      // position 11
		{0, 3, nil},
		{-1, 0, nil},
		{0, 4, nil},
		{3, 0, nil},
	}
	for _, tc := range cases {
		if got := l.Holders(tc.seg, tc.shard, f.m.N); !slices.Equal(got, tc.want) {
			t.Fatalf("Holders(%d, %d) = %v, want %v", tc.seg, tc.shard, got, tc.want)
		}
	}
	if got := l.Positions(h42); !slices.Equal(got, []uint32{2, 7, 11}) {
		t.Fatalf("Positions = %v", got)
	}
	l.Positions(h42)[0] = 9
	if l.Positions(h42)[0] != 2 {
		t.Fatal("Positions exposes internal slice")
	}
	if l.Positions(testPeer(t, 99)) != nil {
		t.Fatal("unknown holder has positions")
	}
	if l.Holders(0, 0, 0) != nil {
		t.Fatal("n=0 answered")
	}
}

func sortedIDs(ids ...peer.ID) []peer.ID {
	slices.Sort(ids)
	return ids
}

// TestEndorsementRule is the core rule: a holder counts only with its own
// receipt, endorsed by the owner or a strict majority of one steward set.
func TestEndorsementRule(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name      string
		endorsers []byte
		want      string // "" = accepted
	}{
		{"owner", []byte{ownerSeed}, ""},
		{"epoch 0 majority", []byte{20, 21}, ""},
		{"epoch 0 all", []byte{20, 21, 22}, ""},
		{"epoch 1 majority", []byte{22, 23, 24}, ""},
		{"owner and stewards", []byte{ownerSeed, 20}, ""},
		{"none", nil, "endorsed neither"},
		{"stranger", []byte{90}, "neither the owner nor a steward"},
		{"stranger and owner", []byte{ownerSeed, 90}, "neither the owner nor a steward"},
		{"epoch 0 minority", []byte{20}, "endorsed neither"},
		{"epoch 1 half", []byte{23, 24}, "endorsed neither"},
		{"mixed epochs, no majority of either", []byte{20, 23}, "endorsed neither"},
		{"holder itself", []byte{40}, "neither the owner nor a steward"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLocations(f.id)
			l.Stewards = f.chain()
			l.Add(f.entry(40, 100, tc.endorsers, 3))
			err := l.Verify(f.m)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error mentioning %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "entry 0 (holder "+testPeer(t, 40).String()+")") {
				t.Fatalf("error %q does not name the entry", err)
			}
		})
	}
}

func TestStewardChainRule(t *testing.T) {
	f := newFixture(t)
	e0 := f.set(0, epoch0, ownerSeed)
	cases := []struct {
		name  string
		chain []StewardSet
		want  string
	}{
		{"epoch 0 by owner", []StewardSet{e0}, ""},
		{"epoch 1 by majority", []StewardSet{e0, f.set(1, epoch1, 21, 22)}, ""},
		{"epoch 1 by all", []StewardSet{e0, f.set(1, epoch1, 20, 21, 22)}, ""},
		{"epoch 0 by stranger", []StewardSet{f.set(0, epoch0, 90)}, "signed by the owner"},
		{"epoch 0 by steward", []StewardSet{f.set(0, epoch0, 20)}, "signed by the owner"},
		{"epoch 0 by owner and more", []StewardSet{f.set(0, epoch0, ownerSeed, afterOwner(t))}, "owner"},
		{"epoch 1 by minority", []StewardSet{e0, f.set(1, epoch1, 20)}, "signed by 1 of epoch 0's 3 members, want a strict majority"},
		{"epoch 1 by owner", []StewardSet{e0, f.set(1, epoch1, ownerSeed)}, "not a member of epoch 0"},
		{"epoch 1 with stranger", []StewardSet{e0, f.set(1, epoch1, 20, 90)}, "not a member of epoch 0"},
		{"epoch 2 by half of epoch 1", []StewardSet{e0, f.set(1, epoch1, 20, 21), f.set(2, epoch0, 22, 23)}, "signed by 2 of epoch 1's 4 members, want a strict majority"},
		{"epoch 2 by majority of epoch 1", []StewardSet{e0, f.set(1, epoch1, 20, 21), f.set(2, epoch0, 22, 23, 25)}, ""},
		{"epoch 2 by epoch 0", []StewardSet{e0, f.set(1, epoch1, 20, 21), f.set(2, epoch0, 20, 21)}, "not a member of epoch 1"},
		{"wrong epoch number", []StewardSet{e0, f.set(2, epoch1, 20, 21)}, "epoch 2 at position 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLocations(f.id)
			l.Stewards = tc.chain
			err := l.Verify(f.m)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error mentioning %q", err, tc.want)
			}
		})
	}
	// A set signed for another manifest does not transfer.
	g := newFixture(t)
	g.m.Partner = "other"
	g.id = CID(mustEncode(t, g.m))
	l := NewLocations(f.id)
	l.Stewards = []StewardSet{g.set(0, epoch0, ownerSeed)}
	if err := l.Verify(f.m); err == nil || !strings.Contains(err.Error(), "bad signature") {
		t.Fatalf("set signed for another manifest: %v", err)
	}
	// Changing members after signing breaks the signature.
	s := f.set(0, epoch0, ownerSeed)
	s.Members[0] = testPeer(t, 19)
	slices.Sort(s.Members)
	l.Stewards = []StewardSet{s}
	if err := l.Verify(f.m); err == nil || !strings.Contains(err.Error(), "bad signature") {
		t.Fatalf("members changed after signing: %v", err)
	}
}

func TestReceiptTampering(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name string
		mut  func(r *Receipt)
	}{
		{"position", func(r *Receipt) { r.Positions[0] = 4 }},
		{"added position", func(r *Receipt) { r.Positions = append(r.Positions, 9) }},
		{"time", func(r *Receipt) { r.Time++ }},
		{"holder", func(r *Receipt) { r.Holder = testPeer(t, 41) }},
		{"sig", func(r *Receipt) { r.Sig[3] ^= 1 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.receipt(40, 100, 3, 6)
			tc.mut(&r)
			// Endorse after tampering, so only the holder's signature is
			// left to catch it.
			e := Entry{Receipt: r}
			f.endorse(&e, ownerSeed)
			l := NewLocations(f.id)
			l.Add(e)
			err := l.Verify(f.m)
			if err == nil || !strings.Contains(err.Error(), "receipt: bad signature") {
				t.Fatalf("got %v, want a bad receipt signature", err)
			}
			if r.Verify(f.m) == nil {
				t.Fatal("Receipt.Verify accepted it")
			}
		})
	}
	// Tampering after endorsement breaks the endorsement too.
	e := f.entry(40, 100, []byte{ownerSeed}, 3)
	r2 := f.receipt(40, 101, 3)
	e.Receipt = r2
	l := NewLocations(f.id)
	l.Add(e)
	if err := l.Verify(f.m); err == nil || !strings.Contains(err.Error(), "endorsement: bad signature") {
		t.Fatalf("endorsement of another receipt: %v", err)
	}
}

func TestReceiptOtherManifest(t *testing.T) {
	f := newFixture(t)
	g := newFixture(t)
	g.m.Segments[0].DeleteHashes[0][5] = 1
	g.id = CID(mustEncode(t, g.m))
	r := g.receipt(40, 100, 3)
	if err := r.Verify(f.m); err == nil || !strings.Contains(err.Error(), "is for manifest") {
		t.Fatalf("receipt for another manifest: %v", err)
	}
	// Encode refuses to file it under f's manifest.
	mixed := NewLocations(f.id)
	mixed.Add(Entry{Receipt: r})
	if _, err := mixed.Encode(); err == nil || !strings.Contains(err.Error(), "receipt is for manifest") {
		t.Fatalf("Encode of a receipt for another manifest: %v", err)
	}
	// Relabelled to f's manifest: the signature covers the CID, so it fails.
	r.Manifest = f.id
	e := Entry{Receipt: r}
	f.endorse(&e, ownerSeed)
	l := NewLocations(f.id)
	l.Add(e)
	if err := l.Verify(f.m); err == nil || !strings.Contains(err.Error(), "receipt: bad signature") {
		t.Fatalf("relabelled receipt: %v", err)
	}
	// A whole record for another manifest.
	other := g.record()
	if err := other.Verify(f.m); err == nil || !strings.Contains(err.Error(), "record is for manifest") {
		t.Fatalf("record for another manifest: %v", err)
	}
}

func TestReceiptSignChecks(t *testing.T) {
	f := newFixture(t)
	r := Receipt{Positions: []uint32{12}, Time: 1}
	err := r.Sign(testKey(t, 40), f.m)
	if err == nil || !strings.Contains(err.Error(), "position 12 out of range (manifest has 12 shards)") {
		t.Fatalf("out of range: %v", err)
	}
	if r.Holder != "" || r.Manifest.Defined() {
		t.Fatal("failed Sign changed the receipt")
	}
	for _, ps := range [][]uint32{nil, {3, 3}, {4, 2}} {
		r := Receipt{Positions: ps, Time: 1}
		if r.Sign(testKey(t, 40), f.m) == nil {
			t.Fatalf("signed positions %v", ps)
		}
	}
	r = Receipt{Positions: []uint32{1}, Time: -1}
	if r.Sign(testKey(t, 40), f.m) == nil {
		t.Fatal("signed negative time")
	}
	if r.Sign(nil, f.m) == nil {
		t.Fatal("signed with nil key")
	}
	// The error names entry, holder and position.
	r = f.receipt(40, 1, 11)
	small := buildManifest(t, 10, 8, 1, 2)
	r.Manifest = CID(mustEncode(t, small))
	if _, err := r.SigningBytes(small); err == nil || !strings.Contains(err.Error(), "position 11 out of range (manifest has 4 shards)") {
		t.Fatalf("SigningBytes: %v", err)
	}
}

func TestLocationsAdd(t *testing.T) {
	f := newFixture(t)
	l := NewLocations(f.id)
	old := f.entry(40, 100, []byte{ownerSeed}, 3)
	newer := f.entry(40, 200, []byte{20, 21}, 4)
	l.Add(newer)
	l.Add(old)
	if got := l.Positions(testPeer(t, 40)); !slices.Equal(got, []uint32{4}) {
		t.Fatalf("older receipt replaced newer: %v", got)
	}
	// Equal time: the lower canonical bytes win, whatever the order.
	a, b := f.entry(41, 100, []byte{ownerSeed}, 1), f.entry(41, 100, []byte{ownerSeed}, 2)
	l1, l2 := NewLocations(f.id), NewLocations(f.id)
	l1.Add(a)
	l1.Add(b)
	l2.Add(b)
	l2.Add(a)
	if !reflect.DeepEqual(l1, l2) {
		t.Fatal("equal-time tie depends on order")
	}
	// Same receipt: endorsements are united and stay sorted.
	r := f.receipt(42, 100, 5)
	x, y := Entry{Receipt: r}, Entry{Receipt: r}
	f.endorse(&x, 22, 20)
	f.endorse(&y, 21, 20)
	l.Add(x)
	l.Add(y)
	i := slices.IndexFunc(l.Entries, func(e Entry) bool { return e.Receipt.Holder == testPeer(t, 42) })
	if got := len(l.Entries[i].Endorsements); got != 3 {
		t.Fatalf("%d endorsements, want 3", got)
	}
	if err := checkSignatures(l.Entries[i].Endorsements); err != nil {
		t.Fatal(err)
	}
	// Entries stay sorted by holder; Add copies its input.
	for j := 1; j < len(l.Entries); j++ {
		if l.Entries[j-1].Receipt.Holder >= l.Entries[j].Receipt.Holder {
			t.Fatal("entries not sorted")
		}
	}
	x.Receipt.Positions[0] = 7
	if l.Entries[i].Receipt.Positions[0] != 5 {
		t.Fatal("Add kept a reference to its input")
	}
}

func TestLocationsHolderLimit(t *testing.T) {
	f := newFixture(t)
	l := NewLocations(f.id)
	for h := range byte(MaxHoldersPerShard) {
		l.Add(f.entry(40+h, 100, []byte{ownerSeed}, 6))
	}
	if err := l.Verify(f.m); err != nil {
		t.Fatal(err)
	}
	l.Add(f.entry(50, 100, []byte{ownerSeed}, 6))
	if err := l.Verify(f.m); err == nil || !strings.Contains(err.Error(), "segment 1 shard 2 has more than 4 holders") {
		t.Fatalf("5 holders: %v", err)
	}
}

func TestDecodeLocationsRejects(t *testing.T) {
	f := newFixture(t)
	l := f.record()
	good := mustEncodeLoc(t, l)
	// Records that Encode refuses are built through the wire form.
	enc := func(mut func(w *wireLocations)) []byte {
		fresh, err := DecodeLocations(good) // wire() shares slices: mutate a copy
		if err != nil {
			t.Fatal(err)
		}
		w := fresh.wire()
		mut(w)
		b, err := marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	emptyRec := mustEncodeLoc(t, NewLocations(f.id))
	nullEntries := append(bytes.TrimSuffix(emptyRec, []byte{0x03, 0x80}), 0x03, 0xf6)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "EOF"},
		{"json v1", []byte(`{"manifest":"b","seq":1}`), "format version 1"},
		{"trailing", append(bytes.Clone(good), 0), "extraneous data"},
		{"tag", append([]byte{0xd8, 0x20}, good...), "tag"},
		{"null entries", nullEntries, "canonical"},
		{"indefinite", append(append([]byte{0xbf}, good[1:]...), 0xff), "indefinite"},
		{"unknown key", append(append([]byte{0xa4}, good[1:]...), 0x04, 0x00), "unknown field"},
		{"json manifest cid", enc(func(w *wireLocations) { w.Manifest[1] = 0x80 }), "manifest"},
		{"cid trailing", enc(func(w *wireLocations) { w.Manifest = append(w.Manifest, 0) }), "trailing"},
		{"unsorted entries", enc(func(w *wireLocations) { w.Entries[0], w.Entries[1] = w.Entries[1], w.Entries[0] }), "not sorted by distinct holders"},
		{"duplicate holder", enc(func(w *wireLocations) { w.Entries[1] = w.Entries[0] }), "not sorted by distinct holders"},
		{"no positions", enc(func(w *wireLocations) { w.Entries[0].Receipt.Positions = nil }), "no positions"},
		{"unsorted positions", enc(func(w *wireLocations) {
			for _, e := range w.Entries {
				if ps := e.Receipt.Positions; len(ps) > 1 {
					ps[0] = ps[1]
				}
			}
		}), "not strictly ascending"},
		{"negative time", enc(func(w *wireLocations) { w.Entries[0].Receipt.Time = -1 }), "negative time"},
		{"big signature", enc(func(w *wireLocations) { w.Entries[0].Receipt.Sig = make([]byte, 73) }), "signature is 73 bytes"},
		{"no signature", enc(func(w *wireLocations) { w.Entries[0].Receipt.Sig = nil }), "missing signature"},
		{"hashed holder", enc(func(w *wireLocations) { w.Entries[0].Receipt.Holder = []byte(rsaPeer(t)) }), "does not embed"},
		{"garbage holder", enc(func(w *wireLocations) { w.Entries[0].Receipt.Holder = []byte{0, 5, 1} }), "holder"},
		{"unsorted endorsements", enc(func(w *wireLocations) {
			for _, e := range w.Entries {
				if s := e.Endorsements; len(s) > 1 {
					s[0], s[1] = s[1], s[0]
				}
			}
		}), "not sorted by distinct signers"},
		{"too many endorsements", enc(func(w *wireLocations) {
			for range MaxStewards + 1 {
				w.Entries[0].Endorsements = append(w.Entries[0].Endorsements, w.Entries[0].Endorsements[0])
			}
		}), "endorsements, max 17"},
		{"epoch gap", enc(func(w *wireLocations) { w.Stewards[1].Epoch = 2 }), "epoch 2 at position 1"},
		{"no members", enc(func(w *wireLocations) { w.Stewards[0].Members = nil }), "0 members"},
		{"unsorted members", enc(func(w *wireLocations) {
			ms := w.Stewards[1].Members
			ms[0], ms[1] = ms[1], ms[0]
		}), "members not sorted"},
		{"no steward sigs", enc(func(w *wireLocations) { w.Stewards[0].Sigs = nil }), "0 signatures"},
		{"position overflow", bytes.Replace(good, []byte{0x81, 0x00}, []byte{0x81, 0x1b, 0, 0, 0, 1, 0, 0, 0, 0}, 1), "overflows"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in == nil && tc.name != "empty" || bytes.Equal(tc.in, good) {
				t.Fatal("test setup: mutation did not apply")
			}
			_, err := DecodeLocations(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := DecodeLocations(make([]byte, MaxLocationsBytes+1)); err == nil || !strings.Contains(err.Error(), "exceeds limit") {
		t.Fatalf("oversize: %v", err)
	}
}

// TestMaxLocationsSizeBound builds the largest record the rules allow for
// a small manifest (every shard at MaxHoldersPerShard one-position
// holders, each endorsed by the owner and all 16 stewards, and a chain of
// MaxStewardEpochs full sets signed by every member) and checks it fits.
func TestMaxLocationsSizeBound(t *testing.T) {
	if testing.Short() {
		t.Skip("signs a few thousand times")
	}
	f := &fixture{t: t, m: buildManifest(t, 10, 8, 1, 2)}
	f.id = CID(mustEncode(t, f.m))
	members := make([]byte, MaxStewards)
	for i := range members {
		members[i] = byte(100 + i)
	}
	l := NewLocations(f.id)
	l.Stewards = append(l.Stewards, f.set(0, members, ownerSeed))
	for e := 1; e < MaxStewardEpochs; e++ {
		l.Stewards = append(l.Stewards, f.set(uint64(e), members, members...))
	}
	endorsers := append([]byte{ownerSeed}, members...)
	h := byte(40)
	for pos := range uint32(f.m.shardCount()) {
		for range MaxHoldersPerShard {
			l.Add(f.entry(h, 1<<62, endorsers, pos))
			h++
		}
	}
	if err := l.Verify(f.m); err != nil {
		t.Fatal(err)
	}
	b := mustEncodeLoc(t, l)
	bound := MaxLocationsSize(f.m)
	if len(b) > bound || l.accountedSize() > bound {
		t.Fatalf("maximal record takes %d bytes (accounted %d), bound %d", len(b), l.accountedSize(), bound)
	}
	// Ed25519 IDs and signatures are a little shorter than the worst case
	// the bound allows for; the bound is not loose beyond that.
	if len(b) < bound*8/10 {
		t.Fatalf("maximal record takes %d bytes, bound %d is loose", len(b), bound)
	}
	if got := Merge(f.m, l, nil); !bytes.Equal(mustEncodeLoc(t, got), b) {
		t.Fatal("Merge changed a maximal valid record")
	}
	t.Logf("maximal record for %d shards: %d bytes, bound %d", f.m.shardCount(), len(b), bound)
}

func TestMaxLocationsSizeCap(t *testing.T) {
	small := buildManifest(t, 10, 8, 1, 2)
	if n := MaxLocationsSize(small); n >= MaxLocationsBytes || n <= MaxStewardEpochs*maxStewardsWire {
		t.Fatalf("bound for 4 shards: %d", n)
	}
	m := buildManifest(t, 25, 10, 2, 4)
	if n := MaxLocationsSize(m); n != 757522-8*4*2199+12*4*2199 {
		t.Fatalf("bound for 12 shards: %d", n)
	}
	one := buildManifest(t, 16<<20, 16<<20, 4, 8)
	if n := MaxLocationsSize(one); n != 757522 {
		t.Fatalf("bound for one 4-of-8 segment is %d, comment says 757522", n)
	}
	big := &Manifest{N: 8, Segments: make([]Segment, 470)}
	if n := MaxLocationsSize(big); n != MaxLocationsBytes {
		t.Fatalf("bound for 470 segments of 8: %d, want the cap", n)
	}
	huge := &Manifest{N: 255, Segments: make([]Segment, 1<<18)}
	if n := MaxLocationsSize(huge); n != MaxLocationsBytes {
		t.Fatalf("bound for 2^26 shards: %d", n)
	}
	if n := MaxLocationsSize(nil); n <= 0 || n > MaxLocationsBytes {
		t.Fatalf("nil manifest: %d", n)
	}
}

// afterOwner is a key seed whose peer ID sorts after the owner's, so the
// owner's signature comes first in a sorted list.
func afterOwner(t *testing.T) byte {
	for s := byte(20); s < 90; s++ {
		if testPeer(t, s) > testPeer(t, ownerSeed) {
			return s
		}
	}
	t.Fatal("no seed sorts after the owner")
	return 0
}

// TestLocationsSizeLimit lowers the size limit (reaching the real one
// takes tens of thousands of signatures) and checks that Verify enforces
// it and Merge keeps the newest entries within it.
func TestLocationsSizeLimit(t *testing.T) {
	f := newFixture(t)
	l := NewLocations(f.id)
	for h := range byte(3) {
		l.Add(f.entry(40+h, 100+int64(h), []byte{ownerSeed}, uint32(h)))
	}
	if err := l.Verify(f.m); err != nil {
		t.Fatal(err)
	}
	limit := l.accountedSize() - 1
	defer func(old func(*Manifest) int) { locationsLimit = old }(locationsLimit)
	locationsLimit = func(*Manifest) int { return limit }
	if err := l.Verify(f.m); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("max %d for this manifest", limit)) {
		t.Fatalf("oversize record: %v", err)
	}
	got := Merge(f.m, l, nil)
	if err := got.Verify(f.m); err != nil {
		t.Fatal(err)
	}
	if len(got.Entries) != 2 || got.Positions(testPeer(t, 40)) != nil {
		t.Fatalf("Merge kept %d entries (want the 2 newest)", len(got.Entries))
	}
}
