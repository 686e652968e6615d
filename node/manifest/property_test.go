package manifest

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"pgregory.net/rapid"
)

// genManifest draws a valid manifest of arbitrary shape (few segments, so
// huge sizes stay cheap).
func genManifest(t *rapid.T) *Manifest {
	k := rapid.IntRange(1, 254).Draw(t, "k")
	n := rapid.IntRange(k+1, MaxShards).Draw(t, "n")
	segSize := rapid.Int64Range(1, MaxSegmentSize).Draw(t, "segSize")
	count := rapid.Int64Range(1, 4).Draw(t, "count")
	lo := int64(0)
	if count > 1 {
		lo = (count-1)*segSize + 1
	}
	size := rapid.Int64Range(lo, count*segSize).Draw(t, "size")
	name := rapid.StringOfN(nameRune, 0, 60, MaxNameLen).Draw(t, "name")
	if name == "." || name == ".." {
		name = ""
	}
	m := buildManifest(size, segSize, k, n, name)
	copy(m.DeleteHash[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "deleteHash"))
	return m
}

var nameRune = rapid.Rune().Filter(func(r rune) bool { return r != '/' && r != 0 })

func TestPropertyManifestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genManifest(t)
		b, err := m.Encode()
		if err != nil {
			t.Fatalf("valid manifest did not encode: %v", err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("decode own encoding: %v", err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip changed manifest")
		}
		if err := Verify(CID(b), b); err != nil {
			t.Fatal(err)
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

func TestPropertyLocationsRoundTrip(t *testing.T) {
	signer := testKey(t, 42)
	peers := []byte{1, 2, 3, 4, 5, 6}
	pids := make(map[byte]peer.ID)
	for _, p := range peers {
		pids[p] = testPeer(t, p)
	}
	rapid.Check(t, func(t *rapid.T) {
		segs := rapid.IntRange(1, 5).Draw(t, "segs")
		n := rapid.IntRange(2, MaxShards).Draw(t, "n")
		l := NewLocations(CID(rapid.SliceOf(rapid.Byte()).Draw(t, "m")), segs, n)
		l.Seq = rapid.Uint64().Draw(t, "seq")
		l.Time = rapid.Int64().Draw(t, "time")
		sets := rapid.IntRange(0, 20).Draw(t, "sets")
		for range sets {
			i := rapid.IntRange(0, segs-1).Draw(t, "i")
			j := rapid.IntRange(0, n-1).Draw(t, "j")
			l.Set(i, j, pids[rapid.SampledFrom(peers).Draw(t, "p")])
		}
		if err := l.Sign(signer); err != nil {
			t.Fatal(err)
		}
		b, err := l.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeLocations(b)
		if err != nil {
			t.Fatalf("decode own encoding: %v", err)
		}
		if err := got.Verify(); err != nil {
			t.Fatal(err)
		}
		b2, err := got.Encode()
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("re-encode differs: %v", err)
		}
	})
}
