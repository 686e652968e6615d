package economy

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/pelletier/go-toml/v2"

	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/payments"
	"github.com/cairn-storage/cairn/sim"
)

// runCase plays the hand-built case on a fresh ledger of seed and returns its results and,
// per epoch, the entries it gave Settle.
func runCase(t *testing.T, seed uint64, permute bool) ([]*EpochResult, [][]payments.Entry, *Ledger) {
	t.Helper()
	cfg, downloads, evidence := handCase()
	l, err := New(cfg, sim.NewStreams(seed))
	if err != nil {
		t.Fatal(err)
	}
	var seen [][]payments.Entry
	l.onEntries = func(_ uint64, es []payments.Entry) { seen = append(seen, slices.Clone(es)) }
	var out []*EpochResult
	for e := range uint64(2) {
		for _, d := range downloads[e] {
			if err := l.Download(d.at, d.downloader, d.server, d.file, d.owner, d.partner, d.bytes, d.size); err != nil {
				t.Fatal(err)
			}
		}
		ev := evidence[e]
		if permute {
			ev = slices.Clone(ev)
			slices.Reverse(ev)
		}
		r, err := l.CloseEpoch(e, ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out, seen, l
}

// TestEntriesValidateOnceSigned: what the economy hands Settle are valid ledger entries but for
// signatures. Signed by their authors (the chains re-linked, as a signature is part of an
// entry's ID) and the receipts countersigned by their servers, every entry passes the node's
// validator, and settling the signed entries gives the same roots.
func TestEntriesValidateOnceSigned(t *testing.T) {
	results, seen, l := runCase(t, 3, false)
	cfg := l.Config()
	ids := l.Identities()
	partnerKey := map[string]crypto.PrivKey{}
	for _, p := range cfg.Partners {
		k, _ := ids.PartnerPrivKey(p.ID)
		id, _ := ids.PartnerPeer(p.ID)
		partnerKey[string(id)] = k
	}
	keyOf := func(author []byte) crypto.PrivKey {
		if k, ok := partnerKey[string(author)]; ok {
			return k
		}
		n, ok := ids.Node(author)
		if !ok {
			t.Fatalf("author %x is no node", author)
		}
		k, _ := ids.PrivKey(n)
		return k
	}
	v := payments.NewValidator(payments.ValidatorParams{})
	last := map[string]*payments.Entry{}
	var signed []payments.Entry
	for ep, es := range seen {
		for _, e := range es {
			if e.Kind == payments.KindPartner && ep > 0 {
				continue // the same registrations go into every epoch's input
			}
			if l := last[string(e.Author)]; (l == nil && e.Seq != 1) || (l != nil && e.Seq != l.Seq+1) || (l != nil && e.Time < l.Time) {
				t.Fatalf("author %x: seq %d at %d after %+v", e.Author, e.Seq, e.Time, l)
			}
			if e.Kind == payments.KindDownload {
				d, err := payments.DecodeDownload(&e)
				if err != nil {
					t.Fatal(err)
				}
				if err := payments.CounterSign(keyOf(d.Server), d); err != nil {
					t.Fatal(err)
				}
				if e.Body, err = payments.EncodeBody(d); err != nil {
					t.Fatal(err)
				}
			}
			e.Seq, e.Prev = payments.Next(last[string(e.Author)])
			if err := payments.Sign(keyOf(e.Author), &e); err != nil {
				t.Fatal(err)
			}
			b, err := payments.Encode(&e)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := v.Add(b, 1<<40)
			if err != nil {
				t.Fatalf("epoch %d entry kind %d seq %d: %v", ep, e.Kind, e.Seq, err)
			}
			last[string(e.Author)] = got
			signed = append(signed, *got)
		}
	}
	for e, r := range results {
		st, err := payments.Settle(uint64(e), signed, l.Params())
		if err != nil {
			t.Fatal(err)
		}
		if st.Root != r.Root {
			t.Errorf("epoch %d: signed entries settle to %v, the economy said %v", e, st.Root, r.Root)
		}
	}
	t.Logf("%d entries signed and validated", v.Accepted())
}

// TestPartnerShare is check (b): with fee 300 bps, debian at 1500 bps and greedy at 9900 bps
// (capped at 9700), each partner's share is floor(bps × tagged revenue / 10000), and the
// tagged revenue is the charges of the usage tagged with it, worked out by hand below from
// the prices (4000 per GiB-month, 7000 per GiB) bucket by bucket as Settle floors them.
func TestPartnerShare(t *testing.T) {
	results, _, _ := runCase(t, 1, false)
	const gib, month, day = 1 << 30, 30 * 86400, 86400
	storage := func(bytes, seconds int64) payments.Amount {
		return payments.Amount(bytes * seconds * 4000 / (gib * month))
	}
	egress := func(bytes int64) payments.Amount { return payments.Amount(bytes * 7000 / gib) }
	// Epoch 0, debian (file 100, owner 8): node 1 keeps two 128 MiB shards all day (one bucket),
	// node 3 one from 6h; node 1 served 4 MiB.
	debian0 := storage(2*128*mib, day) + storage(128*mib, 18*3600) + egress(4*mib)
	// greedy (file 103, owner 7): node 2 keeps 96 MiB all day and served 64 MiB twice.
	greedy0 := storage(96*mib, day) + egress(2*64*mib)
	// Epoch 1, debian: nodes 1 (two shards) and 2 (one) all day, each its own bucket; node 1
	// served 4 MiB.
	debian1 := storage(2*128*mib, day) + storage(128*mib, day) + egress(4*mib)
	want := [][]PartnerAmount{
		{{"debian", debian0 * 1500 / 10000, debian0, 1500}, {"greedy", greedy0 * 9700 / 10000, greedy0, 9700}},
		{{"debian", debian1 * 1500 / 10000, debian1, 1500}},
	}
	for e, r := range results {
		if !reflect.DeepEqual(r.PartnerByID, want[e]) {
			t.Errorf("epoch %d: partners %+v, want %+v", e, r.PartnerByID, want[e])
		}
		t.Logf("epoch %d: %+v", e, r.PartnerByID)
	}
}

// TestFailedAuditEarnsNothing is check (d): PlanStorage's rule shows through. A holder that
// failed one audit of a file earns no storage for any of its shards of that file in the epoch
// (so the epoch settles as if it held none of them), while its clean file still pays; a holder
// that only missed audits of an old receipt earns nothing; one new in the epoch and never caught
// out is paid from its receipt time.
func TestFailedAuditEarnsNothing(t *testing.T) {
	cfg := DefaultConfig()
	clean := FileEvidence{File: 1, Owner: 9, Holders: []HolderEvidence{{Node: 1, Shards: []Shard{{10, 256 * mib}}, Passes: 3}}}
	failed := FileEvidence{File: 2, Owner: 9, Holders: []HolderEvidence{
		{Node: 1, Shards: []Shard{{20, 256 * mib}, {21, 256 * mib}}, Passes: 5, Fails: 1},
		{Node: 2, Shards: []Shard{{22, 256 * mib}}, Passes: 1},
	}}
	run := func(files ...FileEvidence) *EpochResult {
		l, err := New(cfg, sim.NewStreams(5))
		if err != nil {
			t.Fatal(err)
		}
		r, err := l.CloseEpoch(0, []StewardEvidence{{Steward: 0, Files: files}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	with := run(clean, failed)
	withoutHolder := run(clean, FileEvidence{File: 2, Owner: 9, Holders: failed.Holders[1:]})
	if with.Root != withoutHolder.Root {
		t.Errorf("a holder that failed an audit still counts: root %v, without it %v", with.Root, withoutHolder.Root)
	}
	one := storageOf(with, 1)
	if want := payments.Amount(256 * mib * 86400 * 4000 / (1 << 30 * 30 * 86400)); one != want {
		t.Errorf("node 1 earned storage %d, want %d for its clean shard alone", one, want)
	}
	if storageOf(with, 2) != one {
		t.Errorf("node 2 earned %d, want %d", storageOf(with, 2), one)
	}
	// Without the failure, node 1 earns for all three shards (one bucket: owner 9, operator 1).
	passed := failed
	passed.Holders = slices.Clone(failed.Holders)
	passed.Holders[0].Fails = 0
	if got, want := storageOf(run(clean, passed), 1), payments.Amount(3*256*mib*86400*4000/(1<<30*30*86400)); got != want {
		t.Errorf("with no failure node 1 earned %d, want %d", got, want)
	}
	// Misses alone, receipt before the epoch: nothing; the same receipt inside the epoch and no
	// misses: paid from the receipt (6 h in, 18 h of 24).
	missed := FileEvidence{File: 3, Owner: 9, Holders: []HolderEvidence{{Node: 3, Shards: []Shard{{30, 256 * mib}}, Misses: 2}}}
	if got := storageOf(run(missed), 3); got != 0 {
		t.Errorf("a holder that only missed earned %d", got)
	}
	fresh := FileEvidence{File: 3, Owner: 9, Holders: []HolderEvidence{{Node: 3, ReceiptTime: 6 * sim.Time(sim.Hour), Shards: []Shard{{30, 256 * mib}}}}}
	if got, want := storageOf(run(fresh), 3), payments.Amount(256*mib*18*3600*4000/(1<<30*30*86400)); got != want {
		t.Errorf("a new holder earned %d, want %d", got, want)
	}
}

func storageOf(r *EpochResult, n int32) payments.Amount {
	for _, a := range r.PayoutByNode {
		if a.Node == n {
			return a.Storage
		}
	}
	return 0
}

// TestDeterminism is check (e): the same inputs give the same results, whatever the order of
// the stewards' evidence; another seed gives other accounts (another root) and the same money.
func TestDeterminism(t *testing.T) {
	a, _, _ := runCase(t, 9, false)
	b, _, _ := runCase(t, 9, false)
	c, _, _ := runCase(t, 9, true)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same inputs, different results")
	}
	for e := range a {
		if a[e].Root != c[e].Root || !reflect.DeepEqual(a[e].PayoutByNode, c[e].PayoutByNode) {
			t.Fatalf("epoch %d: the stewards' order changed the statement", e)
		}
	}
	d, _, _ := runCase(t, 10, false)
	for e := range a {
		if a[e].Root == d[e].Root {
			t.Errorf("epoch %d: seeds 9 and 10 give the same root", e)
		}
		x, y := *a[e], *d[e]
		x.Root, y.Root = payments.Root{}, payments.Root{}
		if !reflect.DeepEqual(x, y) {
			t.Errorf("epoch %d: the seed changed the money:\n%+v\n%+v", e, x, y)
		}
	}
}

func TestDownloadErrors(t *testing.T) {
	l, err := New(DefaultConfig(), sim.NewStreams(1))
	if err != nil {
		t.Fatal(err)
	}
	day := sim.Time(sim.Day)
	bad := []struct {
		at                        sim.Time
		downloader, server, owner int32
		partner                   string
		bytes, size               int64
		want                      string
	}{
		{-1, 1, 2, 3, "", 1, 1, "before the run"},
		{0, -1, 2, 3, "", 1, 1, "download nodes -1"},
		{0, 1, MaxNodes, 3, "", 1, 1, "download nodes"},
		{0, 2, 2, 3, "", 1, 1, "from itself"},
		{0, 1, 2, 3, "", 0, 1, "0 bytes of a 1-byte shard"},
		{0, 1, 2, 3, "", 2, 1, "2 bytes of a 1-byte shard"},
		{0, 1, 2, 3, "", 1, payments.MaxShardSize + 1, "shard size"},
		{0, 1, 2, 3, "Debian", 1, 1, "partner tag"},
	}
	for _, b := range bad {
		err := l.Download(b.at, b.downloader, b.server, 7, b.owner, b.partner, b.bytes, b.size)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: got %v, want %q", b, err, b.want)
		}
	}
	if err := l.Download(day+1, 1, 2, 7, 3, "", 1, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CloseEpoch(2, nil); err == nil || !strings.Contains(err.Error(), "epoch 1 has receipts and was never closed") {
		t.Errorf("closing past a pending epoch: %v", err)
	}
	if _, err := l.CloseEpoch(0, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.Download(day-1, 1, 2, 7, 3, "", 1, 1); err == nil || !strings.Contains(err.Error(), "already closed") {
		t.Errorf("download into a closed epoch: %v", err)
	}
	if _, err := l.CloseEpoch(0, nil); err == nil || !strings.Contains(err.Error(), "already closed") {
		t.Errorf("closing twice: %v", err)
	}
	if r, err := l.CloseEpoch(1, nil); err != nil || r.Receipts != 1 || l.Pending() != 0 {
		t.Errorf("epoch 1: %+v, %v, %d pending", r, err, l.Pending())
	}
}

func TestEvidenceErrors(t *testing.T) {
	l, err := New(DefaultConfig(), sim.NewStreams(1))
	if err != nil {
		t.Fatal(err)
	}
	ok := HolderEvidence{Node: 1, Shards: []Shard{{1, 1}}, Passes: 1}
	bad := []struct {
		ev   StewardEvidence
		want string
	}{
		{StewardEvidence{Steward: -1}, "node index -1"},
		{StewardEvidence{Files: []FileEvidence{{File: 1, Owner: -2}}}, "file 1 owner"},
		{StewardEvidence{Files: []FileEvidence{{File: 1, Partner: "a b"}}}, "file 1: economy: partner tag"},
		{StewardEvidence{Files: []FileEvidence{{File: 1, Holders: []HolderEvidence{ok, {Node: MaxNodes}}}}}, "file 1 holder"},
		{StewardEvidence{Files: []FileEvidence{{File: 1, Holders: []HolderEvidence{{Node: 1, ReceiptTime: -1}}}}}, "before the run"},
		{StewardEvidence{Files: []FileEvidence{{File: 1, Holders: []HolderEvidence{{Node: 1, Shards: []Shard{{5, 0}}}}}}}, "shard 5: 0 bytes"},
		{StewardEvidence{Files: []FileEvidence{{File: 1, Holders: []HolderEvidence{{Node: 1, Shards: []Shard{{5, payments.MaxShardSize + 1}}}}}}}, "shard 5"},
	}
	for _, b := range bad {
		_, err := l.CloseEpoch(0, []StewardEvidence{b.ev})
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: got %v, want %q", b.ev, err, b.want)
		}
	}
	// Refused evidence wrote nothing: the epoch still closes.
	if _, err := l.CloseEpoch(0, []StewardEvidence{{Steward: 0, Files: []FileEvidence{{File: 1, Owner: 2, Holders: []HolderEvidence{ok}}}}}); err != nil {
		t.Fatal(err)
	}
}

func TestConfig(t *testing.T) {
	node := config.DefaultLedger()
	d := DefaultConfig()
	if int64(d.Epoch) != int64(node.EpochLength) || d.StoragePrice != node.StoragePrice || d.EgressPrice != node.EgressPrice || d.FeeBPS != node.FeeBPS {
		t.Errorf("defaults %+v differ from the node's %+v", d, node)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Epoch = 1500 * sim.Millisecond }, "economy.epoch"},
		{func(c *Config) { c.Epoch = 32 * sim.Day }, "economy.epoch"},
		{func(c *Config) { c.Genesis = 0 }, "economy.genesis"},
		{func(c *Config) { c.FeeBPS = 10001 }, "economy.fee_bps"},
		{func(c *Config) { c.StoragePrice = -1 }, "economy.storage_price"},
		{func(c *Config) { c.EgressPrice = int64(payments.MaxPrice) + 1 }, "economy.egress_price"},
		{func(c *Config) { c.Partners = []Partner{{"", 1}} }, "economy.partners[0].id: empty"},
		{func(c *Config) { c.Partners = []Partner{{"ok", 1}, {"NotOK", 1}} }, "economy.partners[1].id"},
		{func(c *Config) { c.Partners = []Partner{{"ok", 1}, {"ok", 1}} }, "listed twice"},
		{func(c *Config) { c.Partners = []Partner{{"ok", 10001}} }, "economy.partners[0].share_bps"},
	}
	for _, b := range bad {
		c := DefaultConfig()
		b.mod(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("got %v, want %q", err, b.want)
		}
		if _, err := New(c, sim.NewStreams(1)); err == nil {
			t.Errorf("New accepted %+v", c)
		}
	}
	const doc = `
[economy]
epoch = "12h"
fee_bps = 250
egress_price = 0
partners = [ { id = "debian", share_bps = 1000 } ]
`
	var sc struct {
		Economy Config `toml:"economy"`
	}
	sc.Economy = DefaultConfig()
	dec := toml.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		t.Fatal(err)
	}
	c := sc.Economy
	c.Fill()
	want := Config{Epoch: 12 * sim.Hour, Genesis: DefaultGenesis, FeeBPS: 250, StoragePrice: DefaultStoragePrice, EgressPrice: 0,
		Partners: []Partner{{"debian", 1000}}}
	if !reflect.DeepEqual(c, want) || c.Validate() != nil {
		t.Errorf("decoded %+v (%v), want %+v", c, c.Validate(), want)
	}
	var zero Config
	zero.Fill()
	if zero.Epoch != DefaultEpoch || zero.Genesis != DefaultGenesis || zero.Validate() != nil {
		t.Errorf("filled zero config %+v", zero)
	}
}
