package transfer

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// EndorseReply is one co-steward's answer to Endorse.
type EndorseReply struct {
	// Entries answers the entries asked, in the caller's order. Signatures are as received:
	// manifest.Merge (or GatherEndorsements) keeps only valid ones.
	Entries []EndorseResult
	// SetSig is the steward's signature of the proposed steward set; nil when none was proposed
	// or when it refused (SetErr, a *wire.RemoteError).
	SetSig *manifest.Signature
	SetErr error
}

// EndorseResult is a steward's endorsement of one entry, or its refusal.
type EndorseResult struct {
	Sig manifest.Signature // set when Err is nil; Signer is the steward asked
	Err error              // the steward's reason (*wire.RemoteError)
}

// Endorse asks co-steward p to endorse entries of manifest mc (receipts of new holders, each
// signed by its holder) and, if next is not nil, to sign next as the steward set that follows
// the latest one. The request carries the steward chain of this node's own record, so a steward
// that missed a handover catches up. Entries need distinct holders.
func (c *Client) Endorse(ctx context.Context, p peer.ID, mc cid.Cid, entries []manifest.Entry, next *manifest.StewardSet) (*EndorseReply, error) {
	var chain []manifest.StewardSet
	if c.sw != nil {
		if _, loc, err := c.sw.kept(mc); err == nil {
			chain = loc.Stewards
		}
	}
	return c.endorse(ctx, p, mc, chain, entries, next)
}

// endorse is Endorse carrying chain.
func (c *Client) endorse(ctx context.Context, p peer.ID, mc cid.Cid, chain []manifest.StewardSet, entries []manifest.Entry, next *manifest.StewardSet) (*EndorseReply, error) {
	if p == c.self {
		return nil, errors.New("endorse: a node does not ask itself; it endorses with its own key")
	}
	body, order, err := endorseBody(mc, chain, entries)
	if err != nil {
		return nil, err
	}
	hdr := endorseReq{Manifest: mc.String(), Entries: len(entries), Len: len(body)}
	if next != nil {
		hdr.Next = &proposedSet{Epoch: next.Epoch, Members: make([][]byte, len(next.Members))}
		for i, m := range next.Members {
			hdr.Next.Members[i] = []byte(m)
		}
	}
	if _, _, err := parseEndorseReq(&hdr); err != nil {
		return nil, fmt.Errorf("endorse: %w", err)
	}
	s, err := c.open(ctx, p, ProtoEndorse)
	if err != nil {
		return nil, err
	}
	var resp endorseResp
	if err := finish(s, offer(s, hdr, &resp, body)); err != nil {
		return nil, err
	}
	if len(resp.Entries) != len(entries) {
		return nil, fmt.Errorf("endorse: %s answered %d entries, asked %d", p.ShortString(), len(resp.Entries), len(entries))
	}
	out := &EndorseReply{Entries: make([]EndorseResult, len(entries))}
	for j, a := range resp.Entries {
		out.Entries[order[j]] = result(p, a.Sig, a.Code, a.Error)
	}
	if next != nil {
		r := result(p, resp.SetSig, resp.SetCode, resp.SetError)
		if r.Err != nil {
			out.SetErr = r.Err
		} else {
			out.SetSig = &r.Sig
		}
	}
	return out, nil
}

// result turns one answer into a signature by p or an error.
func result(p peer.ID, sig []byte, code, reason string) EndorseResult {
	switch {
	case code != "" || reason != "":
		return EndorseResult{Err: &wire.RemoteError{Code: code, Msg: reason}}
	case len(sig) == 0 || len(sig) > manifest.MaxSignatureSize:
		return EndorseResult{Err: fmt.Errorf("%s sent a %d-byte signature", p.ShortString(), len(sig))}
	}
	return EndorseResult{Sig: manifest.Signature{Signer: p, Sig: sig}}
}

// endorseBody encodes the request body: a locations record with chain and entries (sorted by
// holder, as records are). order[j] is the caller's index of the body's j-th entry.
func endorseBody(mc cid.Cid, chain []manifest.StewardSet, entries []manifest.Entry) ([]byte, []int, error) {
	if len(entries) > MaxEndorseEntries {
		return nil, nil, fmt.Errorf("endorse: %d entries, max %d per request", len(entries), MaxEndorseEntries)
	}
	rec := manifest.NewLocations(mc)
	rec.Stewards = chain
	index := make(map[peer.ID]int, len(entries))
	for i, e := range entries {
		if !e.Receipt.Manifest.Equals(mc) {
			return nil, nil, fmt.Errorf("endorse: entry %d is a receipt for %s, not %s", i, e.Receipt.Manifest, mc)
		}
		if _, dup := index[e.Receipt.Holder]; dup {
			return nil, nil, fmt.Errorf("endorse: holder %s has two entries", e.Receipt.Holder)
		}
		index[e.Receipt.Holder] = i
		rec.Add(e)
	}
	body, err := rec.Encode()
	if err != nil {
		return nil, nil, fmt.Errorf("endorse: %w", err)
	}
	if len(body) > MaxEndorseBody {
		return nil, nil, fmt.Errorf("endorse: request of %d bytes exceeds %d; send fewer entries", len(body), MaxEndorseBody)
	}
	order := make([]int, len(rec.Entries))
	for j, e := range rec.Entries {
		order[j] = index[e.Receipt.Holder]
	}
	return body, order, nil
}
