package payments

import (
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// sampleSettlement settles a small epoch with every kind of line.
func sampleSettlement(t *testing.T) *Settlement {
	t.Helper()
	p := ruleParams()
	p.FeeBPS = 500
	p.DefaultPrice = Price{StorageGiBMonth: 30 * 24 * 3600, EgressGiB: 3000}
	st := Storage{Holder: testPeer(op2), Manifest: []byte("m"), Shard: testShard(9), Owner: testPeer(owner2), Partner: "p",
		Bytes: 1 << 30, From: 1200, To: 1700, Audits: 2}
	return settleRules(t, p,
		testEntry(testPeer(partnerBase), 1, 5, Partner{ID: "p", Payout: testPeer(900), ShareBPS: 1000}),
		gibDownload(op1, 1, ruleStart, "p"),
		gibDownload(op2, 2, ruleStart, ""),
		testEntry(testPeer(stewardBase), 1, 1700, st),
	)
}

func TestStatementJSON(t *testing.T) {
	s := sampleSettlement(t)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"epoch", "root", "entries", "charges", "payouts", "partner_shares", "fee", "remainder"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	if m["root"] != s.Root.String() || len(s.Root.String()) != 64 {
		t.Errorf("root %v, want hex %s", m["root"], s.Root)
	}
	line := m["charges"].([]any)[0].(map[string]any)
	if _, ok := line["account"]; !ok {
		t.Errorf("a charge line lacks account: %v", line)
	}
	var back Settlement
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(&back, s) {
		t.Fatalf("JSON round trip: %v\n%+v\n%+v", err, back, *s)
	}
}

func TestStatementJSONEmptySections(t *testing.T) {
	s, err := Settle(ruleEpoch, nil, ruleParams())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	if !strings.Contains(string(b), `"charges":[]`) || !strings.Contains(string(b), `"partner_shares":[]`) {
		t.Fatalf("empty sections are not []: %s", b)
	}
}

func TestStatementLeavesRoundTrip(t *testing.T) {
	s := sampleSettlement(t)
	if len(s.Charges) != 2 || len(s.Payouts) != 2 || len(s.PartnerShares) != 1 {
		t.Fatalf("sample has %d charges, %d payouts, %d shares; want 2, 2, 1", len(s.Charges), len(s.Payouts), len(s.PartnerShares))
	}
	leaves := s.Leaves()
	if len(leaves) != 1+2+2+1 {
		t.Fatalf("%d leaves", len(leaves))
	}
	back, err := SettlementFromLeaves(leaves)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Fatalf("round trip differs: %v", Diff(back, s))
	}
	if d := Diff(s, back); len(d) != 0 {
		t.Fatalf("Diff of equal statements: %v", d)
	}
}

func TestStatementDiffAndRoot(t *testing.T) {
	s := sampleSettlement(t)
	changes := []struct {
		name    string
		change  func(*Settlement)
		section string
	}{
		{"fee", func(o *Settlement) { o.Fee++ }, SectionHeader},
		{"remainder", func(o *Settlement) { o.Remainder++ }, SectionHeader},
		{"entries", func(o *Settlement) { o.Entries++ }, SectionHeader},
		{"a charge's split", func(o *Settlement) { o.Charges[0].Storage++; o.Charges[0].Egress-- }, SectionCharges},
		{"a payout", func(o *Settlement) { o.Payouts[1].Amount++ }, SectionPayouts},
		{"a missing payout", func(o *Settlement) { o.Payouts = o.Payouts[:1] }, SectionPayouts},
		{"a partner's payout key", func(o *Settlement) { o.PartnerShares[0].Account = account(901) }, SectionPartnerShares},
	}
	for _, c := range changes {
		o := clone(s)
		c.change(o)
		d := Diff(s, o)
		if len(d) != 1 || d[0].Section != c.section {
			t.Errorf("%s: diff %v, want one difference in %s", c.name, d, c.section)
		}
		if MerkleRoot(o.Leaves()) == s.Root {
			t.Errorf("%s: root unchanged", c.name)
		}
	}
}

func clone(s *Settlement) *Settlement {
	o := *s
	o.Charges = append([]Line(nil), s.Charges...)
	o.Payouts = append([]Line(nil), s.Payouts...)
	o.PartnerShares = append([]Line(nil), s.PartnerShares...)
	return &o
}

func TestMerkleRootIsRFC6962(t *testing.T) {
	leaf := func(b []byte) []byte { h := sha256.Sum256(append([]byte{0}, b...)); return h[:] }
	node := func(l, r []byte) []byte { h := sha256.Sum256(append(append([]byte{1}, l...), r...)); return h[:] }
	a, b, c := []byte("a"), []byte("b"), []byte("c")
	// RFC 6962 §2.1: the left subtree holds the largest power of two below n leaves.
	if got, want := MerkleRoot([][]byte{a}), leaf(a); string(got[:]) != string(want) {
		t.Error("one leaf")
	}
	if got, want := MerkleRoot([][]byte{a, b, c}), node(node(leaf(a), leaf(b)), leaf(c)); string(got[:]) != string(want) {
		t.Error("three leaves")
	}
	empty := sha256.Sum256(nil)
	if got := MerkleRoot(nil); got != empty {
		t.Error("no leaves")
	}
}

func TestSettlementFromLeavesRefuses(t *testing.T) {
	s := sampleSettlement(t)
	good := s.Leaves()
	swap := func(i, j int) [][]byte {
		l := append([][]byte(nil), good...)
		l[i], l[j] = l[j], l[i]
		return l
	}
	header, _ := leafEnc.Marshal(headerLeaf{Section: leafHeader, Version: StatementVersion})
	cases := []struct {
		name   string
		leaves [][]byte
		want   string
	}{
		{"nothing", nil, "leaves"},
		{"header last", swap(0, len(good)-1), "header"},
		{"lines out of order", swap(1, 2), "not sorted"},
		{"sections out of order", swap(2, 3), "section"},
		{"a line twice", append(append([][]byte(nil), good[:2]...), good[1:]...), "twice"},
		{"two headers", append([][]byte{header}, good...), "leaf 1"},
		{"not canonical", append([][]byte{append([]byte{0xb8, 7}, good[0][1:]...)}, good[1:]...), "canonical"},
		{"garbage", [][]byte{good[0], {0xff}}, "leaf 1"},
		{"too large", [][]byte{make([]byte, maxLeafSize+1)}, "bytes"},
	}
	for _, c := range cases {
		if _, err := SettlementFromLeaves(c.leaves); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func TestRootText(t *testing.T) {
	var r Root
	if err := r.UnmarshalText([]byte("zz")); err == nil {
		t.Error("short root accepted")
	}
	if err := r.UnmarshalText([]byte(strings.Repeat("g", 64))); err == nil {
		t.Error("non-hex root accepted")
	}
}
