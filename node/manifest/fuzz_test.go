package manifest

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Seeds shared by f.Add and by the committed corpus generator. Near-valid
// seeds steer the fuzzer into the deep validation paths.

func manifestSeeds(t testing.TB) [][]byte {
	good := mustEncode(t, buildManifest(2*1000+1, 1000, 2, 4, "file.txt"))
	empty := mustEncode(t, buildManifest(0, 1<<20, 1, 2, ""))
	g := string(good)
	return [][]byte{
		good,
		empty,
		[]byte(strings.Replace(g, `"k":2`, `"k":4`, 1)),
		[]byte(strings.Replace(g, `"size":2001`, `"size":3001`, 1)),
		[]byte(strings.Replace(g, `"name":"file.txt"`, `"name":"a/b"`, 1)),
		[]byte(strings.Replace(g, `"version":1`, `"version":2`, 1)),
		[]byte(g + " "),
		[]byte(`{}`),
	}
}

func capabilitySeeds(t testing.TB) []string {
	c := Capability{Manifest: CID(mustEncode(t, buildManifest(10, 8, 1, 2, "")))}
	c.Key[0] = 1
	s := c.String()
	return []string{
		s,
		" " + s + "\n",
		"cairn:w:" + s[len("cairn:r:"):],
		"cairn:r:" + shardCID(0, 0).String() + s[strings.LastIndex(s, ":"):],
		s[:len(s)-1] + "b",
		s + "a",
		"cairn:r:",
	}
}

func locationsSeeds(t testing.TB) [][]byte {
	m := buildManifest(25, 10, 2, 4, "")
	l := signedLocations(t, m, testKey(t, 7))
	good, err := l.Encode()
	if err != nil {
		t.Fatal(err)
	}
	g := string(good)
	return [][]byte{
		good,
		[]byte(strings.Replace(g, `"holders":[[0`, `"holders":[[7`, 1)),
		[]byte(strings.Replace(g, `"seq":3`, `"seq":4`, 1)),
		[]byte(strings.Replace(g, `"signature":"`, `"signature":"0`, 1)),
		[]byte(`{"manifest":"","seq":0,"peers":[],"holders":[],"author":"","time":0,"signature":""}`),
	}
}

func FuzzDecodeManifest(f *testing.F) {
	for _, s := range manifestSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("accepted manifest does not encode: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("accepted non-canonical bytes:\n in %q\nout %q", b, enc)
		}
		m2, err := Decode(enc)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

func FuzzParseCapability(f *testing.F) {
	for _, s := range capabilitySeeds(f) {
		f.Add(s)
	}
	sentinels := []error{ErrNotCapability, ErrUnsupportedKind, ErrMalformedCID, ErrNotManifestCID, ErrMalformedKey}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCapability(s)
		if err != nil {
			matched := 0
			for _, e := range sentinels {
				if errors.Is(err, e) {
					matched++
				}
			}
			if matched != 1 {
				t.Fatalf("error %v matches %d sentinels, want 1", err, matched)
			}
			return
		}
		if c.String() != strings.TrimSpace(s) {
			t.Fatalf("accepted non-canonical %q (canonical %q)", s, c.String())
		}
		if c2, err := ParseCapability(c.String()); err != nil || c2 != c {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

func FuzzDecodeLocations(f *testing.F) {
	for _, s := range locationsSeeds(f) {
		f.Add(s)
	}
	m := buildManifest(25, 10, 2, 4, "")
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeLocations(b)
		if err != nil {
			return
		}
		_ = l.Verify() // must not panic on hostile keys or signatures
		_ = l.CheckAgainst(m)
		for i := -1; i <= len(l.Holders); i++ {
			for j := -1; j <= MaxShards; j++ {
				l.Holder(i, j)
			}
		}
		enc, err := l.Encode()
		if err != nil {
			t.Fatalf("accepted record does not encode: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("accepted non-canonical bytes:\n in %q\nout %q", b, enc)
		}
		l2, err := DecodeLocations(enc)
		if err != nil || !reflect.DeepEqual(l, l2) {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

// TestFuzzSeedsValid keeps the "valid" seeds valid as the format evolves,
// so the fuzzers keep starting from inputs that reach the accept path.
func TestFuzzSeedsValid(t *testing.T) {
	for _, b := range manifestSeeds(t)[:2] {
		if _, err := Decode(b); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range capabilitySeeds(t)[:2] {
		if _, err := ParseCapability(s); err != nil {
			t.Fatal(err)
		}
	}
	l, err := DecodeLocations(locationsSeeds(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}
