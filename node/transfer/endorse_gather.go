package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/store"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// maxReportedErrors bounds the reasons a failed gathering reports.
const maxReportedErrors = 8

// GatherEndorsements collects the endorsements that make new holders' entries count without the
// owner. chain is the file's valid steward chain (this node's record's); its latest set is asked.
// This node endorses first (if it is a member: it chose the holders), then every other member is
// asked in parallel with the entries carrying that endorsement, so in a set of three the first
// co-steward to answer already completes a majority and keeps the entry. It returns the entries
// now endorsed by a strict majority of the latest set, with only valid signatures, after merging
// them into this node's own record (if it keeps one); an error if none is.
//
// Co-stewards whose majority formed only here (sets of four or more) learn the entries when the
// caller publishes its record (Client.PutManifest).
func GatherEndorsements(ctx context.Context, c *Client, self peer.ID, priv crypto.PrivKey, m *manifest.Manifest, mc cid.Cid, chain []manifest.StewardSet, entries []manifest.Entry) ([]manifest.Entry, error) {
	if err := checkGather(m, mc, chain); err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, errors.New("endorse: no entries")
	}
	set := chain[len(chain)-1]
	work := make([]manifest.Entry, len(entries))
	for i, e := range entries {
		work[i] = manifest.Entry{Receipt: e.Receipt, Endorsements: slices.Clone(e.Endorsements)}
	}
	if isMember(set, self) {
		for i := range work {
			sig, err := manifest.Endorse(priv, &work[i].Receipt)
			if err != nil {
				return nil, fmt.Errorf("entry %d: %w", i, err)
			}
			work[i].Endorsements = append(work[i].Endorsements, sig)
		}
	}
	var errs []error
	for _, a := range askMembers(ctx, set, self, func(ctx context.Context, p peer.ID) (*EndorseReply, error) {
		return c.endorse(ctx, p, mc, chain, work, nil)
	}) {
		if a.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.p.ShortString(), a.err))
			continue
		}
		for i, r := range a.reply.Entries {
			if r.Err != nil {
				errs = append(errs, fmt.Errorf("%s refused holder %s: %w", a.p.ShortString(), work[i].Receipt.Holder.ShortString(), r.Err))
				continue
			}
			work[i].Endorsements = append(work[i].Endorsements, r.Sig)
		}
	}
	// Merge keeps each entry whose receipt is valid, with its valid endorsements only.
	rec := &manifest.Locations{Manifest: mc, Stewards: chain}
	for _, e := range work {
		rec.Add(e)
	}
	var out []manifest.Entry
	for _, e := range manifest.Merge(m, rec, nil).Entries {
		if endorsedByMajority(set, e) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, gatherFailed(fmt.Sprintf("no entry reached a majority of the %d stewards of epoch %d", len(set.Members), set.Epoch), errs)
	}
	if err := mergeOwn(c, mc, func(sw *Stewardship) error { _, err := sw.MergeEntries(mc, out); return err }); err != nil {
		return nil, err
	}
	return out, nil
}

// GatherSetSignatures hands stewardship of mc over to members: it proposes them as the set that
// follows chain's latest, signs (if this node is a member of the latest set) and asks the other
// members in parallel. It returns the new set once a strict majority signed it validly, after
// adopting it in this node's own record (if it keeps one); then chain plus the new set is valid.
func GatherSetSignatures(ctx context.Context, c *Client, self peer.ID, priv crypto.PrivKey, m *manifest.Manifest, mc cid.Cid, chain []manifest.StewardSet, members []peer.ID) (manifest.StewardSet, error) {
	if err := checkGather(m, mc, chain); err != nil {
		return manifest.StewardSet{}, err
	}
	cur := chain[len(chain)-1]
	next := manifest.StewardSet{Epoch: cur.Epoch + 1, Members: slices.Clone(members)}
	slices.Sort(next.Members)
	next.Members = slices.Compact(next.Members)
	if isMember(cur, self) {
		if err := next.SignBy(priv, mc); err != nil {
			return manifest.StewardSet{}, err
		}
	}
	var errs []error
	var got []manifest.Signature
	for _, a := range askMembers(ctx, cur, self, func(ctx context.Context, p peer.ID) (*EndorseReply, error) {
		return c.endorse(ctx, p, mc, chain, nil, &next)
	}) {
		switch {
		case a.err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", a.p.ShortString(), a.err))
		case a.reply.SetErr != nil:
			errs = append(errs, fmt.Errorf("%s: %w", a.p.ShortString(), a.reply.SetErr))
		default:
			got = append(got, *a.reply.SetSig)
		}
	}
	signed, ok := signedSet(m, mc, chain, next, got)
	if !ok {
		return manifest.StewardSet{}, gatherFailed(fmt.Sprintf("steward set %d: no valid majority of epoch %d's %d members signed", next.Epoch, cur.Epoch, len(cur.Members)), errs)
	}
	newChain := append(slices.Clone(chain), signed)
	if err := mergeOwn(c, mc, func(sw *Stewardship) error {
		_, err := sw.MergeRecord(mc, &manifest.Locations{Manifest: mc, Stewards: newChain})
		return err
	}); err != nil {
		return manifest.StewardSet{}, err
	}
	return signed, nil
}

// signedSet adds the members' signatures to next (which holds this node's own, if any) and
// returns it if chain plus it is valid. manifest checks a set's signatures only together, so one
// bad signature spoils them all: then each received one is left out in turn.
func signedSet(m *manifest.Manifest, mc cid.Cid, chain []manifest.StewardSet, next manifest.StewardSet, got []manifest.Signature) (manifest.StewardSet, bool) {
	try := func(skip int) (manifest.StewardSet, bool) {
		s := manifest.StewardSet{Epoch: next.Epoch, Members: next.Members, Sigs: slices.Clone(next.Sigs)}
		for i, sig := range got {
			if i != skip && !slices.ContainsFunc(s.Sigs, func(x manifest.Signature) bool { return x.Signer == sig.Signer }) {
				s.Sigs = append(s.Sigs, sig)
			}
		}
		slices.SortFunc(s.Sigs, func(a, b manifest.Signature) int { return bytes.Compare([]byte(a.Signer), []byte(b.Signer)) })
		rec := &manifest.Locations{Manifest: mc, Stewards: append(slices.Clone(chain), s)}
		return s, len(manifest.Merge(m, rec, nil).Stewards) == len(chain)+1
	}
	for skip := -1; skip < len(got); skip++ {
		if s, ok := try(skip); ok {
			return s, true
		}
	}
	return manifest.StewardSet{}, false
}

// checkGather checks what both gatherings need: m is mc's manifest and chain is not empty.
func checkGather(m *manifest.Manifest, mc cid.Cid, chain []manifest.StewardSet) error {
	enc, err := m.Encode()
	if err != nil {
		return err
	}
	if !manifest.CID(enc).Equals(mc) {
		return fmt.Errorf("endorse: manifest is %s, not %s", manifest.CID(enc), mc)
	}
	if len(chain) == 0 {
		return errors.New("endorse: no steward set to ask")
	}
	return nil
}

func isMember(s manifest.StewardSet, p peer.ID) bool {
	_, ok := slices.BinarySearch(s.Members, p)
	return ok
}

// endorsedByMajority tells whether more than half of set's members endorsed e.
func endorsedByMajority(set manifest.StewardSet, e manifest.Entry) bool {
	n := 0
	for _, s := range e.Endorsements {
		if isMember(set, s.Signer) {
			n++
		}
	}
	return 2*n > len(set.Members)
}

type memberAnswer struct {
	p     peer.ID
	reply *EndorseReply
	err   error
}

// askMembers calls ask for every member of set but self, all at once, and returns the answers in
// member order.
func askMembers(ctx context.Context, set manifest.StewardSet, self peer.ID, ask func(context.Context, peer.ID) (*EndorseReply, error)) []memberAnswer {
	var out []memberAnswer
	for _, p := range set.Members {
		if p != self {
			out = append(out, memberAnswer{p: p})
		}
	}
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].reply, out[i].err = ask(ctx, out[i].p)
		}()
	}
	wg.Wait()
	return out
}

// mergeOwn applies fn to this node's own record, if it keeps one.
func mergeOwn(c *Client, mc cid.Cid, fn func(*Stewardship) error) error {
	if c.sw == nil {
		return nil
	}
	if err := fn(c.sw); err != nil && (errors.Is(err, ErrRemoved) || !errors.Is(err, store.ErrNotFound)) {
		return fmt.Errorf("endorse: own record of %s: %w", mc, err)
	}
	return nil
}

// gatherFailed joins the first reasons the stewards gave.
func gatherFailed(what string, errs []error) error {
	if len(errs) == 0 {
		return fmt.Errorf("endorse: %s", what)
	}
	if len(errs) > maxReportedErrors {
		errs = append(errs[:maxReportedErrors], fmt.Errorf("and %d more", len(errs)-maxReportedErrors))
	}
	return fmt.Errorf("endorse: %s: %w", what, errors.Join(errs...))
}
