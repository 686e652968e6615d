package store

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"lukechampine.com/blake3/bao"
)

// sampleEntry has refs with every field set in various ways.
func sampleEntry(size int, refs int) entry {
	ob, _ := bao.EncodeBuf(randBytes(1, size), baoGroup, true)
	e := entry{size: int64(size), outboard: ob}
	for i := range refs {
		_, h := token(string(rune('a' + i)))
		r := Ref{DeleteHash: h}
		if i%2 == 1 {
			r = Ref{DeleteHash: h, Account: "12D3KooWpeer" + string(rune('a'+i)), Subnet: "10.0.0.0/24",
				Lease: 1_700_000_000 + int64(i), Manifest: []byte{1, 0x55, byte(i)}}
		}
		e.refs = append(e.refs, r)
	}
	return e
}

func TestEntryRoundTrip(t *testing.T) {
	for _, size := range []int{0, 1, 16 << 10, 16<<10 + 1, 1 << 20} {
		e := sampleEntry(size, 3)
		got, err := decodeEntry(e.marshal())
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if got.size != e.size || !bytes.Equal(got.outboard, e.outboard) || !reflect.DeepEqual(got.refs, e.refs) {
			t.Fatalf("size %d: round trip differs: %+v", size, got.refs)
		}
	}
	// The most refs, each with its longest fields.
	e := sampleEntry(10, 0)
	for i := range maxRefs {
		e.refs = append(e.refs, Ref{DeleteHash: [32]byte{byte(i), byte(i >> 8)}, Account: strings.Repeat("a", maxAccount),
			Subnet: strings.Repeat("s", maxSubnet), Lease: 1<<63 - 1, Manifest: bytes.Repeat([]byte{7}, maxManifest)})
	}
	got, err := decodeEntry(e.marshal())
	if err != nil || !reflect.DeepEqual(got.refs, e.refs) {
		t.Fatalf("largest entry: %v", err)
	}
}

// marshalV1 is the version 1 layout: refs are bare delete hashes.
func marshalV1(e entry) []byte {
	b := []byte{1}
	b = binary.LittleEndian.AppendUint64(b, uint64(e.size))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.outboard)))
	b = append(b, e.outboard...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.refs)))
	for _, r := range e.refs {
		b = append(b, r.DeleteHash[:]...)
	}
	return b
}

func TestEntryReadsVersion1(t *testing.T) {
	e := sampleEntry(50_000, 2)
	got, err := decodeEntry(marshalV1(e))
	if err != nil {
		t.Fatal(err)
	}
	want := []Ref{{DeleteHash: e.refs[0].DeleteHash}, {DeleteHash: e.refs[1].DeleteHash}}
	if got.size != e.size || !bytes.Equal(got.outboard, e.outboard) || !reflect.DeepEqual(got.refs, want) {
		t.Fatalf("v1 entry read as %+v", got.refs)
	}
	v1 := marshalV1(e)
	for n := range len(v1) {
		if _, err := decodeEntry(v1[:n]); err == nil {
			t.Fatalf("v1 truncated to %d accepted", n)
		}
	}
}

func TestEntryRejectsMalformed(t *testing.T) {
	good := sampleEntry(100_000, 2).marshal()
	// Every truncation and every extension is rejected.
	for n := range len(good) {
		if _, err := decodeEntry(good[:n]); err == nil {
			t.Fatalf("truncated to %d accepted", n)
		}
	}
	if _, err := decodeEntry(append(bytes.Clone(good), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
	obEnd := 13 + bao.EncodedSize(100_000, baoGroup, true)
	ref0 := obEnd + 4         // first ref: Account "" etc.
	ref1 := ref0 + minRefSize // second ref: every field set
	for _, m := range []struct {
		name string
		f    func(b []byte)
	}{
		{"version", func(b []byte) { b[0] = 3 }},
		{"size", func(b []byte) { binary.LittleEndian.PutUint64(b[1:], 100_001) }},
		{"huge size", func(b []byte) { binary.LittleEndian.PutUint64(b[1:], 1<<63) }},
		{"outboard length", func(b []byte) { binary.LittleEndian.PutUint32(b[9:], 0xffffffff) }},
		{"outboard header", func(b []byte) { b[13] ^= 1 }},
		{"ref count", func(b []byte) { binary.LittleEndian.PutUint32(b[obEnd:], 3) }},
		{"fewer refs", func(b []byte) { binary.LittleEndian.PutUint32(b[obEnd:], 1) }},
		{"no refs", func(b []byte) { binary.LittleEndian.PutUint32(b[obEnd:], 0) }},
		{"refs above cap", func(b []byte) { binary.LittleEndian.PutUint32(b[obEnd:], maxRefs+1) }},
		{"huge ref count", func(b []byte) { binary.LittleEndian.PutUint32(b[obEnd:], 0xffffffff) }},
		{"negative lease", func(b []byte) { binary.LittleEndian.PutUint64(b[ref1+32:], 1<<63) }},
		{"account length", func(b []byte) { b[ref0+40]++ }},
		{"account over cap", func(b []byte) { b[ref1+40] = maxAccount + 1 }},
		{"manifest length", func(b []byte) { b[len(b)-4] = 4 }},
		{"manifest over cap", func(b []byte) { b[len(b)-4] = 255 }},
	} {
		b := bytes.Clone(good)
		m.f(b)
		if _, err := decodeEntry(b); err == nil {
			t.Errorf("%s accepted", m.name)
		}
	}

	noRefs := sampleEntry(10, 0).marshal()
	if _, err := decodeEntry(noRefs); err == nil {
		t.Error("entry without refs accepted")
	}
}

// A claimed count is checked against the value's length before allocating.
func TestEntryCountDoesNotAllocate(t *testing.T) {
	b := sampleEntry(0, 1).marshal()
	obEnd := 13 + bao.EncodedSize(0, baoGroup, true)
	binary.LittleEndian.PutUint32(b[obEnd:], maxRefs)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		if _, err := decodeEntry(b); err == nil {
			t.Fatal("accepted")
		}
	}
	runtime.ReadMemStats(&after)
	// make([]Ref, maxRefs) would be ~100 KiB a time.
	if n := after.TotalAlloc - before.TotalAlloc; n > 100<<10 {
		t.Fatalf("decoding a lying count 100 times allocated %d bytes", n)
	}
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add(sampleEntry(0, 1).marshal())
	f.Add(sampleEntry(40_000, 2).marshal())
	f.Add(marshalV1(sampleEntry(100, 2)))
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to the same bytes.
		enc := e.marshal()
		if b[0] == 1 {
			enc = marshalV1(e)
		}
		if !bytes.Equal(enc, b) {
			t.Fatal("decode/encode not canonical")
		}
	})
}
