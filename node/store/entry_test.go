package store

import (
	"bytes"
	"encoding/binary"
	"testing"

	"lukechampine.com/blake3/bao"
)

func sampleEntry(size int, refs int) entry {
	ob, _ := bao.EncodeBuf(randBytes(1, size), baoGroup, true)
	e := entry{size: int64(size), outboard: ob}
	for i := range refs {
		_, h := token(string(rune('a' + i)))
		e.refs = append(e.refs, h)
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
		if got.size != e.size || !bytes.Equal(got.outboard, e.outboard) || len(got.refs) != 3 || got.refs[2] != e.refs[2] {
			t.Fatalf("size %d: round trip differs", size)
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
	mutate := func(name string, f func(b []byte)) {
		b := bytes.Clone(good)
		f(b)
		if _, err := decodeEntry(b); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	mutate("version", func(b []byte) { b[0] = 2 })
	mutate("size", func(b []byte) { binary.LittleEndian.PutUint64(b[1:], 100_001) })
	mutate("huge size", func(b []byte) { binary.LittleEndian.PutUint64(b[1:], 1<<63) })
	mutate("outboard length", func(b []byte) { binary.LittleEndian.PutUint32(b[9:], 0xffffffff) })
	mutate("outboard header", func(b []byte) { b[13] ^= 1 })
	obEnd := 13 + bao.EncodedSize(100_000, baoGroup, true)
	mutate("ref count", func(b []byte) { binary.LittleEndian.PutUint32(b[obEnd:], 3) })
	mutate("huge ref count", func(b []byte) { binary.LittleEndian.PutUint32(b[obEnd:], 0xffffffff) })

	noRefs := sampleEntry(10, 0).marshal()
	if _, err := decodeEntry(noRefs); err == nil {
		t.Error("entry without refs accepted")
	}
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add(sampleEntry(0, 1).marshal())
	f.Add(sampleEntry(40_000, 2).marshal())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to the same bytes.
		if !bytes.Equal(e.marshal(), b) {
			t.Fatal("decode/encode not canonical")
		}
	})
}
