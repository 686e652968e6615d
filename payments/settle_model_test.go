package payments

import (
	"errors"
	"math"
	"math/big"
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"pgregory.net/rapid"
)

// TestSettleMatchesModel checks the amounts against a direct big-integer computation of the
// rules, on worlds without overlapping attestations or re-carried receipts (those rules have
// their own tests), with sizes and prices up to the int64 limits.
func TestSettleMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld(t)
		// One price per operator at most, every registration its own ID: the choice rules are
		// tested elsewhere, this test is about arithmetic.
		var entries []Entry
		prices := map[string]Price{}
		partners := map[string]Partner{}
		shard := 0
		for _, e := range w.entries {
			switch e.Kind {
			case KindPrice:
				var pr Price
				mustDecode(e.Body, &pr)
				if _, ok := prices[string(e.Author)]; ok || e.Time >= w.end || pr.FromEpoch > w.epoch {
					continue
				}
				prices[string(e.Author)] = pr
			case KindPartner:
				var reg Partner
				mustDecode(e.Body, &reg)
				if _, ok := partners[reg.ID]; ok || e.Time >= w.end {
					continue
				}
				partners[reg.ID] = reg
			case KindStorage:
				var st Storage
				mustDecode(e.Body, &st)
				shard++
				st.Shard = testShard(1000 + shard)
				e.Body = testBody(st)
			}
			entries = append(entries, e)
		}
		want, wantErr := modelSettle(w, entries, prices, partners)
		got, err := Settle(w.epoch, entries, w.p)
		if wantErr != nil || err != nil {
			if !errors.Is(err, ErrOverflow) || wantErr == nil {
				t.Fatalf("Settle error %v, model error %v", err, wantErr)
			}
			return
		}
		want.Entries, want.Root = got.Entries, got.Root
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("settle differs from the model: %v", Diff(got, want))
		}
	})
}

func mustDecode(b []byte, v any) {
	if err := cbor.Unmarshal(b, v); err != nil {
		panic(err)
	}
}

var errModelOverflow = errors.New("model: overflow")

// modelSettle computes the expected statement with math/big, one rule at a time.
func modelSettle(w *world, entries []Entry, prices map[string]Price, partners map[string]Partner) (*Settlement, error) {
	type key struct {
		owner, op, partner string
		storage            bool
	}
	usage := map[key]*big.Int{}
	addUsage := func(k key, v *big.Int) {
		if _, ok := partners[k.partner]; !ok {
			k.partner = ""
		}
		if usage[k] == nil {
			usage[k] = new(big.Int)
		}
		usage[k].Add(usage[k], v)
	}
	for _, e := range entries {
		switch e.Kind {
		case KindStorage:
			var st Storage
			mustDecode(e.Body, &st)
			from, to := max(st.From, w.start), min(st.To, w.end)
			if to > from {
				addUsage(key{string(st.Owner), string(st.Holder), st.Partner, true}, new(big.Int).Mul(big.NewInt(st.Bytes), big.NewInt(to-from)))
			}
		case KindDownload:
			var d Download
			mustDecode(e.Body, &d)
			if e.Time >= w.start && e.Time < w.end {
				addUsage(key{string(d.Owner), string(d.Server), d.Partner, false}, big.NewInt(d.Bytes))
			}
		}
	}
	maxAmount := big.NewInt(math.MaxInt64)
	bps := big.NewInt(10000)
	fee := int64(w.p.FeeBPS)
	total := new(big.Int)
	charged := map[string]*[2]*big.Int{} // owner → storage, egress
	payNum := map[string]*[2]*big.Int{}  // operator → storage, egress numerators
	revenue := map[string]*big.Int{}     // partner ID → tagged charges
	slot := func(m map[string]*[2]*big.Int, k string) *[2]*big.Int {
		if m[k] == nil {
			m[k] = &[2]*big.Int{new(big.Int), new(big.Int)}
		}
		return m[k]
	}
	for k, u := range usage {
		pr, ok := prices[k.op]
		if !ok {
			pr = w.p.DefaultPrice
		}
		c := new(big.Int)
		kind := 1
		if k.storage {
			kind = 0
			c.Mul(u, big.NewInt(int64(pr.StorageGiBMonth))).Quo(c, big.NewInt(1<<30*30*86400))
		} else {
			c.Mul(u, big.NewInt(int64(pr.EgressGiB))).Quo(c, big.NewInt(1<<30))
		}
		if c.Cmp(maxAmount) > 0 {
			return nil, errModelOverflow
		}
		total.Add(total, c)
		slot(charged, k.owner)[kind].Add(slot(charged, k.owner)[kind], c)
		share := int64(0)
		if k.partner != "" {
			share = min(int64(partners[k.partner].ShareBPS), 10000-fee)
			if revenue[k.partner] == nil {
				revenue[k.partner] = new(big.Int)
			}
			revenue[k.partner].Add(revenue[k.partner], c)
		}
		p := slot(payNum, k.op)
		p[kind].Add(p[kind], new(big.Int).Mul(c, big.NewInt(10000-share-fee)))
	}
	if total.Cmp(maxAmount) > 0 {
		return nil, errModelOverflow
	}
	s := newSettlement(w.epoch, 0, w.p.FeeBPS)
	s.Fee = Amount(new(big.Int).Quo(new(big.Int).Mul(total, big.NewInt(fee)), bps).Int64())
	left := total.Int64() - int64(s.Fee)
	for owner, c := range charged {
		if l := (Line{Account: accountName(owner), Storage: Amount(c[0].Int64()), Egress: Amount(c[1].Int64())}); l.Storage+l.Egress > 0 {
			l.Amount = l.Storage + l.Egress
			s.Charges = append(s.Charges, l)
		}
	}
	for op, n := range payNum {
		l := Line{Account: accountName(op), Storage: Amount(new(big.Int).Quo(n[0], bps).Int64()), Egress: Amount(new(big.Int).Quo(n[1], bps).Int64())}
		if l.Amount = l.Storage + l.Egress; l.Amount > 0 {
			s.Payouts = append(s.Payouts, l)
			left -= int64(l.Amount)
		}
	}
	for id, rev := range revenue {
		if rev.Sign() == 0 {
			continue
		}
		share := uint32(min(int64(partners[id].ShareBPS), 10000-fee))
		amt := new(big.Int).Quo(new(big.Int).Mul(rev, big.NewInt(int64(share))), bps).Int64()
		s.PartnerShares = append(s.PartnerShares, Line{Account: accountName(string(partners[id].Payout)), Amount: Amount(amt), Partner: id, Revenue: Amount(rev.Int64()), ShareBPS: share})
		left -= amt
	}
	s.Remainder = Amount(left)
	sortLines(s.Charges)
	sortLines(s.Payouts)
	sortLines(s.PartnerShares)
	return s, nil
}
