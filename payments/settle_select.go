package payments

import (
	"bytes"
	"cmp"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// priceChoice is the best Price entry seen so far for one operator.
type priceChoice struct {
	price Price
	seq   uint64
	body  []byte
}

// betterPrice orders an operator's applicable Price entries: the largest FromEpoch, then the
// largest Seq, then (a fork not yet excluded) the smallest body bytes.
func betterPrice(a, b priceChoice) bool {
	if a.price.FromEpoch != b.price.FromEpoch {
		return a.price.FromEpoch > b.price.FromEpoch
	}
	if a.seq != b.seq {
		return a.seq > b.seq
	}
	return bytes.Compare(a.body, b.body) < 0
}

// partnerClaim is one decoded Partner registration.
type partnerClaim struct {
	reg    Partner
	author []byte
	seq    uint64
	time   int64
	body   []byte
}

// earlierClaim orders claims on one ID: the smallest (Time, Author, Seq, body) owns it.
func earlierClaim(a, b *partnerClaim) int {
	if c := cmp.Compare(a.time, b.time); c != 0 {
		return c
	}
	if c := bytes.Compare(a.author, b.author); c != 0 {
		return c
	}
	if c := cmp.Compare(a.seq, b.seq); c != 0 {
		return c
	}
	return bytes.Compare(a.body, b.body)
}

// partnerTerms is what a registered partner earns and where it goes.
type partnerTerms struct {
	id     string
	payout string // raw peer ID bytes
	bps    uint32 // effective share: min(ShareBPS, 10000-FeeBPS)
}

const (
	bpsDenominator       = 10000
	noPartner      int32 = -1
)

// choosePricesAndPartners reads the Price and Partner entries written before the epoch's end.
func (s *settler) choosePricesAndPartners(entries []Entry) error {
	claims := make(map[string][]partnerClaim)
	for i := range entries {
		e := &entries[i]
		if (e.Kind != KindPrice && e.Kind != KindPartner) || e.Time >= s.end || s.excluded(e) {
			continue
		}
		if e.Kind == KindPrice {
			var pr Price
			if err := cbor.Unmarshal(e.Body, &pr); err != nil {
				return fmt.Errorf("price entry %x seq %d: %w", e.Author, e.Seq, err)
			}
			if pr.FromEpoch > s.epoch || pr.StorageGiBMonth < 0 || pr.EgressGiB < 0 {
				continue
			}
			c := priceChoice{price: pr, seq: e.Seq, body: e.Body}
			if old, ok := s.prices[string(e.Author)]; !ok || betterPrice(c, old) {
				s.prices[string(e.Author)] = c
			}
			continue
		}
		var reg Partner
		if err := cbor.Unmarshal(e.Body, &reg); err != nil {
			return fmt.Errorf("partner entry %x seq %d: %w", e.Author, e.Seq, err)
		}
		if reg.ID == "" {
			continue
		}
		claims[reg.ID] = append(claims[reg.ID], partnerClaim{reg: reg, author: e.Author, seq: e.Seq, time: e.Time, body: e.Body})
	}
	maxShare := uint32(bpsDenominator) - s.p.FeeBPS
	for id, cs := range claims {
		owner := &cs[0]
		for i := range cs {
			if earlierClaim(&cs[i], owner) < 0 {
				owner = &cs[i]
			}
		}
		// The owner's latest registration of the ID sets the terms.
		latest := owner
		for i := range cs {
			c := &cs[i]
			if !bytes.Equal(c.author, owner.author) {
				continue
			}
			if c.seq > latest.seq || (c.seq == latest.seq && bytes.Compare(c.body, latest.body) < 0) {
				latest = c
			}
		}
		s.partners[id] = int32(len(s.terms))
		s.terms = append(s.terms, partnerTerms{id: id, payout: string(latest.reg.Payout), bps: min(latest.reg.ShareBPS, maxShare)})
	}
	return nil
}
