package payments

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// Rule tables on a fixed grid: epoch 1 covers [1000, 2000).
const (
	ruleEpoch = 1
	ruleStart = 1000
	ruleEnd   = 2000
	op1       = 1
	op2       = 2
	owner1    = 101
	owner2    = 102
)

func ruleParams() SettleParams {
	return SettleParams{Epoch: EpochParams{Genesis: 0, Length: 1000}, DefaultPrice: Price{StorageGiBMonth: 7, EgressGiB: 7}}
}

// gibDownload is a receipt for one GiB served by server to owner1 at time at.
func gibDownload(server, nonce int, at int64, tag string) Entry {
	d := Download{Server: testPeer(server), Manifest: []byte("m"), Shard: testShard(1), Owner: testPeer(owner1),
		Partner: tag, Bytes: 1 << 30, ShardSize: 1 << 30, Nonce: testNonce(nonce), Downloader: testPeer(readerBase)}
	return testEntry(testPeer(readerBase), uint64(nonce), at, d)
}

func settleRules(t *testing.T, p SettleParams, entries ...Entry) *Settlement {
	t.Helper()
	s, err := Settle(ruleEpoch, entries, p)
	if err != nil {
		t.Fatalf("settle: %v", err)
	}
	if err := checkConservation(s, 8); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSettlePriceChoice(t *testing.T) {
	price := func(author int, seq uint64, at int64, from uint64, egress Amount) Entry {
		return testEntry(testPeer(author), seq, at, Price{FromEpoch: from, StorageGiBMonth: 1, EgressGiB: egress})
	}
	cases := []struct {
		name     string
		prices   []Entry
		excluded int
		want     Amount // op1's egress price for epoch 1, read off a 1 GiB download
	}{
		{"none: default", nil, 0, 7},
		{"largest FromEpoch not after the epoch", []Entry{price(op1, 1, 10, 0, 100), price(op1, 2, 20, 1, 200), price(op1, 3, 30, 0, 300)}, 0, 200},
		{"a later epoch's price waits", []Entry{price(op1, 1, 10, 0, 100), price(op1, 2, 20, 2, 200)}, 0, 100},
		{"tie on FromEpoch: latest Seq", []Entry{price(op1, 5, 10, 1, 500), price(op1, 3, 30, 1, 300)}, 0, 500},
		{"written after the epoch ended", []Entry{price(op1, 1, 10, 0, 100), price(op1, 2, ruleEnd, 1, 200)}, 0, 100},
		{"written just before the end", []Entry{price(op1, 1, 10, 0, 100), price(op1, 2, ruleEnd-1, 1, 200)}, 0, 200},
		{"another operator's price", []Entry{price(op2, 1, 10, 0, 100)}, 0, 7},
		{"excluded author", []Entry{price(op1, 1, 10, 0, 100)}, op1, 7},
		{"negative price ignored", []Entry{price(op1, 1, 10, 0, 100), price(op1, 2, 20, 1, -5)}, 0, 100},
		{"fork not excluded: smaller body", []Entry{price(op1, 4, 10, 1, 400), price(op1, 4, 10, 1, 300)}, 0, 300},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := ruleParams()
			if c.excluded != 0 {
				p.Excluded = map[string]bool{string(testPeer(c.excluded)): true}
			}
			entries := append([]Entry{gibDownload(op1, 1, ruleStart, "")}, c.prices...)
			for _, order := range [][]Entry{entries, reversed(entries)} {
				s := settleRules(t, p, order...)
				if got := Total(s.Charges); got != c.want {
					t.Fatalf("charged %d, want %d", got, c.want)
				}
			}
		})
	}
}

func reversed(es []Entry) []Entry {
	out := make([]Entry, len(es))
	for i, e := range es {
		out[len(es)-1-i] = e
	}
	return out
}

func TestSettlePartnerChoice(t *testing.T) {
	const a, b = partnerBase, partnerBase + 1 // testPeer(a) sorts before testPeer(b)
	reg := func(author int, seq uint64, at int64, id string, payout int, bps uint32) Entry {
		return testEntry(testPeer(author), seq, at, Partner{ID: id, Name: "n", Payout: testPeer(payout), ShareBPS: bps})
	}
	cases := []struct {
		name    string
		fee     uint32
		regs    []Entry
		payout  int // 0: no partner line
		share   Amount
		shareBP uint32
	}{
		{"one registration", 0, []Entry{reg(a, 1, 10, "p", 900, 2500)}, 900, 2500, 2500},
		{"earliest registration owns the ID", 0, []Entry{reg(a, 1, 10, "p", 900, 1000), reg(b, 1, 5, "p", 901, 3000)}, 901, 3000, 3000},
		{"same time: smaller author", 0, []Entry{reg(b, 1, 5, "p", 901, 3000), reg(a, 1, 5, "p", 900, 1000)}, 900, 1000, 1000},
		{"the owner updates its terms", 0, []Entry{reg(a, 1, 5, "p", 900, 1000), reg(a, 2, 900, "p", 902, 2000)}, 902, 2000, 2000},
		{"others cannot take the ID", 0, []Entry{reg(a, 1, 5, "p", 900, 1000), reg(b, 7, 900, "p", 901, 9000)}, 900, 1000, 1000},
		{"registered after the epoch", 0, []Entry{reg(a, 1, ruleEnd, "p", 900, 1000)}, 0, 0, 0},
		{"unregistered tag", 0, []Entry{reg(a, 1, 5, "q", 900, 1000)}, 0, 0, 0},
		{"share capped by the fee", 9000, []Entry{reg(a, 1, 5, "p", 900, 5000)}, 900, 1000, 1000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := ruleParams()
			p.FeeBPS = c.fee
			p.DefaultPrice.EgressGiB = 10000
			entries := append([]Entry{gibDownload(op1, 1, ruleStart, "p")}, c.regs...)
			for _, order := range [][]Entry{entries, reversed(entries)} {
				s := settleRules(t, p, order...)
				if c.payout == 0 {
					if len(s.PartnerShares) != 0 {
						t.Fatalf("partner shares %v, want none", s.PartnerShares)
					}
					continue
				}
				want := Line{Account: account(c.payout), Amount: c.share, Partner: "p", Revenue: 10000, ShareBPS: c.shareBP}
				if len(s.PartnerShares) != 1 || s.PartnerShares[0] != want {
					t.Fatalf("partner shares %v, want [%v]", s.PartnerShares, want)
				}
				pay, _ := lineOf(s.Payouts, account(op1))
				if fee := Amount(10000 * c.fee / 10000); pay.Amount != 10000-c.share-fee || s.Fee != fee {
					t.Fatalf("payout %d fee %d, want %d and %d", pay.Amount, s.Fee, 10000-c.share-fee, fee)
				}
			}
		})
	}
}

// TestSettleStorageOverlap: with one GiB priced at one month's seconds, a GiB·second costs 1.
func TestSettleStorageOverlap(t *testing.T) {
	att := func(steward, holder, shard, owner int, bytes, from, to int64) Entry {
		st := Storage{Holder: testPeer(holder), Manifest: []byte("m"), Shard: testShard(shard), Owner: testPeer(owner),
			Bytes: bytes, From: from, To: to, Audits: 1}
		return testEntry(testPeer(steward), uint64(from), to, st)
	}
	const g = 1 << 30
	s1, s2 := stewardBase, stewardBase+1
	cases := []struct {
		name    string
		entries []Entry
		want    map[int]Amount // owner → charge
		count   uint64
	}{
		{"clipped to the epoch", []Entry{att(s1, op1, 1, owner1, g, 500, 1500)}, map[int]Amount{owner1: 500}, 1},
		{"outside the epoch", []Entry{att(s1, op1, 1, owner1, g, 100, 1000), att(s1, op1, 2, owner1, g, 2000, 2500)}, map[int]Amount{}, 0},
		{"two stewards: union of spans", []Entry{att(s1, op1, 1, owner1, g, 1000, 1600), att(s2, op1, 1, owner1, g, 1400, 2000)}, map[int]Amount{owner1: 1000}, 2},
		{"largest attested size wins where they overlap", []Entry{att(s1, op1, 1, owner1, g, 1000, 2000), att(s2, op1, 1, owner1, 2*g, 1200, 1300)}, map[int]Amount{owner1: 1100}, 2},
		{"a gap stays a gap", []Entry{att(s1, op1, 1, owner1, g, 1000, 1100), att(s2, op1, 1, owner1, g, 1900, 2000)}, map[int]Amount{owner1: 200}, 2},
		{"other holders count apart", []Entry{att(s1, op1, 1, owner1, g, 1000, 2000), att(s1, op2, 1, owner1, g, 1000, 2000)}, map[int]Amount{owner1: 2000}, 2},
		{"other shards count apart", []Entry{att(s1, op1, 1, owner1, g, 1000, 2000), att(s1, op1, 2, owner1, g, 1000, 2000)}, map[int]Amount{owner1: 2000}, 2},
		{"one body in two entries", []Entry{att(s1, op1, 1, owner1, g, 1000, 2000), func() Entry {
			e := att(s1, op1, 1, owner1, g, 1000, 2000)
			e.Author, e.Seq = testPeer(s2), 77
			return e
		}()}, map[int]Amount{owner1: 1000}, 1},
		{"equal sizes, disagreeing owners: one is charged", []Entry{att(s1, op1, 1, owner1, g, 1000, 2000), att(s2, op1, 1, owner2, g, 1000, 2000)}, nil, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := ruleParams()
			p.DefaultPrice.StorageGiBMonth = 30 * 24 * 3600
			for _, order := range [][]Entry{c.entries, reversed(c.entries)} {
				s := settleRules(t, p, order...)
				if s.Entries != c.count {
					t.Fatalf("entries %d, want %d", s.Entries, c.count)
				}
				if c.want == nil {
					// The attestation with the smaller body wins the tie.
					winner := owner1
					if string(c.entries[1].Body) < string(c.entries[0].Body) {
						winner = owner2
					}
					if len(s.Charges) != 1 || s.Charges[0].Account != account(winner) || s.Charges[0].Amount != 1000 {
						t.Fatalf("charges %v, want owner %d charged 1000", s.Charges, winner)
					}
					continue
				}
				if len(s.Charges) != len(c.want) {
					t.Fatalf("charges %v, want %v", s.Charges, c.want)
				}
				for owner, amount := range c.want {
					if l, _ := lineOf(s.Charges, account(owner)); l.Amount != amount || l.Storage != amount {
						t.Fatalf("owner %d charged %v, want %d", owner, l, amount)
					}
				}
			}
		})
	}
}

func TestSettleDownloadCounting(t *testing.T) {
	recarry := func(e Entry, at int64) Entry {
		e.Seq, e.Time = e.Seq+100, at
		return e
	}
	first := gibDownload(op1, 1, ruleStart+5, "")
	early := gibDownload(op1, 2, ruleStart-1, "")
	cases := []struct {
		name    string
		entries []Entry
		want    Amount // at 7 per GiB
	}{
		{"at the start", []Entry{gibDownload(op1, 1, ruleStart, "")}, 7},
		{"at the end: next epoch", []Entry{gibDownload(op1, 1, ruleEnd, "")}, 0},
		{"before the start", []Entry{early}, 0},
		{"one body in two entries", []Entry{first, recarry(first, ruleStart+50)}, 7},
		{"first carried in an earlier epoch", []Entry{early, recarry(early, ruleStart+50)}, 0},
		{"the same entry twice", []Entry{first, first}, 7},
		{"two receipts", []Entry{first, gibDownload(op1, 3, ruleStart+9, "")}, 14},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, order := range [][]Entry{c.entries, reversed(c.entries)} {
				if got := Total(settleRules(t, ruleParams(), order...).Charges); got != c.want {
					t.Fatalf("charged %d, want %d", got, c.want)
				}
			}
		})
	}
}

func TestSettleRemainderKeepsRounding(t *testing.T) {
	// Three partners' and operators' parts of small charges round down; the units go to
	// Remainder, never nowhere.
	p := ruleParams()
	p.FeeBPS = 333
	p.DefaultPrice.EgressGiB = 1001
	entries := []Entry{
		testEntry(testPeer(partnerBase), 1, 5, Partner{ID: "p", Payout: testPeer(900), ShareBPS: 777}),
		gibDownload(op1, 1, ruleStart, "p"),
		gibDownload(op2, 2, ruleStart, ""),
	}
	s := settleRules(t, p, entries...)
	// charges 2002; fee floor(2002·333/10000) = 66; share floor(1001·777/10000) = 77;
	// op1 floor(1001·(10000-777-333)/10000) = 889; op2 floor(1001·9667/10000) = 967.
	if Total(s.Charges) != 2002 || s.Fee != 66 || Total(s.PartnerShares) != 77 || Total(s.Payouts) != 889+967 || s.Remainder != 3 {
		t.Fatalf("charges %d fee %d shares %d payouts %d remainder %d", Total(s.Charges), s.Fee, Total(s.PartnerShares), Total(s.Payouts), s.Remainder)
	}
}

func TestSettleOverflowIsAnError(t *testing.T) {
	p := ruleParams()
	p.DefaultPrice.EgressGiB = math.MaxInt64
	d := Download{Server: testPeer(op1), Owner: testPeer(owner1), Bytes: math.MaxInt64, Nonce: testNonce(1)}
	_, err := Settle(ruleEpoch, []Entry{testEntry(testPeer(readerBase), 1, ruleStart, d)}, p)
	if !errors.Is(err, ErrOverflow) {
		t.Fatalf("err %v, want ErrOverflow", err)
	}
	// The largest charge that fits: (2^63-1) bytes at 2^30 per GiB.
	p.DefaultPrice.EgressGiB = 1 << 30
	s, err := Settle(ruleEpoch, []Entry{testEntry(testPeer(readerBase), 1, ruleStart, d)}, p)
	if err != nil || Total(s.Charges) != math.MaxInt64 {
		t.Fatalf("settle %v, %v: want one charge of MaxInt64", s, err)
	}
	// Two of them, to two owners, overflow the epoch's total.
	d2 := d
	d2.Owner, d2.Nonce = testPeer(owner2), testNonce(2)
	_, err = Settle(ruleEpoch, []Entry{testEntry(testPeer(readerBase), 1, ruleStart, d), testEntry(testPeer(readerBase), 2, ruleStart, d2)}, p)
	if !errors.Is(err, ErrOverflow) {
		t.Fatalf("err %v, want ErrOverflow", err)
	}
}

func TestSettleParamsAndBadBodies(t *testing.T) {
	bad := []struct {
		name string
		p    func(*SettleParams)
		want string
	}{
		{"fee above 10000", func(p *SettleParams) { p.FeeBPS = 10001 }, "fee"},
		{"zero epoch length", func(p *SettleParams) { p.Epoch.Length = 0 }, "epoch length"},
		{"negative default price", func(p *SettleParams) { p.DefaultPrice.EgressGiB = -1 }, "negative"},
		{"epoch past int64 time", func(p *SettleParams) { p.Epoch.Genesis = math.MaxInt64 - 1500 }, "beyond"},
	}
	for _, c := range bad {
		p := ruleParams()
		c.p(&p)
		if _, err := Settle(ruleEpoch, nil, p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	e := gibDownload(op1, 1, ruleStart, "")
	e.Body = []byte{0xff}
	if _, err := Settle(ruleEpoch, []Entry{e}, ruleParams()); err == nil || !strings.Contains(err.Error(), "download entry") {
		t.Errorf("garbage body: err %v", err)
	}
	if s, err := Settle(ruleEpoch, nil, ruleParams()); err != nil || len(s.Leaves()) != 1 {
		t.Errorf("empty epoch: %v, %v: want a header-only statement", s, err)
	}
}

func TestEpochParams(t *testing.T) {
	p := EpochParams{Genesis: -500, Length: 1000}
	if s, e, err := p.Bounds(2); err != nil || s != 1500 || e != 2500 {
		t.Fatalf("Bounds(2) = %d, %d, %v", s, e, err)
	}
	for _, c := range []struct {
		t    int64
		want uint64
		ok   bool
	}{{-501, 0, false}, {-500, 0, true}, {499, 0, true}, {500, 1, true}, {2499, 2, true}} {
		if got, ok := p.Of(c.t); got != c.want || ok != c.ok {
			t.Errorf("Of(%d) = %d, %v; want %d, %v", c.t, got, ok, c.want, c.ok)
		}
	}
	if _, _, err := (EpochParams{Length: math.MaxInt64}).Bounds(2); err == nil {
		t.Error("Bounds past int64: no error")
	}
}
