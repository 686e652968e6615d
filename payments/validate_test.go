package payments

import (
	"bytes"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"lukechampine.com/blake3"
)

const testNow = fixtureTime + 10

// memStore is the store a validator looks fork counterparts up in.
type memStore map[ID][]byte

func (m memStore) lookup(id ID) []byte { return m[id] }

// add runs v.Add and keeps accepted entries in s, as the node's store would.
func (m memStore) add(v *Validator, b []byte) error {
	_, id, err := v.Add(b, testNow)
	if err == nil {
		m[id] = bytes.Clone(b)
	}
	return err
}

func newTestValidator() (*Validator, memStore) {
	s := memStore{}
	return NewValidator(ValidatorParams{MaxSkew: 60, Lookup: s.lookup}), s
}

// step is one entry offered to the validator and the reason expected ("" = accepted).
type step struct {
	in   []byte
	want Reason
}

// reasonCases gives, for each Reason, inputs that must produce it after the steps before them.
func reasonCases(t *testing.T) map[string][]step {
	server := newTestKey(t, 50)
	good := func() *chain { return newChain(t, 1) }
	signed := func(c *chain, k Kind, body any) []byte { return c.add(k, body, fixtureTime) }
	download := func(f func(d *Download)) []byte {
		c := good()
		d := c.download(server, 1)
		f(d)
		return signed(c, KindDownload, d)
	}
	recounter := func(f func(d *Download)) []byte { // change the receipt, then countersign it
		return download(func(d *Download) {
			f(d)
			if err := CounterSign(server.priv, d); err != nil {
				t.Fatal(err)
			}
		})
	}
	storage := func(f func(s *Storage)) []byte {
		c := good()
		s := c.storage(server, fixtureTime)
		f(s)
		return signed(c, KindStorage, s)
	}
	partner := func(f func(p *Partner)) []byte {
		p := testPartner(server)
		f(p)
		return signed(good(), KindPartner, p)
	}
	price := func(p Price) []byte { return signed(good(), KindPrice, &p) }
	statement := func(s *Statement) []byte { return signed(good(), KindStatement, s) }
	priceEntry := newChain(t, 1).price(fixtureTime)

	cases := map[string][]step{
		"accepted":                 {{priceEntry, ""}},
		"too large":                {{make([]byte, MaxForkProofSize+1), ReasonTooLarge}},
		"malformed":                {{[]byte{0xa1, 0x01}, ReasonMalformed}},
		"unknown version":          {{mutate(t, priceEntry, func(e *Entry) { e.Version = 9 }), ReasonUnknownVersion}},
		"unknown kind":             {{mutate(t, priceEntry, func(e *Entry) { e.Kind = 42 }), ReasonUnknownKind}},
		"non canonical body":       {{mutate(t, priceEntry, func(e *Entry) { e.Body = []byte{0xa1, 0x01, 0x01} }), ReasonNonCanonical}},
		"duplicate":                {{priceEntry, ""}, {priceEntry, ReasonDuplicate}},
		"future":                   {{newChain(t, 1).price(testNow + 61), ReasonFuture}},
		"skew edge":                {{newChain(t, 1).price(testNow + 60), ""}},
		"bad sig":                  {{mutate(t, priceEntry, func(e *Entry) { e.Sig[5] ^= 1 }), ReasonBadSignature}},
		"no sig":                   {{mutate(t, priceEntry, func(e *Entry) { e.Sig = nil }), ReasonBadSignature}},
		"short sig":                {{mutate(t, priceEntry, func(e *Entry) { e.Sig = e.Sig[:63] }), ReasonBadSignature}},
		"missing countersignature": {{download(func(d *Download) { d.ServerSig = nil }), ReasonMissingCountersignature}},
		"bad countersignature":     {{download(func(d *Download) { d.Bytes-- }), ReasonBadCountersignature}},
		"download bytes > shard":   {{recounter(func(d *Download) { d.Bytes = d.ShardSize + 1 }), ReasonUsageExceeds}},
		"download zero bytes":      {{recounter(func(d *Download) { d.Bytes = 0 }), ReasonUsageExceeds}},
		"download huge shard":      {{recounter(func(d *Download) { d.ShardSize, d.Bytes = MaxShardSize+1, 1 }), ReasonUsageExceeds}},
		"storage empty span":       {{storage(func(s *Storage) { s.From = s.To }), ReasonUsageExceeds}},
		"storage span in future":   {{storage(func(s *Storage) { s.To = fixtureTime + 1 }), ReasonUsageExceeds}},
		"storage span too long":    {{storage(func(s *Storage) { s.From = s.To - MaxStorageSpan - 1 }), ReasonUsageExceeds}},
		"storage from 0":           {{storage(func(s *Storage) { s.From = 0 }), ReasonUsageExceeds}},
		"storage too many bytes":   {{storage(func(s *Storage) { s.Bytes = MaxShardSize + 1 }), ReasonUsageExceeds}},
		"storage zero bytes":       {{storage(func(s *Storage) { s.Bytes = 0 }), ReasonUsageExceeds}},
		"storage longest span":     {{storage(func(s *Storage) { s.From = s.To - MaxStorageSpan }), ""}},
		"storage self-attested":    {{storage(func(s *Storage) { s.Holder = newTestKey(t, 1).id }), ReasonBadValue}},
		"storage bad holder":       {{storage(func(s *Storage) { s.Holder = s.Holder[:37] }), ReasonBadValue}},
		"storage bad shard CID":    {{storage(func(s *Storage) { s.Shard = testCID(cidCodecCBOR, 2) }), ReasonBadValue}},
		"download short nonce":     {{recounter(func(d *Download) { d.Nonce = d.Nonce[:15] }), ReasonBadValue}},
		"download other author":    {{recounter(func(d *Download) { d.Downloader = newTestKey(t, 9).id }), ReasonBadValue}},
		"download self-served": {{func() []byte {
			c := good()
			d := c.download(c.key, 1)
			return signed(c, KindDownload, d)
		}(), ReasonBadValue}},
		"download bad manifest": {{recounter(func(d *Download) { d.Manifest = testCID(cidCodecRaw, 1) }), ReasonBadValue}},
		"download bad owner":    {{recounter(func(d *Download) { d.Owner = []byte("owner") }), ReasonBadValue}},
		"download bad partner":  {{recounter(func(d *Download) { d.Partner = "Debian" }), ReasonBadValue}},
		"partner share":         {{partner(func(p *Partner) { p.ShareBPS = 10001 }), ReasonBadValue}},
		"partner full share":    {{partner(func(p *Partner) { p.ShareBPS = 10000 }), ""}},
		"partner empty id":      {{partner(func(p *Partner) { p.ID = "" }), ReasonBadValue}},
		"partner long id":       {{partner(func(p *Partner) { p.ID = string(bytes.Repeat([]byte{'a'}, 65)) }), ReasonBadValue}},
		"partner name control":  {{partner(func(p *Partner) { p.Name = "a\x07b" }), ReasonBadValue}},
		"partner payout":        {{partner(func(p *Partner) { p.Payout = nil }), ReasonBadValue}},
		"negative price":        {{price(Price{StorageGiBMonth: -1}), ReasonBadValue}},
		"huge price":            {{price(Price{EgressGiB: MaxPrice + 1}), ReasonBadValue}},
		"statement root":        {{statement(&Statement{Epoch: 1, Root: make([]byte, 31)}), ReasonBadValue}},
	}

	// Chains of several entries.
	c := newChain(t, 1)
	s1 := c.price(fixtureTime)
	skipped := c.price(fixtureTime)
	s3 := c.price(fixtureTime)
	cases["out of order"] = []step{{s1, ""}, {s3, ReasonOutOfOrder}, {skipped, ""}, {s3, ""}}

	c = newChain(t, 1)
	s1 = c.price(fixtureTime)
	_, forkBytes := c.fork()
	s2 := c.price(fixtureTime)
	cases["fork"] = []step{{s1, ""}, {forkBytes, ReasonFork}, {s2, ReasonForkedAuthor}, {s1, ReasonForkedAuthor}}

	c = newChain(t, 1)
	s1 = c.price(fixtureTime)
	c.last = &Entry{Seq: 1, Time: 5} // a predecessor the validator never saw
	cases["bad prev"] = []step{{s1, ""}, {c.price(fixtureTime), ReasonBadChain}}

	c = newChain(t, 1)
	s1 = c.price(fixtureTime)
	cases["time goes back"] = []step{{s1, ""}, {c.price(fixtureTime - 1), ReasonBadChain}}

	c = newChain(t, 1)
	d := c.download(server, 7)
	cases["replayed receipt"] = []step{
		{c.add(KindDownload, d, fixtureTime), ""},
		{c.add(KindDownload, d, fixtureTime), ReasonReplay},
	}
	c = newChain(t, 1)
	cases["replayed statement"] = []step{
		{c.add(KindStatement, testStatement(4), fixtureTime), ""},
		{c.add(KindStatement, testStatement(5), fixtureTime), ""},
	}
	_, restated := c.entry(KindStatement, testStatement(5), fixtureTime)
	_, older := c.entry(KindStatement, testStatement(3), fixtureTime)
	cases["restated epoch"] = append(cases["replayed statement"][:2:2], step{restated, ReasonReplay})
	cases["older epoch"] = append(cases["replayed statement"][:2:2], step{older, ReasonReplay})

	// Fork proofs as entries.
	f := newChain(t, 3)
	f1 := f.price(fixtureTime)
	f2 := f.price(fixtureTime)
	other, _ := f.fork()
	proof, err := NewForkProof(f.last, other)
	if err != nil {
		t.Fatal(err)
	}
	finder := func() *chain { return newChain(t, 4) }
	cases["fork proof"] = []step{
		{f1, ""},
		{signed(finder(), KindForkProof, proof), ""},
		{f2, ReasonForkedAuthor},
	}
	cases["fork proof of an unknown author"] = []step{{signed(finder(), KindForkProof, proof), ""}, {f1, ReasonForkedAuthor}}
	cases["fork proof equal entries"] = []step{{signed(finder(), KindForkProof, &ForkProof{A: f2, B: f2}), ReasonBadForkProof}}
	cases["fork proof unsorted"] = []step{{signed(finder(), KindForkProof, &ForkProof{A: proof.B, B: proof.A}), ReasonBadForkProof}}
	lo, hi := f1, f2
	if bytes.Compare(lo, hi) > 0 {
		lo, hi = hi, lo
	}
	cases["fork proof two seqs"] = []step{{signed(finder(), KindForkProof, &ForkProof{A: lo, B: hi}), ReasonBadForkProof}}
	badSig := mutate(t, proof.B, func(e *Entry) { e.Sig[0] ^= 1 })
	lo, hi = proof.A, badSig
	if bytes.Compare(lo, hi) > 0 {
		lo, hi = hi, lo
	}
	cases["fork proof bad signature"] = []step{{signed(finder(), KindForkProof, &ForkProof{A: lo, B: hi}), ReasonBadForkProof}}
	return cases
}

func TestAddReasons(t *testing.T) {
	seen := map[Reason]bool{}
	for name, steps := range reasonCases(t) {
		t.Run(name, func(t *testing.T) {
			v, s := newTestValidator()
			for i, st := range steps {
				err := s.add(v, st.in)
				if got := ReasonOf(err); got != st.want {
					t.Fatalf("step %d: reason %q (%v), want %q", i, got, err, st.want)
				}
				if err != nil && ReasonOf(err) == "" {
					t.Fatalf("step %d: error without a Rejection: %v", i, err)
				}
			}
		})
		for _, st := range steps {
			seen[st.want] = true
		}
	}
	for _, r := range allReasons {
		if !seen[r] {
			t.Errorf("no test case for reason %q", r)
		}
	}
}

var allReasons = []Reason{
	ReasonTooLarge, ReasonMalformed, ReasonUnknownVersion, ReasonUnknownKind, ReasonNonCanonical,
	ReasonForkedAuthor, ReasonDuplicate, ReasonFuture, ReasonOutOfOrder, ReasonBadSignature,
	ReasonFork, ReasonBadChain, ReasonMissingCountersignature, ReasonBadCountersignature,
	ReasonUsageExceeds, ReasonBadValue, ReasonReplay, ReasonBadForkProof,
}

func TestForkDetectionAndProof(t *testing.T) {
	v, s := newTestValidator()
	c := newChain(t, 1)
	for i := 0; i < 3; i++ {
		if err := s.add(v, c.price(fixtureTime+int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	// A second entry at seq 2 (not the frontier): still a fork.
	c.last = c.history[0]
	_, b := c.entry(KindStatement, testStatement(1), fixtureTime+1)
	if err := s.add(v, b); ReasonOf(err) != ReasonFork {
		t.Fatalf("second entry at seq 2: %v", err)
	}
	author := string(c.key.id)
	if !v.Excluded(author) || !v.ExcludedAuthors()[string(c.key.id)] {
		t.Fatal("forked author not excluded")
	}
	proofs := v.ForkProofs()
	if len(proofs) != 1 {
		t.Fatalf("%d proofs, want 1", len(proofs))
	}
	got, seq, err := proofs[0].check()
	if err != nil || got != author || seq != 2 {
		t.Fatalf("proof: %s seq %d: %v", got, seq, err)
	}
	// The proof convinces a validator that saw neither entry.
	w, ws := newTestValidator()
	if err := ws.add(w, newChain(t, 8).add(KindForkProof, proofs[0], fixtureTime)); err != nil {
		t.Fatal(err)
	}
	if !w.Excluded(author) {
		t.Fatal("fork proof entry did not exclude the author")
	}
	if v.Frontier()[peer.ID(author).String()] != 3 || v.Accepted() != 3 {
		t.Fatalf("frontier %v, accepted %d", v.Frontier(), v.Accepted())
	}
}

func TestForkWithoutStore(t *testing.T) {
	v := NewValidator(ValidatorParams{})
	c := newChain(t, 1)
	if _, _, err := v.Add(c.price(fixtureTime), testNow); err != nil {
		t.Fatal(err)
	}
	_, b := c.fork()
	if _, _, err := v.Add(b, testNow); ReasonOf(err) != ReasonFork {
		t.Fatalf("fork: %v", err)
	}
	if !v.Excluded(string(c.key.id)) || len(v.ForkProofs()) != 0 {
		t.Fatal("a fork without the other entry must exclude the author, with no proof")
	}
}

func TestAddReturnsEntryAndID(t *testing.T) {
	v, _ := newTestValidator()
	b := newChain(t, 1).price(fixtureTime)
	e, id, err := v.Add(b, testNow)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := e.ID()
	if id != want || id != ID(blake3.Sum256(b)) || e.Kind != KindPrice {
		t.Fatal("Add returned the wrong entry or ID")
	}
}
