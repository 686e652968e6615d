package manifest

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Seeds shared by f.Add and by the committed corpus (TestWriteFuzzSeeds).
// Near-valid seeds steer the fuzzer into the deep validation paths.

func manifestSeeds(t testing.TB) [][]byte {
	good := mustEncode(t, buildManifest(t, 17, 10, 1, 2))
	m := buildManifest(t, 0, 1<<20, 1, 2)
	m.Partner = ""
	empty := mustEncode(t, m)
	rep := func(old, new []byte) []byte { return bytes.Replace(good, old, new, 1) }
	return [][]byte{
		good,
		empty,
		rep([]byte{0x04, 0x01}, []byte{0x04, 0x02}),             // k = n
		rep([]byte{0x02, 0x11}, []byte{0x02, 0x15}),             // size 21: 3 segments
		rep([]byte{0xab, 0x01, 0x02}, []byte{0xab, 0x01, 0x01}), // version 1
		append(bytes.Clone(good), 0),
		[]byte(`{"version":1}`),
		{0xa0},
	}
}

func capabilitySeeds(t testing.TB) []string {
	c := Capability{Manifest: CID(mustEncode(t, buildManifest(t, 10, 8, 1, 2)))}
	c.Key[0] = 1
	s := c.String()
	tail := s[strings.LastIndex(s, ":"):]
	return []string{
		s,
		" " + s + "\n",
		"cairn:w:" + s[len("cairn:r2:"):],
		"cairn:r:" + s[len("cairn:r2:"):],
		"cairn:r2:" + shardCID(0, 0).String() + tail,
		s[:len(s)-1] + "b",
		s + "a",
		"cairn:r2:",
	}
}

// Seeds stay small: the fuzzer minimizes each new input in time quadratic
// in its length, and a 1.5 KB record kept it minimizing for minutes.

// fuzzFixture is the manifest FuzzDecodeLocations verifies against: two
// segments of 2 shards, positions 0..3.
func fuzzFixture(t testing.TB) *fixture {
	f := &fixture{t: t, m: buildManifest(t, 17, 10, 1, 2)}
	f.id = CID(mustEncode(t, f.m))
	return f
}

func locationsSeeds(t testing.TB) [][]byte {
	f := fuzzFixture(t)
	rec := func(chain []StewardSet, es ...Entry) []byte {
		l := NewLocations(f.id)
		l.Stewards = chain
		for _, e := range es {
			l.Add(e)
		}
		return mustEncodeLoc(t, l)
	}
	set0 := f.set(0, []byte{20}, ownerSeed)
	set1 := f.set(1, []byte{21}, 20)
	owner := rec([]StewardSet{set0}, f.entry(40, 100, []byte{ownerSeed}, 0))
	rep := func(old, new []byte) []byte {
		if !bytes.Contains(owner, old) {
			t.Fatalf("seed setup: % x not found", old)
		}
		return bytes.Replace(owner, old, new, 1)
	}
	return [][]byte{
		owner,
		rec([]StewardSet{set0}, f.entry(41, 100, []byte{20}, 1, 2)),
		rec([]StewardSet{set0, set1}, f.entry(42, 7, []byte{21}, 3)),
		rec(nil),
		// Near misses: decode but do not verify, or do not decode.
		rec([]StewardSet{f.set(0, []byte{90}, 90)}, f.entry(90, 100, []byte{90}, 0)),
		rep([]byte{0x81, 0x00}, []byte{0x81, 0x04}), // position out of range
		rep([]byte{0x18, 0x64}, []byte{0x18, 0x65}), // time changed
		append(bytes.Clone(owner), 0),
		[]byte(`{"manifest":""}`),
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
			t.Fatalf("accepted non-canonical bytes:\n in %x\nout %x", b, enc)
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
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCapability(s)
		if err != nil {
			matched := 0
			for _, e := range capabilitySentinels {
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
	fx := fuzzFixture(f)
	m := fx.m
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeLocations(b)
		if err != nil {
			return
		}
		verr := l.Verify(m) // must not panic on hostile keys, signatures or positions
		for seg := -1; seg <= len(m.Segments); seg++ {
			for j := -1; j <= m.N; j++ {
				l.Holders(seg, j, m.N)
			}
		}
		for _, e := range l.Entries {
			l.Positions(e.Receipt.Holder)
		}
		enc, err := l.Encode()
		if err != nil {
			t.Fatalf("accepted record does not encode: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("accepted non-canonical bytes:\n in %x\nout %x", b, enc)
		}
		l2, err := DecodeLocations(enc)
		if err != nil || !reflect.DeepEqual(l, l2) {
			t.Fatalf("re-decode: %v", err)
		}
		merged := Merge(m, l, nil)
		if err := merged.Verify(m); err != nil {
			t.Fatalf("Merge produced an invalid record: %v", err)
		}
		if verr == nil {
			if me, _ := merged.Encode(); !bytes.Equal(me, b) {
				t.Fatal("Merge changed a valid record")
			}
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
	for _, b := range manifestSeeds(t)[2:] {
		if _, err := Decode(b); err == nil {
			t.Fatalf("near-miss manifest seed % x decodes", b[:8])
		}
	}
	for _, s := range capabilitySeeds(t)[:2] {
		if _, err := ParseCapability(s); err != nil {
			t.Fatal(err)
		}
	}
	f := fuzzFixture(t)
	seeds := locationsSeeds(t)
	for i, b := range seeds {
		l, err := DecodeLocations(b)
		if err == nil {
			err = l.Verify(f.m)
		}
		if valid := i < 4; (err == nil) != valid {
			t.Fatalf("locations seed %d: valid=%v, error %v", i, valid, err)
		}
		if len(b) > 700 {
			t.Fatalf("locations seed %d is %d bytes: keep seeds small", i, len(b))
		}
	}
}

var writeSeeds = flag.Bool("write-seeds", false, "rewrite testdata/fuzz from the seed functions")

// TestWriteFuzzSeeds regenerates the committed corpus:
//
//	go test ./node/manifest -run TestWriteFuzzSeeds -write-seeds
func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-seeds to regenerate testdata/fuzz")
	}
	var byteSeeds = map[string][][]byte{
		"FuzzDecodeManifest":  manifestSeeds(t),
		"FuzzDecodeLocations": locationsSeeds(t),
	}
	for name, seeds := range byteSeeds {
		var files []string
		for _, s := range seeds {
			files = append(files, fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s))
		}
		writeCorpus(t, name, files)
	}
	var files []string
	for _, s := range capabilitySeeds(t) {
		files = append(files, fmt.Sprintf("go test fuzz v1\nstring(%q)\n", s))
	}
	writeCorpus(t, "FuzzParseCapability", files)
}

func writeCorpus(t *testing.T, name string, files []string) {
	dir := filepath.Join("testdata", "fuzz", name)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, body := range files {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
