package economy

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/cairn-storage/cairn/payments"
	"github.com/cairn-storage/cairn/sim"
)

// TestConservation is check (c): on random configurations, evidence and receipts over two
// epochs, every close succeeds and its money adds up: charges = payouts + partner shares + fee +
// remainder, each section equal to the sum of its lines by node, no amount negative, the
// remainder below the bound Settle documents (2·operators + partners + 1), and each partner's
// share floor(min(ShareBPS, 10000 - fee) × tagged revenue / 10000).
func TestConservation(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cfg := DefaultConfig()
		cfg.Epoch = rapid.SampledFrom([]sim.Duration{sim.Hour, sim.Day, 7 * sim.Day}).Draw(rt, "epoch")
		cfg.FeeBPS = uint32(rapid.IntRange(0, 10000).Draw(rt, "fee"))
		cfg.StoragePrice = rapid.Int64Range(0, 10_000_000).Draw(rt, "storage_price")
		cfg.EgressPrice = rapid.Int64Range(0, 10_000_000).Draw(rt, "egress_price")
		for i := range rapid.IntRange(0, 3).Draw(rt, "partners") {
			cfg.Partners = append(cfg.Partners, Partner{fmt.Sprintf("p%d", i), uint32(rapid.IntRange(0, 10000).Draw(rt, "share"))})
		}
		tags := []string{"", "unregistered"}
		for _, p := range cfg.Partners {
			tags = append(tags, p.ID)
		}
		l, err := New(cfg, sim.NewStreams(rapid.Uint64().Draw(rt, "seed")))
		if err != nil {
			rt.Fatal(err)
		}
		nodes := rapid.Int32Range(2, 30).Draw(rt, "nodes")
		node := func(label string) int32 { return rapid.Int32Range(0, nodes-1).Draw(rt, label) }
		size := func() int64 {
			return rapid.OneOf(rapid.Int64Range(1, 1<<20), rapid.Int64Range(1, payments.MaxShardSize)).Draw(rt, "bytes")
		}
		shard := uint64(0)
		for e := range uint64(2) {
			start, end := sim.Time(e)*sim.Time(cfg.Epoch), sim.Time(e+1)*sim.Time(cfg.Epoch)
			for range rapid.IntRange(0, 20).Draw(rt, "downloads") {
				dl, srv := node("downloader"), node("server")
				if dl == srv {
					continue
				}
				sz := size()
				at := sim.Time(rapid.Int64Range(int64(start), int64(end)-1).Draw(rt, "at"))
				if err := l.Download(at, dl, srv, rapid.Uint64Range(0, 9).Draw(rt, "file"), node("owner"),
					rapid.SampledFrom(tags).Draw(rt, "tag"), rapid.Int64Range(1, sz).Draw(rt, "got"), sz); err != nil {
					rt.Fatal(err)
				}
			}
			var ev []StewardEvidence
			for range rapid.IntRange(0, 4).Draw(rt, "stewards") {
				s := StewardEvidence{Steward: node("steward")}
				for range rapid.IntRange(0, 5).Draw(rt, "files") {
					f := FileEvidence{File: rapid.Uint64Range(0, 9).Draw(rt, "file"), Owner: node("owner"), Partner: rapid.SampledFrom(tags).Draw(rt, "tag")}
					for range rapid.IntRange(0, 4).Draw(rt, "holders") {
						h := HolderEvidence{Node: node("holder"),
							ReceiptTime: sim.Time(rapid.Int64Range(0, int64(end)+int64(cfg.Epoch)).Draw(rt, "receipt")),
							Passes:      uint32(rapid.IntRange(0, 3).Draw(rt, "passes")),
							Fails:       uint32(rapid.IntRange(0, 1).Draw(rt, "fails")),
							Misses:      uint32(rapid.IntRange(0, 2).Draw(rt, "misses"))}
						for range rapid.IntRange(1, 3).Draw(rt, "shards") {
							// Shard numbers repeat sometimes: stewards attesting one shard.
							shard = rapid.SampledFrom([]uint64{shard, shard + 1}).Draw(rt, "shard")
							h.Shards = append(h.Shards, Shard{shard, size()})
						}
						f.Holders = append(f.Holders, h)
					}
					s.Files = append(s.Files, f)
				}
				ev = append(ev, s)
			}
			r, err := l.CloseEpoch(e, ev)
			if err != nil {
				rt.Fatal(err)
			}
			checkMoney(rt, cfg, int(nodes), r)
		}
		if l.Pending() != 0 {
			rt.Fatalf("%d receipts pending", l.Pending())
		}
	})
}

func checkMoney(rt *rapid.T, cfg Config, nodes int, r *EpochResult) {
	var charged, storage, paid payments.Amount
	for _, a := range r.ChargeByNode {
		if a.Storage < 0 || a.Egress < 0 || a.Total() == 0 {
			rt.Fatalf("charge line %+v", a)
		}
		charged += a.Total()
		storage += a.Storage
	}
	for _, a := range r.PayoutByNode {
		if a.Storage < 0 || a.Egress < 0 || a.Total() == 0 {
			rt.Fatalf("payout line %+v", a)
		}
		paid += a.Total()
	}
	var shares payments.Amount
	share := map[string]uint32{}
	for _, p := range cfg.Partners {
		share[p.ID] = min(p.ShareBPS, 10000-cfg.FeeBPS)
	}
	for _, p := range r.PartnerByID {
		bps, ok := share[p.ID]
		if !ok || p.ShareBPS != bps || p.Amount != p.TaggedRevenue*payments.Amount(bps)/10000 || p.TaggedRevenue <= 0 {
			rt.Fatalf("partner %+v (configured %d bps, fee %d)", p, bps, cfg.FeeBPS)
		}
		shares += p.Amount
	}
	// Operators whose payout floors to 0 have no line but may leave a remainder: count every
	// node that could have served.
	bound := payments.Amount(2*nodes + len(cfg.Partners) + 1)
	switch {
	case charged != r.Charges || storage != r.StorageCharges || r.StorageCharges+r.EgressCharges != r.Charges:
		rt.Fatalf("charges %d by node, %d total (storage %d by node, %d total)", charged, r.Charges, storage, r.StorageCharges)
	case paid != r.Payouts || shares != r.PartnerShares:
		rt.Fatalf("payouts %d by node, %d total; shares %d by partner, %d total", paid, r.Payouts, shares, r.PartnerShares)
	case r.Charges != r.Payouts+r.PartnerShares+r.Fee+r.Remainder:
		rt.Fatalf("not conserved: %+v", r)
	case r.Fee != r.Charges*payments.Amount(cfg.FeeBPS)/10000:
		rt.Fatalf("fee %d of charges %d at %d bps", r.Fee, r.Charges, cfg.FeeBPS)
	case r.Remainder < 0 || r.Remainder >= bound:
		rt.Fatalf("remainder %d, bound %d", r.Remainder, bound)
	}
}
