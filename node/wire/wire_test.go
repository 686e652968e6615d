package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

type hdr struct {
	CID  []byte   `json:"cid"`
	Size int64    `json:"size"`
	Tags []string `json:"tags,omitempty"`
}

type withStatus struct {
	Status
	Has []bool `json:"has,omitempty"`
}

func (h hdr) equal(o hdr) bool {
	if len(h.Tags) != len(o.Tags) {
		return false
	}
	for i := range h.Tags {
		if h.Tags[i] != o.Tags[i] {
			return false
		}
	}
	return bytes.Equal(h.CID, o.CID) && h.Size == o.Size
}

func frame(b []byte) []byte {
	out := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(out, uint32(len(b)))
	copy(out[4:], b)
	return out
}

func mustMarshal(t testing.TB, v any) []byte {
	b, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	in := hdr{CID: []byte{1, 0x55}, Size: 7, Tags: []string{"a"}}
	if err := Write(&buf, in); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("body")
	var h hdr
	if err := Read(&buf, &h); err != nil || !h.equal(in) {
		t.Fatalf("%+v %v", h, err)
	}
	if buf.String() != "body" {
		t.Fatalf("Read consumed the body: %q left", buf.String())
	}
}

// An embedded Status is flattened like encoding/json does, so responses stay one flat map.
func TestEmbeddedStatus(t *testing.T) {
	in := withStatus{Status: Fail(CodeBusy, errors.New("later")), Has: []bool{true, false}}
	b := mustMarshal(t, in)
	var flat map[string]any
	if err := Unmarshal(b, &flat); err != nil {
		t.Fatal(err)
	}
	if flat["code"] != CodeBusy || flat["ok"] != false || len(flat) != 4 {
		t.Fatalf("not flat: %v", flat)
	}
	var out withStatus
	if err := Unmarshal(b, &out); err != nil || out.Code != CodeBusy || !IsCode(out.Err(), CodeBusy) || len(out.Has) != 2 {
		t.Fatalf("%+v %v", out, err)
	}
}

func TestDeterministic(t *testing.T) {
	a := mustMarshal(t, map[string]any{"size": 1, "cid": []byte{1}})
	b := mustMarshal(t, map[string]any{"cid": []byte{1}, "size": 1})
	if !bytes.Equal(a, b) {
		t.Fatalf("same header, different bytes: %x %x", a, b)
	}
}

func TestRejects(t *testing.T) {
	huge := make([]byte, 4)
	binary.BigEndian.PutUint32(huge, MaxHeader+1)
	good := mustMarshal(t, hdr{CID: []byte{1}, Size: 3})
	// a2 (map of 2) "cid" h'01' "cid" h'02': the same key twice.
	dup := []byte{0xa2, 0x63, 'c', 'i', 'd', 0x41, 1, 0x63, 'c', 'i', 'd', 0x41, 2}
	// bf ... ff: an indefinite-length map.
	indef := []byte{0xbf, 0x64, 's', 'i', 'z', 'e', 0x01, 0xff}
	// c1 (tag 1) wrapping the integer size.
	tagged := []byte{0xa1, 0x64, 's', 'i', 'z', 'e', 0xc1, 0x01}
	// a1 "cid" with a text string holding invalid UTF-8 in an array field.
	badUTF8 := []byte{0xa1, 0x64, 't', 'a', 'g', 's', 0x81, 0x61, 0xff}
	cases := map[string][]byte{
		"oversized":      huge,
		"oversized body": frame(mustMarshal(t, hdr{CID: make([]byte, MaxHeader)})),
		"truncated len":  {0, 0},
		"truncated":      frame(good)[:6],
		"wrong case key": frame(mustMarshal(t, map[string]any{"CID": []byte{1}})),
		"unknown field":  frame(mustMarshal(t, map[string]any{"cid": []byte{1}, "evil": 1})),
		"trailing":       frame(append(append([]byte(nil), good...), 0xa0)),
		"trailing brace": frame(append(append([]byte(nil), good...), '}')),
		"duplicate key":  frame(dup),
		"indefinite":     frame(indef),
		"tag":            frame(tagged),
		"bad utf8":       frame(badUTF8),
		"not cbor":       frame([]byte{0xff, 0x00}),
		"json":           frame([]byte(`{"cid":"x"}`)),
		"array":          frame(mustMarshal(t, []any{1, 2})),
		"wrong type":     frame(mustMarshal(t, map[string]any{"size": "big"})),
		"too many elems": frame(mustMarshal(t, map[string]any{"tags": make([]string, maxArray+1)})),
		"empty":          frame(nil),
	}
	for name, in := range cases {
		var h hdr
		if err := Read(bytes.NewReader(in), &h); err == nil {
			t.Errorf("%s: accepted as %+v", name, h)
		} else if name != "truncated len" && !strings.Contains(err.Error(), "wire:") {
			t.Errorf("%s: error without reason: %v", name, err)
		}
	}
}

func TestWriteRefusesOversize(t *testing.T) {
	if err := Write(&bytes.Buffer{}, hdr{CID: make([]byte, MaxHeader)}); err == nil {
		t.Fatal("wrote a header over MaxHeader")
	}
}

// Any header Write produces, Read gives back unchanged.
func TestRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := hdr{
			CID:  rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, "cid"),
			Size: rapid.Int64().Draw(t, "size"),
			Tags: rapid.SliceOfN(rapid.String(), 0, 8).Draw(t, "tags"),
		}
		var buf bytes.Buffer
		if err := Write(&buf, in); err != nil {
			t.Fatal(err)
		}
		var out hdr
		if err := Read(&buf, &out); err != nil {
			t.Fatal(err)
		}
		if len(in.CID) == 0 {
			in.CID = nil
		}
		if !out.equal(in) {
			t.Fatalf("%+v != %+v", out, in)
		}
	})
}

func FuzzRead(f *testing.F) {
	f.Add(frame(mustMarshal(f, hdr{CID: []byte{1, 0x55, 0x1e, 0x20}, Size: 3})))
	f.Add(frame(mustMarshal(f, hdr{Tags: []string{"x", "y"}})))
	f.Add(frame([]byte{0xa0}))
	f.Add([]byte{0, 0, 0, 1, 0xa1})
	f.Fuzz(func(t *testing.T, in []byte) {
		var h hdr
		if err := Read(bytes.NewReader(in), &h); err != nil {
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, h); err != nil {
			t.Fatal(err)
		}
		var h2 hdr
		if err := Read(&buf, &h2); err != nil || !h2.equal(h) {
			t.Fatalf("re-read %+v != %+v (%v)", h2, h, err)
		}
	})
}
