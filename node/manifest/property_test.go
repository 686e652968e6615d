package manifest

import (
	"bytes"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

// genManifest draws a valid manifest of arbitrary shape (few segments, so
// huge sizes stay cheap).
func genManifest(t *rapid.T, tb testing.TB) *Manifest {
	k := rapid.IntRange(1, 254).Draw(t, "k")
	n := rapid.IntRange(k+1, MaxShards).Draw(t, "n")
	segSize := rapid.Int64Range(1, MaxSegmentSize).Draw(t, "segSize")
	count := rapid.Int64Range(1, 4).Draw(t, "count")
	lo := int64(0)
	if count > 1 {
		lo = (count-1)*segSize + 1
	}
	size := rapid.Int64Range(lo, count*segSize).Draw(t, "size")
	m := buildManifest(tb, size, segSize, k, n)
	m.Partner = rapid.StringMatching(`[a-z0-9._-]{0,64}`).Draw(t, "partner")
	m.Meta = rapid.SliceOfN(rapid.Byte(), MinMetaSize, MaxMetaSize).Draw(t, "meta")
	m.Owner = testPeer(tb, rapid.ByteRange(1, 8).Draw(t, "owner"))
	copy(m.DeleteHash[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "deleteHash"))
	dh := rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "shardDeleteHash")
	copy(m.Segments[0].DeleteHashes[n-1][:], dh)
	return m
}

func TestPropertyManifestRoundTrip(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := genManifest(rt, t)
		b, err := m.Encode()
		if err != nil {
			rt.Fatalf("valid manifest did not encode: %v", err)
		}
		got, err := Decode(b)
		if err != nil {
			rt.Fatalf("decode own encoding: %v", err)
		}
		if !reflect.DeepEqual(got, m) {
			rt.Fatalf("round trip changed manifest")
		}
		if err := Verify(CID(b), b); err != nil {
			rt.Fatal(err)
		}
		// Canonical only: any single-byte change is rejected or decodes to
		// a manifest that re-encodes to exactly the changed bytes.
		i := rapid.IntRange(0, len(b)-1).Draw(rt, "i")
		mut := bytes.Clone(b)
		mut[i] ^= rapid.ByteRange(1, 255).Draw(rt, "x")
		if m2, err := Decode(mut); err == nil {
			if b2, err := m2.Encode(); err != nil || !bytes.Equal(b2, mut) {
				rt.Fatalf("accepted non-canonical mutation at byte %d", i)
			}
		}
	})
}

func TestPropertyMetaRoundTrip(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var key [32]byte
		copy(key[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(rt, "key"))
		name := rapid.StringOfN(rapid.Rune().Filter(func(r rune) bool { return r != '/' && r != 0 }), 0, 60, MaxNameLen).Draw(rt, "name")
		if name == "." || name == ".." {
			name = ""
		}
		sealed, err := SealMeta(key, Meta{Name: name})
		if err != nil {
			rt.Fatal(err)
		}
		if (len(sealed)-MinMetaSize)%32 != 0 {
			rt.Fatalf("plaintext of %d bytes", len(sealed)-MinMetaSize)
		}
		got, err := OpenMeta(key, sealed)
		if err != nil || got.Name != name {
			rt.Fatalf("open: %q %v", got.Name, err)
		}
	})
}

func TestPropertyCapabilityRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var c Capability
		c.Manifest = CID(rapid.SliceOf(rapid.Byte()).Draw(t, "manifest"))
		copy(c.Key[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "key"))
		got, err := ParseCapability(c.String())
		if err != nil || got != c {
			t.Fatalf("round trip: %v %v", got, err)
		}
	})
}

// pool is a fixed set of chains and entries, valid and not, signed once so
// the merge property can draw records from it cheaply.
type pool struct {
	f       *fixture
	chains  [][]StewardSet
	entries []Entry
}

func newPool(t *testing.T) *pool {
	f := newFixture(t)
	p := &pool{f: f}
	c := f.chain()
	fork := f.set(1, []byte{30, 31}, 21, 22)
	p.chains = [][]StewardSet{
		nil,
		c[:1],
		c,
		{c[0], fork},
		{f.set(0, []byte{90}, 90)},       // forged
		{c[0], f.set(1, []byte{90}, 20)}, // minority tail
	}
	endorsers := [][]byte{
		{ownerSeed}, {20, 21}, {20}, {22, 23, 24}, {30, 31}, {90}, nil, {ownerSeed, 20, 90},
	}
	for i := range 24 {
		holder := byte(40 + i%5)
		pos := []uint32{uint32(i % 12)}
		if i%3 == 0 {
			pos = append(pos, uint32(i%12)+1)
		}
		p.entries = append(p.entries, f.entry(holder, int64(100+i%4), endorsers[i%len(endorsers)], pos...))
	}
	// Same receipt, different endorsements.
	r := f.receipt(45, 100, 3)
	for _, en := range [][]byte{{20}, {21}, {22}} {
		e := Entry{Receipt: r}
		f.endorse(&e, en...)
		p.entries = append(p.entries, e)
	}
	return p
}

func (p *pool) draw(t *rapid.T, label string) *Locations {
	l := NewLocations(p.f.id)
	l.Stewards = cloneChain(rapid.SampledFrom(p.chains).Draw(t, label+" chain"))
	for _, i := range rapid.SliceOfNDistinct(rapid.IntRange(0, len(p.entries)-1), 0, 10, rapid.ID[int]).Draw(t, label+" entries") {
		l.Add(p.entries[i])
	}
	return l
}

func TestPropertyMerge(t *testing.T) {
	p := newPool(t)
	m := p.f.m
	rapid.Check(t, func(rt *rapid.T) {
		a, b := p.draw(rt, "a"), p.draw(rt, "b")
		ab, ba := Merge(m, a, b), Merge(m, b, a)
		if err := ab.Verify(m); err != nil {
			rt.Fatalf("merge is invalid: %v", err)
		}
		eab, err := ab.Encode()
		if err != nil {
			rt.Fatal(err)
		}
		eba, err := ba.Encode()
		if err != nil {
			rt.Fatal(err)
		}
		if !bytes.Equal(eab, eba) {
			rt.Fatal("Merge is not commutative")
		}
		if again, _ := Merge(m, ab, ab).Encode(); !bytes.Equal(again, eab) {
			rt.Fatal("Merge with itself is not the identity")
		}
		if again, _ := Merge(m, ab, nil).Encode(); !bytes.Equal(again, eab) {
			rt.Fatal("Merge with nothing is not the identity")
		}
		// Everything valid in a survives merging with b, unless b brings a
		// longer chain or the limits drop it.
		va := Merge(m, a, nil)
		if bytes.Equal(chainBytes(va.Stewards), chainBytes(ab.Stewards)) && !atLimit(ab, m) {
			for _, e := range va.Entries {
				if ab.Positions(e.Receipt.Holder) == nil {
					rt.Fatalf("valid entry of %s hidden by merge", e.Receipt.Holder)
				}
			}
		}
		dec, err := DecodeLocations(eab)
		if err != nil || !reflect.DeepEqual(dec, ab) {
			rt.Fatalf("decode of merge: %v", err)
		}
	})
}

// atLimit reports whether some shard of l has MaxHoldersPerShard holders,
// where Merge may have dropped older entries.
func atLimit(l *Locations, m *Manifest) bool {
	for seg := range m.Segments {
		for j := range m.N {
			if len(l.Holders(seg, j, m.N)) >= MaxHoldersPerShard {
				return true
			}
		}
	}
	return false
}
