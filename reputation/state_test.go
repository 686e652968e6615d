package reputation

import (
	"bytes"
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// Applying the same per-peer sequences interleaved in any order gives the same bytes,
// and decoding then encoding gives them back.
func TestPropBookEncodingOrderIndependent(t *testing.T) {
	p := DefaultParams()
	p.VetAudits = 2
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(t, "peers")
		seqs := make([][]Observation, n)
		for i := range seqs {
			outs := rapid.SliceOfN(genOutcome(), 0, 60).Draw(t, fmt.Sprintf("seq%d", i))
			for k, o := range outs {
				seqs[i] = append(seqs[i], Observation{Peer: NodeID(fmt.Sprintf("p%d", i)), Outcome: o, Time: t0 + int64(k), Throughput: int64(k * 1000)})
			}
		}
		a := NewBook(p)
		for _, s := range seqs {
			for _, o := range s {
				a.Apply(o)
			}
		}
		b := NewBook(p)
		next := make([]int, n)
		for left := true; left; {
			left = false
			i := rapid.IntRange(0, n-1).Draw(t, "pick")
			for k := range n { // first peer from i on with observations left
				j := (i + k) % n
				if next[j] < len(seqs[j]) {
					b.Apply(seqs[j][next[j]])
					next[j]++
					left = true
					break
				}
			}
		}
		ea, err := a.Encode()
		if err != nil {
			t.Fatal(err)
		}
		eb, _ := b.Encode()
		if !bytes.Equal(ea, eb) {
			t.Fatal("interleaving changed the encoding")
		}
		d, err := DecodeBook(p, ea)
		if err != nil {
			t.Fatal(err)
		}
		ed, _ := d.Encode()
		if !bytes.Equal(ea, ed) {
			t.Fatal("round trip changed the encoding")
		}
	})
}

func TestBookRoundTripWithReports(t *testing.T) {
	p := DefaultParams()
	p.VetAudits = 1
	b := vettedBook(p, 3)
	b.Apply(Observation{Peer: "x", Outcome: AuditFail, Time: t0})
	for i := range 3 {
		b.ApplyReport(Report{Reporter: NodeID(fmt.Sprintf("h%d", i)), Subject: "x", Outcome: AuditFail, Time: t0 + 5}, t0+5)
	}
	for range 41 {
		b.Apply(Observation{Peer: "h2", Outcome: AuditFail, Time: t0 + 6})
	}
	enc, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeBook(p, enc)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range b.Peers() {
		if b.Status(id, t0+7) != d.Status(id, t0+7) || b.PlacementScore(id, t0+7) != d.PlacementScore(id, t0+7) {
			t.Fatalf("peer %s differs after decode", id)
		}
	}
	x, _ := d.Get("x")
	if d.Status("h2", t0+7) != Disqualified || len(x.Reports) != 3 || p.Hearsay(x, t0+7) == 0 {
		t.Fatalf("after decode: h2 %v, x hearsay %+v", d.Status("h2", t0+7), x.Reports)
	}
}

func TestDecodeBookRejects(t *testing.T) {
	p := DefaultParams()
	enc := func(w bookWire) []byte {
		out, err := bookEnc.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	ok := p.NewRecord()
	neg := ok
	neg.Beta = -1
	tests := map[string][]byte{
		"garbage":       []byte{0xff, 0x00},
		"empty":         nil,
		"version":       enc(bookWire{Version: 9}),
		"duplicate":     enc(bookWire{Version: 1, Peers: []peerEntry{{"a", ok}, {"a", ok}}}),
		"unsorted":      enc(bookWire{Version: 1, Peers: []peerEntry{{"b", ok}, {"a", ok}}}),
		"empty id":      enc(bookWire{Version: 1, Peers: []peerEntry{{"", ok}}}),
		"not started":   enc(bookWire{Version: 1, Peers: []peerEntry{{"a", Record{}}}}),
		"negative":      enc(bookWire{Version: 1, Peers: []peerEntry{{"a", neg}}}),
		"trailing data": append(enc(bookWire{Version: 1}), 0x00),
	}
	for name, data := range tests {
		if _, err := DecodeBook(p, data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := DecodeBook(p, enc(bookWire{Version: 1, Peers: []peerEntry{{"a", ok}}})); err != nil {
		t.Fatalf("valid book refused: %v", err)
	}
}
