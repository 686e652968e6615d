package wire

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

type hdr struct {
	CID  string `json:"cid"`
	Size int64  `json:"size"`
}

func frame(b []byte) []byte {
	out := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(out, uint32(len(b)))
	copy(out[4:], b)
	return out
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, hdr{CID: "b", Size: 7}); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("body")
	var h hdr
	if err := Read(&buf, &h); err != nil || h != (hdr{"b", 7}) {
		t.Fatalf("%+v %v", h, err)
	}
	if buf.String() != "body" {
		t.Fatalf("Read consumed the body: %q left", buf.String())
	}
}

func TestRejects(t *testing.T) {
	huge := make([]byte, 4)
	binary.BigEndian.PutUint32(huge, MaxHeader+1)
	cases := map[string][]byte{
		"oversized":     huge,
		"truncated len": {0, 0},
		"truncated":     frame([]byte(`{"cid":"x"}`))[:8],
		"unknown field": frame([]byte(`{"cid":"x","evil":1}`)),
		"trailing":      frame([]byte(`{"cid":"x"} {}`)),
		"not json":      frame([]byte(`\x00\x01`)),
		"wrong type":    frame([]byte(`{"size":"big"}`)),
	}
	for name, in := range cases {
		var h hdr
		if err := Read(bytes.NewReader(in), &h); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name != "truncated len" && !strings.Contains(err.Error(), "wire:") {
			t.Errorf("%s: error without reason: %v", name, err)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(frame([]byte(`{"cid":"bafy","size":3}`)))
	f.Add(frame([]byte(`{}`)))
	f.Add([]byte{0, 0, 0, 1, '{'})
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
		if err := Read(&buf, &h2); err != nil || h2 != h {
			t.Fatalf("re-read %+v != %+v (%v)", h2, h, err)
		}
	})
}
