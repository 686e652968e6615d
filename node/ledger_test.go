package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/payments"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	bolt "go.etcd.io/bbolt"
)

// ledgerClock is a fixed time in epoch 20000 (defaultEpochLength days since 1970).
var ledgerClock = time.Unix(20000*defaultEpochLength+3600, 0)

func newTestKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// openTestLedger opens a ledger in dir with key and a fixed clock, closed at the test's end.
func openTestLedger(t testing.TB, dir string, key crypto.PrivKey) *Ledger {
	t.Helper()
	l, err := OpenLedger(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	l.now = func() time.Time { return ledgerClock }
	t.Cleanup(func() { l.Close() })
	return l
}

func exportString(t testing.TB, l *Ledger) string {
	t.Helper()
	var b bytes.Buffer
	if err := l.Export(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func importString(t testing.TB, l *Ledger, s string) *api.ImportResult {
	t.Helper()
	res, err := l.Import(context.Background(), strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// signedLine signs an entry of key's chain after prev and returns it with its import line.
func signedLine(t testing.TB, key crypto.PrivKey, prev *payments.Entry, kind payments.Kind, body any, at int64) (*payments.Entry, string) {
	t.Helper()
	raw, err := payments.EncodeBody(body)
	if err != nil {
		t.Fatal(err)
	}
	seq, prevID := payments.Next(prev)
	e := &payments.Entry{Kind: kind, Seq: seq, Prev: prevID, Time: at, Body: raw}
	if err := payments.Sign(key, e); err != nil {
		t.Fatal(err)
	}
	b, err := payments.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return e, base64.StdEncoding.EncodeToString(b)
}

func reasons(res *api.ImportResult) []string {
	var out []string
	for _, r := range res.Rejected {
		out = append(out, r.Reason)
	}
	return out
}

func TestLedgerRegisterExportImport(t *testing.T) {
	keyA, keyB := newTestKey(t), newTestKey(t)
	a := openTestLedger(t, t.TempDir(), keyA)
	res, err := a.RegisterPartner("acme-os", "Acme OS", 1500)
	if err != nil {
		t.Fatal(err)
	}
	if res.Seq != 1 || !res.Mine || res.Payout != a.self.String() {
		t.Fatalf("register: %+v", res)
	}
	if _, err := a.RegisterPartner("acme-os", "Acme OS", 2000); err != nil { // new terms
		t.Fatal(err)
	}
	for _, bad := range []struct {
		id   string
		name string
		bps  uint32
	}{{"", "x", 1}, {"Bad ID", "x", 1}, {"ok", "x", 10001}, {"ok", "tab\there", 1}} {
		if _, err := a.RegisterPartner(bad.id, bad.name, bad.bps); err == nil {
			t.Errorf("RegisterPartner(%q, %q, %d) accepted", bad.id, bad.name, bad.bps)
		}
	}

	exported := exportString(t, a)
	if n := strings.Count(exported, "\n"); n != 2 {
		t.Fatalf("export has %d lines, want 2:\n%s", n, exported)
	}
	b := openTestLedger(t, t.TempDir(), keyB)
	if got := importString(t, b, exported); got.Accepted != 2 || got.RejectedCount != 0 {
		t.Fatalf("import into a second ledger: %+v", got)
	}
	parts, err := b.Partners()
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 1 || parts[0].ID != "acme-os" || parts[0].ShareBPS != 2000 || parts[0].Mine ||
		parts[0].Owner != a.self.String() {
		t.Fatalf("partners on the second ledger: %+v", parts)
	}
	if exportString(t, b) != exported {
		t.Fatal("the second ledger exports different entries")
	}

	lines := strings.Split(strings.TrimSpace(exported), "\n")
	raw, _ := base64.StdEncoding.DecodeString(lines[1])
	raw[len(raw)-1] ^= 1 // a bit of the signature
	tampered := base64.StdEncoding.EncodeToString(raw)
	c := openTestLedger(t, t.TempDir(), newTestKey(t))
	got := importString(t, c, lines[0]+"\n"+tampered+"\n"+lines[0]+"\n\n%%% not base64\n")
	want := []string{"bad_signature", "duplicate", "malformed"}
	if got.Accepted != 1 || got.RejectedCount != 3 || strings.Join(reasons(got), ",") != strings.Join(want, ",") {
		t.Fatalf("import: %+v, want 1 accepted and reasons %v", got, want)
	}
	if got.Rejected[0].Line != 2 || got.Rejected[2].Line != 5 {
		t.Fatalf("rejection lines: %+v", got.Rejected)
	}
}

func TestLedgerForkExcludesAuthorAcrossRestart(t *testing.T) {
	keyA := newTestKey(t)
	a := openTestLedger(t, t.TempDir(), keyA)
	if _, err := a.RegisterPartner("proj", "Project", 100); err != nil {
		t.Fatal(err)
	}
	dirB := t.TempDir()
	b := openTestLedger(t, dirB, newTestKey(t))
	importString(t, b, exportString(t, a))

	// A second entry of A at seq 1: A forked its chain.
	_, fork := signedLine(t, keyA, nil, payments.KindPartner,
		&payments.Partner{ID: "proj", Name: "Stolen", Payout: []byte(a.self), ShareBPS: 9000}, ledgerClock.Unix())
	res := importString(t, b, fork+"\n")
	if res.Accepted != 0 || strings.Join(reasons(res), ",") != "fork" {
		t.Fatalf("forked line: %+v", res)
	}
	check := func(l *Ledger) {
		t.Helper()
		s, err := l.Show()
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Excluded) != 1 || s.Excluded[0] != a.self.String() {
			t.Fatalf("excluded %v, want [%s]", s.Excluded, a.self)
		}
		if s.Kinds["fork_proof"] != 1 || s.Frontier.Seq != 1 {
			t.Fatalf("summary %+v: want this node's fork proof at seq 1", s)
		}
		if parts, _ := l.Partners(); len(parts) != 0 {
			t.Fatalf("a forked author's partner still counts: %+v", parts)
		}
	}
	check(b)
	before := exportString(t, b)
	b.Close()
	b2 := openTestLedger(t, dirB, b.priv)
	check(b2)
	if exportString(t, b2) != before {
		t.Fatal("entries changed across reopen")
	}
	// The proof travels: a third ledger importing B's export excludes A too.
	c := openTestLedger(t, t.TempDir(), newTestKey(t))
	importString(t, c, before)
	if !c.v.ExcludedAuthors()[string(a.self)] {
		t.Fatal("B's exported fork proof did not exclude A elsewhere")
	}
}

func TestLedgerPersistsAcrossReopen(t *testing.T) {
	dir, key := t.TempDir(), newTestKey(t)
	l := openTestLedger(t, dir, key)
	for _, id := range []string{"a", "b", "c"} {
		if _, err := l.RegisterPartner(id, "P "+id, 10); err != nil {
			t.Fatal(err)
		}
	}
	s1, _ := l.Show()
	e1 := exportString(t, l)
	l.Close()
	if _, err := l.Show(); err == nil {
		t.Fatal("a closed ledger answered")
	}
	l2 := openTestLedger(t, dir, key)
	s2, _ := l2.Show()
	if exportString(t, l2) != e1 || s2.Frontier != s1.Frontier || s2.Frontier.Seq != 3 || s2.Entries != 3 {
		t.Fatalf("after reopen: %+v, before %+v", s2, s1)
	}
	// The chain continues where it stopped.
	res, err := l2.RegisterPartner("d", "P d", 10)
	if err != nil || res.Seq != 4 {
		t.Fatalf("next own entry: %+v, %v", res, err)
	}
}

// testCID is a Cairn CID's binary form (payments' isCID) with a random digest.
func testCID(codec byte) []byte {
	b := append([]byte{0x01, codec, 0x1e, 0x20}, make([]byte, 32)...)
	rand.Read(b[4:])
	return b
}

func TestLedgerSettleConserves(t *testing.T) {
	l := openTestLedger(t, t.TempDir(), newTestKey(t))
	holder, steward, owner := newTestKey(t), newTestKey(t), newTestKey(t)
	id := func(k crypto.PrivKey) []byte { p, _ := peer.IDFromPrivateKey(k); return []byte(p) }
	const epoch = 19999 // closed: the clock is in 20000
	start := int64(epoch * defaultEpochLength)
	// Registered before the epoch: a later registration does not count for it.
	l.now = func() time.Time { return time.Unix(start-100, 0) }
	if _, err := l.RegisterPartner("proj", "Project", 2500); err != nil {
		t.Fatal(err)
	}
	l.now = func() time.Time { return ledgerClock }
	_, price := signedLine(t, holder, nil, payments.KindPrice,
		&payments.Price{FromEpoch: 0, StorageGiBMonth: 4_000_000, EgressGiB: 0}, start-10)
	_, att := signedLine(t, steward, nil, payments.KindStorage, &payments.Storage{
		Holder: id(holder), Manifest: testCID(0x51), Shard: testCID(0x55), Owner: id(owner),
		Partner: "proj", Bytes: 200 << 20, From: start, To: start + 80000, Audits: 3}, start+80001)
	if res := importString(t, l, price+"\n"+att+"\n"); res.Accepted != 2 {
		t.Fatalf("import: %+v", res)
	}
	st, err := l.Settle(nil)
	if err != nil {
		t.Fatal(err)
	}
	charges := payments.Total(st.Charges)
	if st.Epoch != epoch || charges <= 0 || len(st.PartnerShares) != 1 {
		t.Fatalf("settlement %+v: want epoch %d with a charge and a partner share", st, epoch)
	}
	if got := payments.Total(st.Payouts) + payments.Total(st.PartnerShares) + st.Fee + st.Remainder; got != charges {
		t.Fatalf("parts add up to %d, charges %d", got, charges)
	}
	cur := uint64(20000)
	if _, err := l.Settle(&cur); err == nil {
		t.Fatal("settled the open epoch")
	}
}

// TestLedgerBytesPerEntry measures the database's size per stored entry (partner registrations,
// about 250 bytes each encoded) over 10,000 entries.
func TestLedgerBytesPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10,000 entries")
	}
	n := 10000
	if ledgerRace {
		n = 1000
	}
	dir := t.TempDir()
	l := openTestLedger(t, dir, newTestKey(t))
	author := newTestKey(t)
	var prev *payments.Entry
	var in strings.Builder
	var raw int
	payout, _ := peer.IDFromPrivateKey(author)
	for i := range n {
		var line string
		prev, line = signedLine(t, author, prev, payments.KindPartner,
			&payments.Partner{ID: "p" + string(rune('a'+i%26)), Name: "Partner", Payout: []byte(payout), ShareBPS: 100}, ledgerClock.Unix())
		b, _ := base64.StdEncoding.DecodeString(line)
		raw += len(b)
		in.WriteString(line + "\n")
	}
	if res := importString(t, l, in.String()); res.Accepted != n {
		t.Fatalf("imported %d of %d (%+v)", res.Accepted, n, res.Rejected[:min(3, len(res.Rejected))])
	}
	var used int64 // pages bolt uses, without the file's preallocated tail
	l.db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	l.Close()
	fi, err := os.Stat(filepath.Join(dir, LedgerFile))
	if err != nil {
		t.Fatal(err)
	}
	perEntry := float64(used) / float64(n)
	t.Logf("ledger.db: %d bytes used (file %d) for %d entries = %.0f bytes/entry used, %.0f by file size (entries average %d bytes encoded)",
		used, fi.Size(), n, perEntry, float64(fi.Size())/float64(n), raw/n)
	if perEntry > 4*float64(raw/n) {
		t.Fatalf("%.0f bytes per entry on disk: more than 4x the encoding", perEntry)
	}
}
