package economy

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/payments"
	"github.com/cairn-storage/cairn/sim"
)

// nodeWay builds entries as a network of real nodes would: each node signs its own chain
// (node.Ledger.appendOwn), stewards attest file by file with PlanStorage (node.attestPass),
// downloaders write countersigned receipts (node.downloadBodies, receiptFrom), partners
// register (node.Ledger.RegisterPartner). It uses the economy's identities so that accounts
// match, and nothing else of the package under test.
type nodeWay struct {
	t       *testing.T
	ids     *Identities
	grid    payments.EpochParams
	genesis int64
	last    map[string]*payments.Entry // per author: its last entry
	entries []payments.Entry
	nonces  *rand.Rand
}

func newNodeWay(t *testing.T, ids *Identities, cfg Config) *nodeWay {
	return &nodeWay{t: t, ids: ids, grid: payments.EpochParams{Genesis: cfg.Genesis, Length: int64(cfg.Epoch / sim.Second)},
		genesis: cfg.Genesis, last: map[string]*payments.Entry{}, nonces: rand.New(rand.NewChaCha8([32]byte{1}))}
}

func (w *nodeWay) key(n int32) crypto.PrivKey {
	k, err := w.ids.PrivKey(n)
	if err != nil {
		w.t.Fatal(err)
	}
	return k
}

func (w *nodeWay) peer(n int32) []byte {
	id, err := w.ids.Peer(n)
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

// appendOwn is node.Ledger.appendOwn: next in the author's chain, time never going back, signed.
func (w *nodeWay) appendOwn(priv crypto.PrivKey, kind payments.Kind, body any, now int64) {
	raw, err := payments.EncodeBody(body)
	if err != nil {
		w.t.Fatal(err)
	}
	author, _ := crypto.MarshalPublicKey(priv.GetPublic())
	k := string(author)
	seq, prev := payments.Next(w.last[k])
	if l := w.last[k]; l != nil && now < l.Time {
		now = l.Time
	}
	e := &payments.Entry{Kind: kind, Seq: seq, Prev: prev, Time: now, Body: raw}
	if err := payments.Sign(priv, e); err != nil {
		w.t.Fatal(err)
	}
	w.last[k] = e
	w.entries = append(w.entries, *e)
}

// register is node.Ledger.RegisterPartner by the partner's own key, at time 0.
func (w *nodeWay) register(id string, bps uint32) {
	priv, err := w.ids.PartnerPrivKey(id)
	if err != nil {
		w.t.Fatal(err)
	}
	payout, _ := w.ids.PartnerPeer(id)
	w.appendOwn(priv, payments.KindPartner, &payments.Partner{ID: id, Name: id, Payout: payout, ShareBPS: bps}, w.genesis)
}

// download is one get's receipt: node.downloadBodies, countersigned by the server, appended by
// the downloader.
func (w *nodeWay) download(at sim.Time, downloader, server int32, file uint64, owner int32, partner string, bytes, size int64) {
	d := &payments.Download{Server: w.peer(server), Manifest: ManifestCID(file), Shard: ShardCID(file<<8 | uint64(server)),
		Owner: w.peer(owner), Partner: partner, Bytes: bytes, ShardSize: size, Nonce: make([]byte, payments.NonceSize),
		Downloader: w.peer(downloader)}
	for i := range d.Nonce {
		d.Nonce[i] = byte(w.nonces.Uint32())
	}
	if err := payments.CounterSign(w.key(server), d); err != nil {
		w.t.Fatal(err)
	}
	w.appendOwn(w.key(downloader), payments.KindDownload, d, w.genesis+int64(at/sim.Time(sim.Second)))
}

// attest is node.attestPass for one steward at the epoch's end: per file, attestEvidence then
// PlanStorage, each body appended to the steward's chain.
func (w *nodeWay) attest(epoch uint64, s StewardEvidence) {
	_, end, _ := w.grid.Bounds(epoch)
	self := w.peer(s.Steward)
	for _, f := range s.Files {
		fe := payments.FileEvidence{Manifest: ManifestCID(f.File), Owner: w.peer(f.Owner), Partner: f.Partner}
		for _, h := range f.Holders {
			he := payments.HolderEvidence{Holder: w.peer(h.Node), ReceiptTime: w.genesis + int64(h.ReceiptTime/sim.Time(sim.Second)),
				Passes: h.Passes, Fails: h.Fails, Misses: h.Misses}
			for _, sh := range h.Shards {
				he.Shards = append(he.Shards, payments.ShardRef{CID: ShardCID(sh.ID), Bytes: sh.Bytes})
			}
			fe.Holders = append(fe.Holders, he)
		}
		bodies, err := payments.PlanStorage(epoch, w.grid, self, []payments.FileEvidence{fe})
		if err != nil {
			w.t.Fatal(err)
		}
		for i := range bodies {
			w.appendOwn(w.key(s.Steward), payments.KindStorage, &bodies[i], end)
		}
	}
}

// validated runs every entry through the ledger's validator, as a node accepts them.
func (w *nodeWay) validated() []payments.Entry {
	v := payments.NewValidator(payments.ValidatorParams{})
	out := make([]payments.Entry, 0, len(w.entries))
	for i := range w.entries {
		b, err := payments.Encode(&w.entries[i])
		if err != nil {
			w.t.Fatal(err)
		}
		e, _, err := v.Add(b, 1<<40)
		if err != nil {
			w.t.Fatalf("entry %d (kind %d): %v", i, w.entries[i].Kind, err)
		}
		out = append(out, *e)
	}
	return out
}

// nodeParams is node.settleParams over the node's default ledger config with fee and genesis
// set.
func nodeParams(fee uint32, genesis int64) payments.SettleParams {
	c := config.DefaultLedger()
	c.FeeBPS, c.Genesis = fee, genesis
	return payments.SettleParams{
		Epoch:        payments.EpochParams{Genesis: c.Genesis, Length: int64(c.EpochLength.D() / time.Second)},
		FeeBPS:       c.FeeBPS,
		DefaultPrice: payments.Price{StorageGiBMonth: payments.Amount(c.StoragePrice), EgressGiB: payments.Amount(c.EgressPrice)},
	}
}

// dl is one download of the hand-built case.
type dl struct {
	at                        sim.Time
	downloader, server, owner int32
	file                      uint64
	partner                   string
	bytes, size               int64
}

const mib = 1 << 20

// handCase is two epochs exercising each rule PlanStorage and Settle apply: clean audits, a
// failed audit, a miss without passes, a holder new in the epoch without audits, the steward's
// own shard, two stewards attesting one shard, a registered tag, a share above 10000 - fee
// (capped), an unregistered tag, an untagged file, a receipt of the next epoch recorded before
// the close, and the largest and smallest shards.
func handCase() (cfg Config, downloads [2][]dl, evidence [2][]StewardEvidence) {
	cfg = DefaultConfig()
	cfg.FeeBPS = 300
	cfg.Partners = []Partner{{"debian", 1500}, {"greedy", 9900}}
	h := func(n int32, receipt sim.Time, p, f, m uint32, shards ...Shard) HolderEvidence {
		return HolderEvidence{Node: n, ReceiptTime: receipt, Shards: shards, Passes: p, Fails: f, Misses: m}
	}
	day := sim.Time(sim.Day)
	evidence[0] = []StewardEvidence{
		{Steward: 0, Files: []FileEvidence{
			{File: 100, Owner: 8, Partner: "debian", Holders: []HolderEvidence{
				h(1, 0, 2, 0, 0, Shard{1000, 128 * mib}, Shard{1001, 128 * mib}),
				h(2, 0, 1, 1, 0, Shard{1002, 128 * mib}),                    // failed an audit: nothing
				h(0, 0, 1, 0, 0, Shard{1003, 128 * mib}),                    // the steward's own shard: nothing
				h(3, 6*sim.Time(sim.Hour), 0, 0, 0, Shard{1004, 128 * mib}), // new, unaudited: from 6h
				h(4, 0, 0, 0, 1, Shard{1005, 128 * mib}),                    // missed, never passed: nothing
			}},
			{File: 101, Owner: 9, Holders: []HolderEvidence{h(5, 0, 3, 0, 0, Shard{1010, 200 * mib})}},
		}},
		{Steward: 6, Files: []FileEvidence{
			{File: 102, Owner: 8, Partner: "nobody", Holders: []HolderEvidence{
				h(7, 0, 1, 0, 0, Shard{1020, payments.MaxShardSize}),
				h(1, 0, 1, 0, 0, Shard{1021, 1}),
			}},
			{File: 100, Owner: 8, Partner: "debian", Holders: []HolderEvidence{h(1, 0, 1, 0, 0, Shard{1000, 128 * mib})}},
			{File: 103, Owner: 7, Partner: "greedy", Holders: []HolderEvidence{h(2, 0, 4, 0, 0, Shard{1030, 96 * mib})}},
		}},
	}
	downloads[0] = []dl{
		{sim.Time(sim.Hour), 9, 1, 8, 100, "debian", 4 * mib, 4 * mib},
		{2 * sim.Time(sim.Hour), 8, 5, 9, 101, "", 16 * mib, 16 * mib},
		{3 * sim.Time(sim.Hour), 3, 7, 8, 102, "nobody", 100 * mib, payments.MaxShardSize},
		{3 * sim.Time(sim.Hour), 9, 2, 7, 103, "greedy", 64 * mib, 64 * mib},
		{day - 1, 0, 2, 7, 103, "greedy", 64 * mib, 64 * mib},
		{day + sim.Time(sim.Second), 0, 1, 8, 100, "debian", 4 * mib, 4 * mib}, // epoch 1, recorded before epoch 0 closes
	}
	evidence[1] = []StewardEvidence{
		{Steward: 0, Files: []FileEvidence{
			{File: 100, Owner: 8, Partner: "debian", Holders: []HolderEvidence{
				h(1, 0, 1, 0, 0, Shard{1000, 128 * mib}, Shard{1001, 128 * mib}),
				h(2, 0, 1, 0, 0, Shard{1002, 128 * mib}),                    // passes again: paid again
				h(3, 6*sim.Time(sim.Hour), 0, 0, 0, Shard{1004, 128 * mib}), // receipt before the epoch, no audits: nothing
			}},
		}},
	}
	downloads[1] = []dl{
		{day + 5*sim.Time(sim.Hour), 6, 7, 8, 102, "nobody", 256 * mib, payments.MaxShardSize},
	}
	return cfg, downloads, evidence
}

// TestSameDecisionAsTheNode is check (a): for the hand-built case the economy's statement roots
// equal payments.Settle's over entries built, signed and validated the way the node builds them,
// with the node's settlement parameters and all entries of both epochs (a node holds them
// all), so the simulator adds no logic between evidence and statement, and dropping settled
// epochs changes nothing.
func TestSameDecisionAsTheNode(t *testing.T) {
	cfg, downloads, evidence := handCase()
	l, err := New(cfg, sim.NewStreams(42))
	if err != nil {
		t.Fatal(err)
	}
	if l.Params().DefaultPrice != nodeParams(0, 0).DefaultPrice || l.Params().Epoch.Length != nodeParams(0, 0).Epoch.Length {
		t.Fatalf("economy defaults %+v differ from the node's %+v", l.Params(), nodeParams(0, 0))
	}
	w := newNodeWay(t, NewIdentities(sim.NewStreams(42)), cfg)
	for _, p := range cfg.Partners {
		w.register(p.ID, p.ShareBPS)
	}
	var results [2]*EpochResult
	rec := 0
	all := append(append([]dl(nil), downloads[0]...), downloads[1]...)
	for e := range uint64(2) {
		end, _ := l.EpochEnd(e)
		for ; rec < len(all) && all[rec].at < end+sim.Time(sim.Hour); rec++ {
			d := all[rec]
			if err := l.Download(d.at, d.downloader, d.server, d.file, d.owner, d.partner, d.bytes, d.size); err != nil {
				t.Fatal(err)
			}
			w.download(d.at, d.downloader, d.server, d.file, d.owner, d.partner, d.bytes, d.size)
		}
		if results[e], err = l.CloseEpoch(e, evidence[e]); err != nil {
			t.Fatal(err)
		}
		for _, s := range evidence[e] {
			w.attest(e, s)
		}
	}
	entries := w.validated()
	for e := range uint64(2) {
		want, err := payments.Settle(e, entries, nodeParams(cfg.FeeBPS, cfg.Genesis))
		if err != nil {
			t.Fatal(err)
		}
		got := results[e]
		if got.Root != want.Root {
			t.Errorf("epoch %d: economy root %v, node-built %v", e, got.Root, want.Root)
		}
		if got.Entries != want.Entries || got.Charges != payments.Total(want.Charges) || got.Fee != want.Fee {
			t.Errorf("epoch %d: %d entries, charges %d, fee %d; node-built %d, %d, %d", e,
				got.Entries, got.Charges, got.Fee, want.Entries, payments.Total(want.Charges), want.Fee)
		}
		t.Logf("epoch %d: root %v, %d usage bodies, charges %d (storage %d, egress %d), payouts %d, partners %d, fee %d, remainder %d",
			e, got.Root, got.Entries, got.Charges, got.StorageCharges, got.EgressCharges, got.Payouts, got.PartnerShares, got.Fee, got.Remainder)
	}
	// What the case is built to show, read off the result.
	paid := func(r *EpochResult, n int32) NodeAmount {
		for _, a := range r.PayoutByNode {
			if a.Node == n {
				return a
			}
		}
		return NodeAmount{Node: n}
	}
	r0, r1 := results[0], results[1]
	for _, n := range []int32{0, 4} {
		if s := paid(r0, n).Storage; s != 0 {
			t.Errorf("epoch 0: node %d earned storage %d (own shard or a miss without passes)", n, s)
		}
	}
	// Node 2 failed file 100 and served and kept only file 103, tagged greedy, whose capped
	// share (10000 - fee) leaves operators nothing.
	if a := paid(r0, 2); a.Total() != 0 || r0.PartnerByID[1].TaggedRevenue == 0 {
		t.Errorf("epoch 0: node 2 paid %+v, greedy's revenue %d", a, r0.PartnerByID[1].TaggedRevenue)
	}
	if s := paid(r1, 2).Storage; s == 0 {
		t.Error("epoch 1: node 2 passed and earned nothing")
	}
	if s := paid(r1, 3).Storage; s != 0 {
		t.Errorf("epoch 1: node 3, unaudited with an old receipt, earned %d", s)
	}
	if s := paid(r0, 3).Storage; s == 0 {
		t.Error("epoch 0: node 3, new in the epoch, earned nothing")
	}
	if r0.Receipts != 5 || r1.Receipts != 2 || r0.Registrations != 2 {
		t.Errorf("receipts %d, %d; registrations %d", r0.Receipts, r1.Receipts, r0.Registrations)
	}
	if len(r0.PartnerByID) != 2 || r0.PartnerByID[1].ShareBPS != 10000-cfg.FeeBPS {
		t.Errorf("partners %+v: want debian and greedy, greedy capped at %d bps", r0.PartnerByID, 10000-cfg.FeeBPS)
	}
	if l.Pending() != 0 {
		t.Errorf("%d receipts still pending", l.Pending())
	}
}
