package payments

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestEd25519IDForm(t *testing.T) {
	k := newTestKey(t, 1)
	id, err := peer.IDFromPublicKey(k.priv.GetPublic())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal([]byte(id), k.id) || !isEd25519ID(k.id) {
		t.Fatalf("libp2p ID % x does not have the form we check", []byte(id))
	}
	pub, err := ed25519Key(k.id)
	raw, _ := k.priv.GetPublic().Raw()
	if err != nil || !bytes.Equal(pub, raw) {
		t.Fatalf("embedded key: %v", err)
	}
}

// oneOfEachKind returns one signed, encoded entry of every kind, each by its own author.
func oneOfEachKind(t fataler) [][]byte {
	server := newTestKey(t, 50)
	var out [][]byte
	c := newChain(t, 1)
	out = append(out, c.add(KindDownload, c.download(server, 1), fixtureTime))
	c = newChain(t, 2)
	out = append(out, c.add(KindStorage, c.storage(server, fixtureTime), fixtureTime))
	out = append(out, newChain(t, 3).price(fixtureTime))
	out = append(out, newChain(t, 4).add(KindPartner, testPartner(server), fixtureTime))
	out = append(out, newChain(t, 5).add(KindStatement, testStatement(7), fixtureTime))
	forker := newChain(t, 6)
	forker.price(fixtureTime)
	a, _ := forker.fork()
	fp, err := NewForkProof(forker.last, a)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, newChain(t, 7).add(KindForkProof, fp, fixtureTime))
	return out
}

func TestRoundTripEveryKind(t *testing.T) {
	for i, b := range oneOfEachKind(t) {
		e, err := Decode(b)
		if err != nil {
			t.Fatalf("kind %d: %v", i+1, err)
		}
		if e.Kind != Kind(i+1) {
			t.Fatalf("kind %d decoded as %d", i+1, e.Kind)
		}
		enc, err := Encode(e)
		if err != nil || !bytes.Equal(enc, b) {
			t.Fatalf("kind %d: re-encode differs (%v)", i+1, err)
		}
		if err := e.VerifySig(); err != nil {
			t.Fatalf("kind %d: %v", i+1, err)
		}
		id, err := e.ID()
		if err != nil {
			t.Fatal(err)
		}
		if seq, prev := Next(e); seq != e.Seq+1 || !bytes.Equal(prev, id[:]) {
			t.Fatalf("Next = %d, % x; want %d, % x", seq, prev, e.Seq+1, id)
		}
		if len(b) > 1200 {
			t.Fatalf("kind %d entry is %d bytes: expected a few hundred", i+1, len(b))
		}
	}
}

func TestSigningBytesCoverEverythingButSig(t *testing.T) {
	c := newChain(t, 1)
	e, _ := c.entry(KindPrice, &Price{FromEpoch: 1}, fixtureTime)
	msg, err := e.SigningBytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(msg, []byte(entryDomain)) {
		t.Fatal("signing bytes lack the domain")
	}
	u := *e
	u.Sig = []byte{1, 2, 3}
	if m2, _ := u.SigningBytes(); !bytes.Equal(m2, msg) {
		t.Fatal("signing bytes depend on Sig")
	}
	u.Time++
	if m2, _ := u.SigningBytes(); bytes.Equal(m2, msg) {
		t.Fatal("signing bytes do not cover Time")
	}
	if err := u.VerifySig(); ReasonOf(err) != ReasonBadSignature {
		t.Fatalf("tampered entry: %v", err)
	}
}

func TestSignRefusesNonEd25519Keys(t *testing.T) {
	priv, _, err := crypto.GenerateSecp256k1Key(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := EncodeBody(&Price{})
	e := &Entry{Kind: KindPrice, Seq: 1, Time: fixtureTime, Body: raw}
	if err := Sign(priv, e); err == nil || !strings.Contains(err.Error(), "Ed25519") {
		t.Fatalf("Sign with secp256k1: %v", err)
	}
	if err := Sign(nil, e); err == nil {
		t.Fatal("Sign with nil key succeeded")
	}
}

func TestSignRefusesWhatDecodeWouldRefuse(t *testing.T) {
	k := newTestKey(t, 1)
	raw, _ := EncodeBody(&Price{})
	big, _ := EncodeBody(&Partner{Name: strings.Repeat("x", MaxEntrySize)})
	for name, e := range map[string]*Entry{
		"seq 0":        {Kind: KindPrice, Time: fixtureTime, Body: raw},
		"no prev":      {Kind: KindPrice, Seq: 2, Time: fixtureTime, Body: raw},
		"unknown kind": {Kind: 9, Seq: 1, Time: fixtureTime, Body: raw},
		"wrong body":   {Kind: KindStorage, Seq: 1, Time: fixtureTime, Body: raw},
		"too large":    {Kind: KindPartner, Seq: 1, Time: fixtureTime, Body: big},
	} {
		if err := Sign(k.priv, e); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
}

func TestEncodeBodyRefusesOtherTypes(t *testing.T) {
	if _, err := EncodeBody(map[int]int{1: 2}); err == nil {
		t.Fatal("encoded a map as a body")
	}
	e := &Entry{Kind: KindPrice, Body: []byte{0xa0}}
	if _, err := DecodeStorage(e); ReasonOf(err) != ReasonMalformed {
		t.Fatalf("DecodeStorage of a price entry: %v", err)
	}
}

// mutate re-encodes a copy of the entry in b after f, without signing or checks.
func mutate(t fataler, b []byte, f func(e *Entry)) []byte {
	t.Helper()
	e, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	f(e)
	out, err := marshalEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// addPair appends one more key/value pair to the canonical map b (header 0xa0+n, n < 23).
func addPair(b []byte, pair ...byte) []byte {
	out := append([]byte{b[0] + 1}, b[1:]...)
	return append(out, pair...)
}

func TestDecodeRejections(t *testing.T) {
	good := newChain(t, 1).price(fixtureTime)
	timeBE := binary.BigEndian.AppendUint32(nil, fixtureTime)
	longTime := append([]byte{0x06, 0x1b, 0, 0, 0, 0}, timeBE...)
	shortTime := append([]byte{0x06, 0x1a}, timeBE...)
	bigName, _ := EncodeBody(&Partner{Name: strings.Repeat("x", MaxEntrySize)})
	nonCanonBody, _ := EncodeBody(&Price{FromEpoch: 1})
	nonCanonBody = append([]byte{0xa3, 0x01, 0x18, 0x01}, nonCanonBody[3:]...) // 1 as 0x18 0x01
	cases := []struct {
		name string
		in   []byte
		want Reason
	}{
		{"huge", make([]byte, MaxForkProofSize+1), ReasonTooLarge},
		{"over kind limit", mutate(t, good, func(e *Entry) { e.Kind, e.Body = KindPartner, bigName }), ReasonTooLarge},
		{"empty", nil, ReasonMalformed},
		{"garbage", []byte{0xff, 0x00}, ReasonMalformed},
		{"json", []byte(`{"version":1}`), ReasonMalformed},
		{"trailing byte", append(bytes.Clone(good), 0), ReasonMalformed},
		{"unknown key", addPair(good, 0x09, 0x00), ReasonMalformed},
		{"duplicate key", addPair(good, 0x06, 0x00), ReasonMalformed},
		{"indefinite map", append(append([]byte{0xbf}, good[1:]...), 0xff), ReasonMalformed},
		{"tagged", append([]byte{0xc1}, good...), ReasonMalformed},
		{"seq 0", mutate(t, good, func(e *Entry) { e.Seq = 0 }), ReasonMalformed},
		{"seq 2 without prev", mutate(t, good, func(e *Entry) { e.Seq = 2 }), ReasonMalformed},
		{"seq 1 with prev", mutate(t, good, func(e *Entry) { e.Prev = make([]byte, 32) }), ReasonMalformed},
		{"short prev", mutate(t, good, func(e *Entry) { e.Seq, e.Prev = 2, make([]byte, 31) }), ReasonMalformed},
		{"negative time", mutate(t, good, func(e *Entry) { e.Time = -1 }), ReasonMalformed},
		{"author not ed25519", mutate(t, good, func(e *Entry) { e.Author = e.Author[1:] }), ReasonMalformed},
		{"body not a map", mutate(t, good, func(e *Entry) { e.Body = []byte{0x01} }), ReasonMalformed},
		{"body unknown key", mutate(t, good, func(e *Entry) { e.Body = addPair(e.Body, 0x09, 0x00) }), ReasonMalformed},
		{"body missing field", mutate(t, good, func(e *Entry) { e.Body = []byte{0xa1, 0x01, 0x01} }), ReasonNonCanonical},
		{"body long int", mutate(t, good, func(e *Entry) { e.Body = nonCanonBody }), ReasonNonCanonical},
		{"version 2", mutate(t, good, func(e *Entry) { e.Version = 2 }), ReasonUnknownVersion},
		{"version 300", bytes.Replace(good, []byte{0x01, 0x01, 0x02}, []byte{0x01, 0x19, 0x01, 0x2c, 0x02}, 1), ReasonUnknownVersion},
		{"kind 0", mutate(t, good, func(e *Entry) { e.Kind = 0 }), ReasonUnknownKind},
		{"kind 7", mutate(t, good, func(e *Entry) { e.Kind = 7 }), ReasonUnknownKind},
		{"long time", bytes.Replace(good, shortTime, longTime, 1), ReasonNonCanonical},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.in)
			if got := ReasonOf(err); got != c.want {
				t.Fatalf("reason %q (%v), want %q", got, err, c.want)
			}
		})
	}
	if _, err := Decode(good); err != nil {
		t.Fatal(err)
	}
}

func TestCounterSignature(t *testing.T) {
	c := newChain(t, 1)
	server := newTestKey(t, 50)
	d := c.download(server, 1)
	if !bytes.Equal(d.Server, server.id) {
		t.Fatal("CounterSign did not set Server")
	}
	if err := d.VerifyCounterSig(); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		f    func(d *Download)
		want Reason
	}{
		"missing":          {func(d *Download) { d.ServerSig = nil }, ReasonMissingCountersignature},
		"bytes changed":    {func(d *Download) { d.Bytes++ }, ReasonBadCountersignature},
		"downloader moved": {func(d *Download) { d.Downloader = newTestKey(t, 9).id }, ReasonBadCountersignature},
		"other server":     {func(d *Download) { d.Server = newTestKey(t, 9).id }, ReasonBadCountersignature},
		"server not a key": {func(d *Download) { d.Server = d.Server[:10] }, ReasonBadCountersignature},
		"short sig":        {func(d *Download) { d.ServerSig = d.ServerSig[:63] }, ReasonBadCountersignature},
	} {
		u := *d
		tc.f(&u)
		if got := ReasonOf(u.VerifyCounterSig()); got != tc.want {
			t.Errorf("%s: reason %q, want %q", name, got, tc.want)
		}
	}
	// The entry signature is not a countersignature: different domains.
	e, _ := c.entry(KindDownload, d, fixtureTime)
	u := *d
	u.ServerSig = e.Sig
	if u.VerifyCounterSig() == nil {
		t.Fatal("entry signature accepted as countersignature")
	}
}

func TestNewForkProof(t *testing.T) {
	c := newChain(t, 1)
	c.price(fixtureTime)
	c.price(fixtureTime + 1)
	other, _ := c.fork()
	p, err := NewForkProof(c.last, other)
	if err != nil {
		t.Fatal(err)
	}
	q, err := NewForkProof(other, c.last)
	if err != nil || !reflect.DeepEqual(p, q) {
		t.Fatalf("argument order changes the proof (%v)", err)
	}
	if author, seq, err := p.check(); err != nil || !bytes.Equal([]byte(author), c.key.id) || seq != 2 {
		t.Fatalf("check = %s, %d, %v", author, seq, err)
	}
	if _, err := NewForkProof(c.last, c.last); err == nil {
		t.Fatal("proof from one entry twice")
	}
	if _, err := NewForkProof(c.history[0], c.last); err == nil {
		t.Fatal("proof from two seqs")
	}
	d := newChain(t, 2)
	d.price(fixtureTime)
	d.price(fixtureTime + 1)
	if _, err := NewForkProof(c.last, d.last); err == nil {
		t.Fatal("proof from two authors")
	}
	unsigned := *other
	unsigned.Sig = nil
	if _, err := NewForkProof(c.last, &unsigned); err == nil {
		t.Fatal("proof with an unsigned entry")
	}
}

func TestNextStartsChains(t *testing.T) {
	if seq, prev := Next(nil); seq != 1 || prev != nil {
		t.Fatalf("Next(nil) = %d, %x", seq, prev)
	}
}

func TestRejectionError(t *testing.T) {
	err := error(rejectf(ReasonFork, "seq %d", 3))
	wrapped := errors.Join(errors.New("gossip"), err)
	if ReasonOf(wrapped) != ReasonFork || ReasonOf(errors.New("x")) != "" || ReasonOf(nil) != "" {
		t.Fatal("ReasonOf does not unwrap")
	}
	if err.Error() != "payments: fork: seq 3" {
		t.Fatalf("Error() = %q", err.Error())
	}
}
