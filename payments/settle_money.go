package payments

import (
	"errors"
	"fmt"
	"slices"
)

// Price denominators: StorageGiBMonth is per GiB kept 30 days, EgressGiB per GiB served.
const (
	gib                  = 1 << 30
	storageMonthSeconds  = 30 * 24 * 60 * 60
	storageDenominator   = gib * storageMonthSeconds // ≈ 2.8e15 byte·seconds per priced unit
	egressDenominator    = gib
	operatorShareNumBase = bpsDenominator
)

// priceOf returns operator's price for the epoch.
func (s *settler) priceOf(operator int32) Price {
	if c, ok := s.prices[s.raw[operator]]; ok {
		return c.price
	}
	return s.p.DefaultPrice
}

// statement divides every bucket's usage into a charge, splits the charges between partners, the
// network and operators, and builds the sorted lines and their Merkle root.
func (s *settler) statement() (*Settlement, error) {
	n := len(s.raw)
	chargeStorage := make([]Amount, n)
	chargeEgress := make([]Amount, n)
	payNum := make([][2]wide, n) // per operator, per kind: Σ charge·(10000-share-fee)
	revenue := make([]Amount, len(s.terms))
	priced := make([]bool, n)
	prices := make([]Price, n)
	var total Amount
	// One error whichever sum overflows first: buckets are visited in map order.
	overflow := fmt.Errorf("charges: %w", ErrOverflow)

	for k, i := range s.buckets {
		if !priced[k.operator] {
			prices[k.operator], priced[k.operator] = s.priceOf(k.operator), true
		}
		var charge Amount
		var ok bool
		per := &chargeStorage[k.owner]
		if k.kind == usageStorage {
			charge, ok = s.usage[i].mulDiv(uint64(prices[k.operator].StorageGiBMonth), storageDenominator)
		} else {
			charge, ok = s.usage[i].mulDiv(uint64(prices[k.operator].EgressGiB), egressDenominator)
			per = &chargeEgress[k.owner]
		}
		if !ok {
			return nil, overflow
		}
		if charge == 0 {
			continue
		}
		if *per, ok = addAmount(*per, charge); !ok {
			return nil, overflow
		}
		if total, ok = addAmount(total, charge); !ok {
			return nil, overflow
		}
		share := uint32(0)
		if k.partner != noPartner {
			share = s.terms[k.partner].bps
			if revenue[k.partner], ok = addAmount(revenue[k.partner], charge); !ok {
				return nil, overflow
			}
		}
		payNum[k.operator][k.kind].addProduct(uint64(charge), uint64(operatorShareNumBase-share-s.p.FeeBPS))
	}

	st := newSettlement(s.epoch, s.counted, s.p.FeeBPS)
	st.Fee, _ = wide{lo: uint64(total)}.mulDiv(uint64(s.p.FeeBPS), bpsDenominator)
	paid := st.Fee
	for a := range n {
		if c := chargeStorage[a] + chargeEgress[a]; c > 0 { // no overflow: both ≤ total
			st.Charges = append(st.Charges, Line{Account: accountName(s.raw[a]), Amount: c, Storage: chargeStorage[a], Egress: chargeEgress[a]})
		}
		ps, _ := payNum[a][usageStorage].mulDiv(1, bpsDenominator)
		pe, _ := payNum[a][usageEgress].mulDiv(1, bpsDenominator)
		if ps+pe > 0 {
			st.Payouts = append(st.Payouts, Line{Account: accountName(s.raw[a]), Amount: ps + pe, Storage: ps, Egress: pe})
			paid += ps + pe
		}
	}
	for p, t := range s.terms {
		if revenue[p] == 0 {
			continue
		}
		share, _ := wide{lo: uint64(revenue[p])}.mulDiv(uint64(t.bps), bpsDenominator)
		st.PartnerShares = append(st.PartnerShares, Line{Account: accountName(t.payout), Amount: share, Partner: t.id, Revenue: revenue[p], ShareBPS: t.bps})
		paid += share
	}
	// Every part is the floor of an exact part of total, so paid <= total and nothing overflowed.
	st.Remainder = total - paid
	if st.Remainder < 0 {
		return nil, errors.New("internal error: parts exceed the charges")
	}
	sortLines(st.Charges)
	sortLines(st.Payouts)
	sortLines(st.PartnerShares)
	st.Root = MerkleRoot(st.Leaves())
	return st, nil
}

// sortLines orders lines by account, then partner ID (the only lines that share an account are
// partner shares paid to one key).
func sortLines(ls []Line) { slices.SortFunc(ls, compareLines) }
