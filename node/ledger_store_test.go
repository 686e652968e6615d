package node

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/payments"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// signedEntry is signedLine's entry with its canonical bytes instead of the import line.
func signedEntry(t testing.TB, key crypto.PrivKey, prev *payments.Entry, kind payments.Kind, body any, at int64) (*payments.Entry, []byte) {
	t.Helper()
	e, line := signedLine(t, key, prev, kind, body, at)
	b, err := base64.StdEncoding.DecodeString(line)
	if err != nil {
		t.Fatal(err)
	}
	return e, b
}

// partnerChain signs n Partner registrations (distinct IDs) as key's chain from seq 1.
func partnerChain(t testing.TB, key crypto.PrivKey, n int) [][]byte {
	t.Helper()
	self := keyID(t, key)
	var prev *payments.Entry
	out := make([][]byte, n)
	for i := range out {
		prev, out[i] = signedEntry(t, key, prev, payments.KindPartner,
			&payments.Partner{ID: fmt.Sprintf("p%d", i), Name: "P", Payout: []byte(self), ShareBPS: 100}, ledgerClock.Unix())
	}
	return out
}

func keyID(t testing.TB, key crypto.PrivKey) peer.ID {
	t.Helper()
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// wantReasons checks AddEntries' errors against reasons ("" for accepted).
func wantReasons(t *testing.T, errs []error, want ...payments.Reason) {
	t.Helper()
	if len(errs) != len(want) {
		t.Fatalf("%d errors for %d entries", len(errs), len(want))
	}
	for i, err := range errs {
		if got := payments.ReasonOf(err); got != want[i] || (want[i] == "" && err != nil) {
			t.Errorf("entry %d: error %v (reason %q), want reason %q", i, err, got, want[i])
		}
	}
}

// drainOutbox takes what the outbox holds now, without waiting: the ledger queues its entries
// before its call returns.
func drainOutbox(l *Ledger) [][]byte {
	var out [][]byte
	for {
		select {
		case b := <-l.Outbox():
			out = append(out, b)
		default:
			return out
		}
	}
}

func mustRange(t *testing.T, l *Ledger, author []byte, from uint64, limit int) [][]byte {
	t.Helper()
	got, err := l.Range(author, from, limit)
	if err != nil {
		t.Fatalf("Range(from %d, limit %d): %v", from, limit, err)
	}
	return got
}

func sameBytes(a, b [][]byte) bool { return slices.EqualFunc(a, b, bytes.Equal) }

func headsMap(t *testing.T, l *Ledger) map[string]uint64 {
	t.Helper()
	hs, err := l.Heads()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(hs, func(a, b Head) int { return bytes.Compare(a.Author, b.Author) }) {
		t.Fatalf("heads not sorted by author bytes: %v", hs)
	}
	m := make(map[string]uint64, len(hs))
	for _, h := range hs {
		m[string(h.Author)] = h.Seq
	}
	if len(m) != len(hs) {
		t.Fatalf("an author appears twice in heads: %v", hs)
	}
	return m
}

func TestLedgerAddEntriesBatch(t *testing.T) {
	dir, key := t.TempDir(), newTestKey(t)
	l := openTestLedger(t, dir, key)
	kx, ky := newTestKey(t), newTestKey(t)
	x, y := keyID(t, kx), keyID(t, ky)
	xs, ys := partnerChain(t, kx, 5), partnerChain(t, ky, 2)
	badSig := bytes.Clone(ys[1])
	badSig[len(badSig)-1] ^= 1

	errs := l.AddEntries([][]byte{xs[0], xs[1], ys[0], xs[0], xs[4], badSig})
	wantReasons(t, errs, "", "", "", payments.ReasonDuplicate, payments.ReasonOutOfOrder, payments.ReasonBadSignature)
	if got := drainOutbox(l); len(got) != 0 {
		t.Fatalf("foreign entries went to the outbox: %d", len(got))
	}
	check := func(l *Ledger) {
		t.Helper()
		if h := headsMap(t, l); len(h) != 2 || h[string(x)] != 2 || h[string(y)] != 1 {
			t.Errorf("heads %v, want x:2 y:1 keyed by raw peer ID bytes", h)
		}
		if got := mustRange(t, l, []byte(x), 1, 0); !sameBytes(got, xs[:2]) {
			t.Fatalf("x's stored chain differs (%d entries)", len(got))
		}
		if got := mustRange(t, l, []byte(y), 1, 0); !sameBytes(got, ys[:1]) {
			t.Fatalf("y's stored chain differs (%d entries)", len(got))
		}
		if s, err := l.Show(); err != nil || s.Entries != 3 || s.Kinds["partner"] != 3 || s.Authors != 2 || s.Frontier.Seq != 0 {
			t.Fatalf("summary %+v %v", s, err)
		}
	}
	check(l)

	l.Close()
	if errs := l.AddEntries([][]byte{xs[2]}); errs[0] == nil {
		t.Fatal("a closed ledger accepted an entry")
	}
	l2 := openTestLedger(t, dir, key)
	check(l2)
	// The replayed validator knows the chains: old entries are duplicates, the next ones fit.
	wantReasons(t, l2.AddEntries([][]byte{xs[1], xs[2], ys[1]}), payments.ReasonDuplicate, "", "")
	if h := headsMap(t, l2); h[string(x)] != 3 || h[string(y)] != 2 {
		t.Errorf("heads after more entries: %v", h)
	}
}

func TestLedgerAddEntriesFork(t *testing.T) {
	dir, key := t.TempDir(), newTestKey(t)
	l := openTestLedger(t, dir, key)
	self := []byte(keyID(t, key))
	kx := newTestKey(t)
	x := keyID(t, kx)
	payout := []byte(x)
	x1, b1 := signedEntry(t, kx, nil, payments.KindPartner, &payments.Partner{ID: "proj", Name: "Mine", Payout: payout, ShareBPS: 100}, ledgerClock.Unix())
	_, b1fork := signedEntry(t, kx, nil, payments.KindPartner, &payments.Partner{ID: "proj", Name: "Stolen", Payout: payout, ShareBPS: 9000}, ledgerClock.Unix())
	_, b2 := signedEntry(t, kx, x1, payments.KindPartner, &payments.Partner{ID: "more", Name: "More", Payout: payout, ShareBPS: 1}, ledgerClock.Unix())

	wantReasons(t, l.AddEntries([][]byte{b1}), "")
	wantReasons(t, l.AddEntries([][]byte{b1fork, b2}), payments.ReasonFork, payments.ReasonForkedAuthor)

	check := func(l *Ledger) {
		t.Helper()
		s, err := l.Show()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.Excluded, []string{x.String()}) || s.ForkProofs != 1 || s.Kinds["fork_proof"] != 1 || s.Frontier.Seq != 1 {
			t.Fatalf("summary %+v: want x excluded and one fork proof at this node's seq 1", s)
		}
		own := mustRange(t, l, self, 1, 0)
		if len(own) != 1 {
			t.Fatalf("own chain has %d entries, want the fork proof", len(own))
		}
		e, err := payments.Decode(own[0])
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind != payments.KindForkProof || !bytes.Equal(e.Author, self) || e.Seq != 1 {
			t.Fatalf("own entry: kind %v author %x seq %d, want this node's fork proof", e.Kind, e.Author, e.Seq)
		}
		fp, err := payments.DecodeForkProof(e)
		if err != nil {
			t.Fatal(err)
		}
		pair := [][]byte{b1, b1fork}
		slices.SortFunc(pair, bytes.Compare)
		if !bytes.Equal(fp.A, pair[0]) || !bytes.Equal(fp.B, pair[1]) {
			t.Fatal("the fork proof does not carry the two entries, byte-sorted")
		}
		// The first registration stays stored (never settled); the forked one is not.
		if got := mustRange(t, l, []byte(x), 1, 0); !sameBytes(got, [][]byte{b1}) {
			t.Fatalf("x's stored chain: %d entries", len(got))
		}
	}
	check(l)
	out := drainOutbox(l)
	own := mustRange(t, l, self, 1, 1)
	if !sameBytes(out, own) {
		t.Fatalf("outbox has %d entries, want exactly the fork proof", len(out))
	}

	l.Close()
	l2 := openTestLedger(t, dir, key)
	check(l2)
	if got := drainOutbox(l2); len(got) != 0 {
		t.Fatalf("replay put %d entries on the outbox", len(got))
	}
	// x stays excluded after the restart.
	wantReasons(t, l2.AddEntries([][]byte{b2}), payments.ReasonForkedAuthor)
}

// Both entries of a fork in one batch: the first is not on disk yet, only pending.
func TestLedgerAddEntriesForkInOneBatch(t *testing.T) {
	l := openTestLedger(t, t.TempDir(), newTestKey(t))
	ky := newTestKey(t)
	payout := []byte(keyID(t, ky))
	_, a := signedEntry(t, ky, nil, payments.KindPrice, &payments.Price{StorageGiBMonth: 1}, ledgerClock.Unix())
	_, b := signedEntry(t, ky, nil, payments.KindPartner, &payments.Partner{ID: "x", Payout: payout}, ledgerClock.Unix())
	wantReasons(t, l.AddEntries([][]byte{a, b}), "", payments.ReasonFork)
	s, err := l.Show()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Excluded) != 1 || s.Kinds["fork_proof"] != 1 || s.Frontier.Seq != 1 {
		t.Fatalf("summary %+v: want the author excluded and this node's proof", s)
	}
	if out := drainOutbox(l); len(out) != 1 {
		t.Fatalf("outbox has %d entries, want the proof", len(out))
	}
}

func TestLedgerOutboxOwnEntriesInOrder(t *testing.T) {
	l := openTestLedger(t, t.TempDir(), newTestKey(t))
	if got := drainOutbox(l); len(got) != 0 {
		t.Fatalf("a new ledger's outbox holds %d entries", len(got))
	}
	bs, err := l.AppendOwn(payments.KindPrice, &payments.Price{FromEpoch: 1, StorageGiBMonth: 10}, &payments.Price{FromEpoch: 2, EgressGiB: 3})
	if err != nil || len(bs) != 2 {
		t.Fatalf("AppendOwn: %d entries, %v", len(bs), err)
	}
	kx := newTestKey(t)
	wantReasons(t, l.AddEntries(partnerChain(t, kx, 3)), "", "", "")
	pr, err := l.RegisterPartner("acme", "Acme", 100)
	if err != nil || pr.Seq != 3 {
		t.Fatalf("RegisterPartner: %+v %v", pr, err)
	}
	want := mustRange(t, l, []byte(l.self), 1, 0)
	if len(want) != 3 || !bytes.Equal(want[0], bs[0]) || !bytes.Equal(want[1], bs[1]) {
		t.Fatal("AppendOwn's bytes are not what the ledger stored")
	}
	if id, _ := entryID(t, want[2]); id != pr.EntryID {
		t.Fatalf("partner entry ID %s, result says %s", id, pr.EntryID)
	}
	if got := drainOutbox(l); !sameBytes(got, want) {
		t.Fatalf("outbox has %d entries, want this node's 3 in order", len(got))
	}
}

func entryID(t *testing.T, b []byte) (string, *payments.Entry) {
	t.Helper()
	e, err := payments.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.ID()
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(id[:]), e
}

func TestLedgerAppendOwnStopsAtBadBody(t *testing.T) {
	dir, key := t.TempDir(), newTestKey(t)
	l := openTestLedger(t, dir, key)
	bs, err := l.AppendOwn(payments.KindPrice, &payments.Price{StorageGiBMonth: 5},
		&payments.Price{StorageGiBMonth: -1}, &payments.Price{StorageGiBMonth: 7})
	if payments.ReasonOf(err) != payments.ReasonBadValue {
		t.Fatalf("error %v, want reason %s", err, payments.ReasonBadValue)
	}
	if len(bs) != 1 {
		t.Fatalf("%d entries returned, want the first", len(bs))
	}
	if _, e := entryID(t, bs[0]); e.Seq != 1 {
		t.Fatalf("first entry at seq %d", e.Seq)
	}
	if got := mustRange(t, l, []byte(l.self), 1, 0); !sameBytes(got, bs) {
		t.Fatalf("stored %d own entries, want the first only", len(got))
	}
	if got := drainOutbox(l); !sameBytes(got, bs) {
		t.Fatalf("outbox has %d entries, want the first only", len(got))
	}
	// Still usable: the chain continues at seq 2.
	next, err := l.AppendOwn(payments.KindPrice, &payments.Price{StorageGiBMonth: 6})
	if err != nil || len(next) != 1 {
		t.Fatalf("AppendOwn after a refusal: %d entries, %v", len(next), err)
	}
	if _, e := entryID(t, next[0]); e.Seq != 2 {
		t.Fatalf("next entry at seq %d, want 2", e.Seq)
	}
	l.Close()
	l2 := openTestLedger(t, dir, key)
	if got := mustRange(t, l2, []byte(l2.self), 1, 0); !sameBytes(got, append(bs, next...)) {
		t.Fatalf("after reopen: %d own entries, want 2", len(got))
	}
	if s, err := l2.Show(); err != nil || s.Frontier.Seq != 2 || s.Kinds["price"] != 2 {
		t.Fatalf("after reopen: %+v %v", s, err)
	}
	if more, err := l2.AppendOwn(payments.KindPrice, &payments.Price{StorageGiBMonth: 8}); err != nil || len(more) != 1 {
		t.Fatalf("AppendOwn after reopen: %v", err)
	} else if _, e := entryID(t, more[0]); e.Seq != 3 {
		t.Fatalf("entry after reopen at seq %d, want 3", e.Seq)
	}
}

func TestLedgerHeadsAndRange(t *testing.T) {
	l := openTestLedger(t, t.TempDir(), newTestKey(t))
	if h, err := l.Heads(); err != nil || len(h) != 0 {
		t.Fatalf("empty ledger heads: %v %v", h, err)
	}
	for _, id := range []string{"a", "b"} {
		if _, err := l.RegisterPartner(id, "P", 1); err != nil {
			t.Fatal(err)
		}
	}
	ka, kb := newTestKey(t), newTestKey(t)
	a, b := keyID(t, ka), keyID(t, kb)
	as, bs := partnerChain(t, ka, 5), partnerChain(t, kb, 3)
	for _, err := range l.AddEntries(append(slices.Clone(as), bs...)) {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Heads name authors as Range takes them: raw peer ID bytes (what entries carry).
	if h := headsMap(t, l); len(h) != 3 || h[string(l.self)] != 2 || h[string(a)] != 5 || h[string(b)] != 3 {
		t.Errorf("heads %v, want raw peer ID bytes of self:2 a:5 b:3", h)
	}
	if hs, _ := l.Heads(); len(hs) > 0 {
		if got := mustRange(t, l, hs[0].Author, 1, 1); len(got) != 1 {
			t.Errorf("Range of the first head's author %q: %d entries, want 1", hs[0].Author, len(got))
		}
	}

	A := []byte(a)
	for _, tc := range []struct {
		from  uint64
		limit int
		want  [][]byte
	}{
		{1, 0, as}, {0, 0, as}, {1, 5, as}, {1, 100, as},
		{3, 0, as[2:]}, {2, 2, as[1:3]}, {5, 10, as[4:]}, {1, 1, as[:1]},
		{6, 0, nil}, {1 << 40, 0, nil},
	} {
		if got := mustRange(t, l, A, tc.from, tc.limit); !sameBytes(got, tc.want) {
			t.Errorf("Range(a, %d, %d): %d entries, want %d", tc.from, tc.limit, len(got), len(tc.want))
		}
	}
	if _, err := l.Range(A, 1, -1); err == nil {
		t.Error("negative limit accepted")
	}
	// Authors it does not hold give nothing, including prefixes and extensions of a held one.
	for _, other := range [][]byte{[]byte(keyID(t, newTestKey(t))), A[:len(A)-1], append(slices.Clone(A), 0), nil, {}} {
		if got := mustRange(t, l, other, 1, 0); len(got) != 0 {
			t.Errorf("Range of author %x: %d entries", other, len(got))
		}
	}
}

// Limit 0, or above maxRange, means maxRange.
func TestLedgerRangeLimitIsBounded(t *testing.T) {
	l := openTestLedger(t, t.TempDir(), newTestKey(t))
	kc := newTestKey(t)
	cs := partnerChain(t, kc, maxRange+6)
	for i, err := range l.AddEntries(cs) {
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	C := []byte(keyID(t, kc))
	for _, limit := range []int{0, maxRange + 1, 1 << 30} {
		if got := mustRange(t, l, C, 1, limit); !sameBytes(got, cs[:maxRange]) {
			t.Errorf("limit %d: %d entries, want the first %d", limit, len(got), maxRange)
		}
	}
	if got := mustRange(t, l, C, maxRange+1, 0); !sameBytes(got, cs[maxRange:]) {
		t.Errorf("the rest: %d entries, want 6", len(got))
	}
}

// statementEpochLength is a one-hour grid: ledgerClock (20000 days + 1 hour) starts epoch
// statementEpoch+1.
const statementEpochLength = 3600

var statementEpoch = uint64(ledgerClock.Unix()/statementEpochLength) - 1

func configureStatementGrid(l *Ledger, now time.Time) {
	l.Configure(payments.SettleParams{Epoch: payments.EpochParams{Genesis: 0, Length: statementEpochLength}})
	l.now = func() time.Time { return now }
}

// addUsage stores a price and a storage attestation within epoch, so its settlement is not empty.
func addUsage(t *testing.T, l *Ledger, epoch uint64) {
	t.Helper()
	holder, steward, owner := newTestKey(t), newTestKey(t), newTestKey(t)
	start := int64(epoch * statementEpochLength)
	_, price := signedEntry(t, holder, nil, payments.KindPrice, &payments.Price{StorageGiBMonth: 4_000_000}, start-10)
	_, att := signedEntry(t, steward, nil, payments.KindStorage, &payments.Storage{
		Holder: []byte(keyID(t, holder)), Manifest: testCID(0x51), Shard: testCID(0x55), Owner: []byte(keyID(t, owner)),
		Bytes: 200 << 20, From: start + 10, To: start + 3000, Audits: 3}, start+3001)
	wantReasons(t, l.AddEntries([][]byte{price, att}), "", "")
}

func TestLedgerStatementSignAndReplay(t *testing.T) {
	dir, key := t.TempDir(), newTestKey(t)
	const delay = 10 * time.Minute
	E := statementEpoch
	now := ledgerClock.Add(delay + time.Second) // in epoch E+1, past the delay
	l := openTestLedger(t, dir, key)
	configureStatementGrid(l, now)
	addUsage(t, l, E)

	if e, ok := l.statementDue(ledgerClock.Add(delay-time.Second), delay); !ok || e != E-1 {
		t.Fatalf("within the delay: due %d %v, want the epoch before, %d", e, ok, E-1)
	}
	if e, ok := l.statementDue(now, delay); !ok || e != E {
		t.Fatalf("after the delay: due %d %v, want %d", e, ok, E)
	}
	st, err := l.SignStatement(E)
	if err != nil {
		t.Fatal(err)
	}
	if st.Epoch != E || st.Entries == 0 {
		t.Fatalf("signed settlement %+v: want epoch %d with usage", st, E)
	}
	again, err := l.Settle(&E)
	if err != nil {
		t.Fatal(err)
	}
	if again.Root != st.Root {
		t.Fatalf("Settle(E) root %s after signing, statement signed %s", again.Root, st.Root)
	}
	own := mustRange(t, l, []byte(l.self), 1, 0)
	if len(own) != 1 {
		t.Fatalf("own chain has %d entries, want the statement", len(own))
	}
	_, e := entryID(t, own[0])
	sb, err := payments.DecodeStatement(e)
	if err != nil {
		t.Fatal(err)
	}
	if sb.Epoch != E || !bytes.Equal(sb.Root, st.Root[:]) || sb.Count != st.Entries || e.Time != now.Unix() {
		t.Fatalf("stored statement %+v at %d, want epoch %d root %s count %d", sb, e.Time, E, st.Root, st.Entries)
	}
	if got := drainOutbox(l); !sameBytes(got, own) {
		t.Fatalf("outbox has %d entries, want the statement", len(got))
	}
	if e, ok := l.statementDue(now, delay); ok {
		t.Fatalf("due %d right after signing %d", e, E)
	}
	// A second statement of the same epoch is a replay.
	if _, err := l.SignStatement(E); payments.ReasonOf(err) != payments.ReasonReplay {
		t.Fatalf("signing epoch %d twice: %v, want reason %s", E, err, payments.ReasonReplay)
	}
	// The next epoch comes due an epoch later.
	if e, ok := l.statementDue(now.Add(statementEpochLength*time.Second), delay); !ok || e != E+1 {
		t.Fatalf("an epoch later: due %d %v, want %d", e, ok, E+1)
	}

	l.Close()
	l2 := openTestLedger(t, dir, key)
	configureStatementGrid(l2, now)
	if e, ok := l2.statementDue(now, delay); ok {
		t.Fatalf("after reopen: due %d, already signed %d", e, E)
	}
	if st2, err := l2.Settle(&E); err != nil || st2.Root != st.Root {
		t.Fatalf("after reopen: Settle(E) %v %v, want root %s", st2, err, st.Root)
	}
}

func TestLedgerVerifyLocal(t *testing.T) {
	const delay = 10 * time.Minute
	E := statementEpoch
	now := ledgerClock.Add(delay + time.Second)
	l := openTestLedger(t, t.TempDir(), newTestKey(t))
	configureStatementGrid(l, now)
	addUsage(t, l, E)
	st, err := l.SignStatement(E) // this node's own statement is not compared with itself
	if err != nil {
		t.Fatal(err)
	}
	kp, kq, kr := newTestKey(t), newTestKey(t), newTestKey(t)
	p, q := keyID(t, kp), keyID(t, kq)
	_, agree := signedEntry(t, kp, nil, payments.KindStatement, &payments.Statement{Epoch: E, Root: st.Root[:], Count: st.Entries}, now.Unix()-5)
	other := st.Root
	other[0] ^= 1
	_, disagree := signedEntry(t, kq, nil, payments.KindStatement, &payments.Statement{Epoch: E, Root: other[:], Count: st.Entries + 1}, now.Unix()-4)
	// A statement of another epoch is not compared.
	_, older := signedEntry(t, kr, nil, payments.KindStatement, &payments.Statement{Epoch: E - 1, Root: other[:], Count: 1}, now.Unix()-3)

	wantReasons(t, l.AddEntries([][]byte{agree, older}), "", "")
	for _, ep := range []*uint64{&E, nil} {
		res, err := l.verifyLocal(ep)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Agree || res.Agreeing != 1 || len(res.Statements) != 1 || res.Epoch != E || res.Root != st.Root.String() {
			t.Fatalf("only an agreeing statement: %+v", res)
		}
		if v := res.Statements[0]; v.Author != p.String() || !v.Agrees || v.Root != st.Root.String() || v.Entries != st.Entries || v.Time != now.Unix()-5 {
			t.Fatalf("agreeing statement view %+v", v)
		}
	}

	wantReasons(t, l.AddEntries([][]byte{disagree}), "")
	res, err := l.verifyLocal(&E)
	if err != nil {
		t.Fatal(err)
	}
	if res.Agree || res.Agreeing != 1 || len(res.Statements) != 2 || res.Differences == nil {
		t.Fatalf("with a disagreeing statement: %+v", res)
	}
	if v := res.Statements[0]; v.Author != q.String() || v.Agrees || v.Root != hex.EncodeToString(other[:]) || v.Entries != st.Entries+1 {
		t.Fatalf("first statement %+v, want q's disagreeing one", v)
	}
	if v := res.Statements[1]; v.Author != p.String() || !v.Agrees {
		t.Fatalf("second statement %+v, want p's agreeing one", v)
	}
}
