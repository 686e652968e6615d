package node

import (
	"encoding/hex"
	"fmt"
	"unicode"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/payments"
)

// appendOwn signs body as the next entry of this node's chain and queues it in batch. Its
// Time never goes back before the previous entry's, which the validator would refuse.
func (l *Ledger) appendOwn(kind payments.Kind, body any, batch *[]accepted) (*accepted, error) {
	raw, err := payments.EncodeBody(body)
	if err != nil {
		return nil, err
	}
	seq, prev := payments.Next(l.last)
	t := l.now().Unix()
	if l.last != nil && t < l.last.Time {
		t = l.last.Time
	}
	e := &payments.Entry{Kind: kind, Seq: seq, Prev: prev, Time: t, Body: raw}
	if err := payments.Sign(l.priv, e); err != nil {
		return nil, err
	}
	b, err := payments.Encode(e)
	if err != nil {
		return nil, err
	}
	if err := l.add(b, batch); err != nil {
		return nil, fmt.Errorf("ledger: own entry seq %d refused: %w", seq, err)
	}
	return &(*batch)[len(*batch)-1], nil
}

// RegisterPartner signs and stores a Partner registration with this node as author and
// payout. The ID must be a partner tag (manifest.CheckPartner), not empty.
func (l *Ledger) RegisterPartner(id, name string, shareBPS uint32) (*api.PartnerResult, error) {
	if err := checkPartnerRegistration(id, name, shareBPS); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errLedgerClosed
	}
	body := &payments.Partner{ID: id, Name: name, Payout: []byte(l.self), ShareBPS: shareBPS}
	var batch []accepted
	a, err := l.appendOwn(payments.KindPartner, body, &batch)
	if err == nil {
		err = l.store(batch)
	}
	if err != nil {
		return nil, err
	}
	res := &api.PartnerResult{ID: id, Name: name, Payout: l.self.String(), ShareBPS: shareBPS,
		Seq: a.e.Seq, EntryID: hex.EncodeToString(a.id[:])}
	parts, err := l.partnersLocked()
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		if p.ID == id {
			res.Owner, res.Mine = p.Owner, p.Mine
		}
	}
	return res, nil
}

// checkPartnerRegistration applies the validator's rules up front, so the user gets a
// bad-request error naming the field rather than an internal refusal.
func checkPartnerRegistration(id, name string, shareBPS uint32) error {
	if id == "" {
		return coded(api.CodeBadRequest, "partner id is empty")
	}
	if err := manifest.CheckPartner(id); err != nil {
		return coded(api.CodeBadRequest, "partner id %q: %v", id, err)
	}
	if len(name) > payments.MaxPartnerNameLen {
		return coded(api.CodeBadRequest, "partner name is %d bytes, max %d", len(name), payments.MaxPartnerNameLen)
	}
	for _, r := range name {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return coded(api.CodeBadRequest, "partner name has unprintable or invalid character %U", r)
		}
	}
	if shareBPS > 10000 {
		return coded(api.CodeBadRequest, "share %d basis points: max 10000 (100%%)", shareBPS)
	}
	return nil
}
