package economy

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/mr-tron/base58"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/payments"
	"github.com/cairn-storage/cairn/sim"
)

// StewardEvidence is what one steward knows at an epoch's close of the files it attests: the
// simulator's form of the []payments.FileEvidence the node's attest chore builds
// (node/attest_plan.go attestEvidence), with node indices for peers and numbers for content.
type StewardEvidence struct {
	Steward int32
	Files   []FileEvidence
}

// FileEvidence is one file: its manifest's owner and partner tag, and its holders.
type FileEvidence struct {
	File    uint64
	Owner   int32
	Partner string
	Holders []HolderEvidence
}

// HolderEvidence is one holder of a file: when its storage receipt was written, the distinct
// shards the receipt lists, and the steward's audit tallies of those shards at that holder in
// the epoch, summed over the file.
type HolderEvidence struct {
	Node                  int32
	ReceiptTime           sim.Time
	Shards                []Shard
	Passes, Fails, Misses uint32
}

// Shard is one shard a holder keeps.
type Shard struct {
	ID    uint64
	Bytes int64
}

// EpochResult is one epoch's settlement, with accounts mapped back to node indices.
type EpochResult struct {
	Epoch uint64
	Root  payments.Root // the statement root every node of the network would compute
	// Entries is the number of usage bodies settled (payments.Settlement.Entries); Attestations,
	// Receipts and Registrations count the entries of each kind given to Settle.
	Entries                               uint64
	Attestations, Receipts, Registrations int
	// Section totals: Charges = Payouts + PartnerShares + Fee + Remainder, exactly;
	// Charges = StorageCharges + EgressCharges.
	Charges, StorageCharges, EgressCharges payments.Amount
	Payouts, PartnerShares, Fee, Remainder payments.Amount
	// ChargeByNode (owners) and PayoutByNode (operators), sorted by node; nodes with nothing
	// are left out.
	ChargeByNode, PayoutByNode []NodeAmount
	// PartnerByID lists the registered partners with tagged revenue, sorted by ID.
	PartnerByID []PartnerAmount
}

// NodeAmount is one node's charge or payout, by kind of usage.
type NodeAmount struct {
	Node            int32
	Storage, Egress payments.Amount
}

// Total is Storage + Egress.
func (a NodeAmount) Total() payments.Amount { return a.Storage + a.Egress }

// PartnerAmount is one partner's share: floor(ShareBPS × TaggedRevenue / 10000), ShareBPS
// being the effective share (at most 10000 - FeeBPS) and TaggedRevenue the charges of usage
// tagged with the partner.
type PartnerAmount struct {
	ID            string
	Amount        payments.Amount
	TaggedRevenue payments.Amount
	ShareBPS      uint32
}

// scratch is CloseEpoch's reusable evidence buffers.
type scratch struct {
	files   []payments.FileEvidence
	holders []payments.HolderEvidence
	shards  []payments.ShardRef
	cids    []byte
}

// CloseEpoch settles epoch: the receipts recorded in it; the storage attestations each
// steward's evidence yields through payments.PlanStorage, called as the node's attest chore
// calls it (the epoch grid of the settlement parameters, the steward's peer ID, its files'
// evidence) and wrapped as the chore wraps them (one entry per body, authored by the steward,
// chained, timed at the epoch's end or the steward's last entry if later); and the partner
// registrations. Which steward attests a file (the node's attestLeader) is the network
// model's choice: it hands over each steward's files. Every operator is at the default price. payments.Settle runs once over them;
// the result is checked for conservation and mapped to nodes. Epochs close in increasing order,
// each once; receipts of an earlier epoch not yet closed are an error, not dropped.
//
// Bad input (a node index out of range, a shard size outside 1..payments.MaxShardSize, a
// malformed partner tag) is an error before anything is written. What PlanStorage leaves out
// by its own rules (a holder that failed an audit of the file, or missed without passing, the
// steward's own shards, a receipt after the epoch) stays out: that is the node's decision. An
// error after that point (Settle refusing, money not adding up) leaves the ledger unusable.
func (l *Ledger) CloseEpoch(epoch uint64, ev []StewardEvidence) (*EpochResult, error) {
	if l.failed != nil {
		return nil, l.failed
	}
	if l.closed && epoch <= l.lastClosed {
		return nil, fmt.Errorf("economy: close epoch %d: epoch %d is already closed", epoch, l.lastClosed)
	}
	grid := l.params.Epoch
	_, end, err := grid.Bounds(epoch)
	if err != nil {
		return nil, fmt.Errorf("economy: close epoch %d: %w", epoch, err)
	}
	maxShards := 0
	for i := range ev {
		n, err := l.checkEvidence(&ev[i])
		if err != nil {
			return nil, fmt.Errorf("economy: close epoch %d: steward %d (evidence %d): %w", epoch, ev[i].Steward, i, err)
		}
		maxShards += n
	}
	due := 0
	for i := range l.pending {
		switch e, _ := grid.Of(l.pending[i].at); {
		case e < epoch:
			return nil, fmt.Errorf("economy: close epoch %d: epoch %d has receipts and was never closed", epoch, e)
		case e == epoch:
			due++
		}
	}
	res, err := l.settle(epoch, end, ev, due, maxShards)
	if err != nil {
		l.failed = fmt.Errorf("economy: close epoch %d: %w (the ledger cannot go on)", epoch, err)
		return nil, l.failed
	}
	// Drop what is settled: nothing of this epoch counts in another.
	kept := l.pending[:0]
	for _, r := range l.pending {
		if e, _ := grid.Of(r.at); e != epoch {
			kept = append(kept, r)
		}
	}
	clear(l.pending[len(kept):])
	l.pending = kept
	if cap(kept) > 4*len(kept)+1024 {
		l.pending = slices.Clone(kept) // a busy epoch's buffer is not kept for a quiet one
	}
	l.closed, l.lastClosed = true, epoch
	return res, nil
}

// checkEvidence checks one steward's evidence (deriving the keys it names) and returns its
// number of shards.
func (l *Ledger) checkEvidence(s *StewardEvidence) (int, error) {
	if _, err := l.ids.Peer(s.Steward); err != nil {
		return 0, err
	}
	n := 0
	for i := range s.Files {
		f := &s.Files[i]
		if _, err := l.ids.Peer(f.Owner); err != nil {
			return 0, fmt.Errorf("file %d owner: %w", f.File, err)
		}
		if _, err := l.tag(f.Partner); err != nil {
			return 0, fmt.Errorf("file %d: %w", f.File, err)
		}
		for j := range f.Holders {
			h := &f.Holders[j]
			if _, err := l.ids.Peer(h.Node); err != nil {
				return 0, fmt.Errorf("file %d holder: %w", f.File, err)
			}
			if h.ReceiptTime < 0 {
				return 0, fmt.Errorf("file %d holder %d: receipt at %v, before the run", f.File, h.Node, h.ReceiptTime)
			}
			for _, sh := range h.Shards {
				if sh.Bytes < 1 || sh.Bytes > payments.MaxShardSize {
					return 0, fmt.Errorf("file %d holder %d shard %d: %d bytes, want 1..%d", f.File, h.Node, sh.ID, sh.Bytes, payments.MaxShardSize)
				}
			}
			n += len(h.Shards)
		}
	}
	return n, nil
}

// settle writes the epoch's entries, settles them and maps the statement.
func (l *Ledger) settle(epoch uint64, end int64, ev []StewardEvidence, due, maxShards int) (*EpochResult, error) {
	entries := make([]payments.Entry, 0, len(l.registrations)+due+maxShards)
	entries = append(entries, l.registrations...)
	// Receipts first, in time order: an author's receipts of the epoch precede its
	// attestations, which it writes after the epoch ends.
	grid := l.params.Epoch
	idx := make([]int32, 0, due)
	for i := range l.pending {
		if e, _ := grid.Of(l.pending[i].at); e == epoch {
			idx = append(idx, int32(i))
		}
	}
	slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(l.pending[a].at, l.pending[b].at) })
	var err error
	for _, i := range idx {
		r := &l.pending[i]
		d, err := l.downloadBody(r)
		if err != nil {
			return nil, err
		}
		body, err := payments.EncodeBody(d)
		if err != nil {
			return nil, err
		}
		if entries, err = l.appendEntry(entries, r.downloader, payments.KindDownload, r.at, body); err != nil {
			return nil, err
		}
	}
	attested := 0
	for i := range ev {
		n := len(entries)
		if entries, err = l.attest(entries, epoch, end, &ev[i]); err != nil {
			return nil, fmt.Errorf("steward %d: %w", ev[i].Steward, err)
		}
		attested += len(entries) - n
	}
	if l.onEntries != nil {
		l.onEntries(epoch, entries)
	}
	st, err := payments.Settle(epoch, entries, l.params)
	if err != nil {
		return nil, err
	}
	res, err := l.result(st)
	if err != nil {
		return nil, err
	}
	res.Attestations, res.Receipts, res.Registrations = attested, len(idx), len(l.registrations)
	return res, nil
}

// attest appends the attestations PlanStorage yields from one steward's evidence, as the
// node's attestPass signs them.
func (l *Ledger) attest(entries []payments.Entry, epoch uint64, end int64, s *StewardEvidence) ([]payments.Entry, error) {
	steward, err := l.ids.Peer(s.Steward)
	if err != nil {
		return entries, err
	}
	files, err := l.evidence(s)
	if err != nil {
		return entries, err
	}
	// The node calls PlanStorage file by file; it treats files independently and keeps their
	// order, so one call over the steward's files gives the same bodies in the same order.
	bodies, err := payments.PlanStorage(epoch, l.params.Epoch, steward, files)
	if err != nil {
		return entries, err
	}
	for i := range bodies {
		body, err := payments.EncodeBody(&bodies[i])
		if err != nil {
			return entries, err
		}
		if entries, err = l.appendEntry(entries, s.Steward, payments.KindStorage, end, body); err != nil {
			return entries, err
		}
	}
	return entries, nil
}

// evidence builds s's files as payments reads them, in buffers reused from steward to steward
// (the bodies PlanStorage returns alias them, so each steward's are encoded before the next).
func (l *Ledger) evidence(s *StewardEvidence) ([]payments.FileEvidence, error) {
	sc := &l.scratch
	nh, ns := 0, 0
	for i := range s.Files {
		nh += len(s.Files[i].Holders)
		for j := range s.Files[i].Holders {
			ns += len(s.Files[i].Holders[j].Shards)
		}
	}
	sc.files = grow(sc.files[:0], len(s.Files))
	sc.holders = grow(sc.holders[:0], nh)
	sc.shards = grow(sc.shards[:0], ns)
	sc.cids = grow(sc.cids[:0], cidSize*(len(s.Files)+ns))
	for i := range s.Files {
		f := &s.Files[i]
		owner, err := l.ids.Peer(f.Owner)
		if err != nil {
			return nil, err
		}
		at := len(sc.cids)
		sc.cids = appendCID(sc.cids, codec.CodecCBOR, manifestDomain, f.File, 0)
		h0 := len(sc.holders)
		for j := range f.Holders {
			h := &f.Holders[j]
			holder, err := l.ids.Peer(h.Node)
			if err != nil {
				return nil, err
			}
			s0 := len(sc.shards)
			for _, sh := range h.Shards {
				c := len(sc.cids)
				sc.cids = appendCID(sc.cids, codec.CodecRaw, shardDomain, sh.ID, 0)
				sc.shards = append(sc.shards, payments.ShardRef{CID: sc.cids[c:len(sc.cids):len(sc.cids)], Bytes: sh.Bytes})
			}
			sc.holders = append(sc.holders, payments.HolderEvidence{Holder: holder, ReceiptTime: l.unix(h.ReceiptTime),
				Shards: sc.shards[s0:len(sc.shards):len(sc.shards)], Passes: h.Passes, Fails: h.Fails, Misses: h.Misses})
		}
		sc.files = append(sc.files, payments.FileEvidence{Manifest: sc.cids[at : at+cidSize : at+cidSize], Owner: owner,
			Partner: f.Partner, Holders: sc.holders[h0:len(sc.holders):len(sc.holders)]})
	}
	return sc.files, nil
}

// grow returns s (empty) with room for n elements, so that appends never move what earlier
// slices of it point into.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n)
	}
	return s
}

// result maps a statement's accounts back to nodes and checks that its money adds up.
func (l *Ledger) result(st *payments.Settlement) (*EpochResult, error) {
	res := &EpochResult{Epoch: st.Epoch, Root: st.Root, Entries: st.Entries, Fee: st.Fee, Remainder: st.Remainder}
	var err error
	if res.ChargeByNode, err = l.byNode(st.Charges); err != nil {
		return nil, fmt.Errorf("charges: %w", err)
	}
	if res.PayoutByNode, err = l.byNode(st.Payouts); err != nil {
		return nil, fmt.Errorf("payouts: %w", err)
	}
	for _, a := range res.ChargeByNode {
		res.StorageCharges += a.Storage
		res.EgressCharges += a.Egress
	}
	res.Charges = payments.Total(st.Charges)
	res.Payouts = payments.Total(st.Payouts)
	res.PartnerShares = payments.Total(st.PartnerShares)
	for _, p := range st.PartnerShares {
		res.PartnerByID = append(res.PartnerByID, PartnerAmount{ID: p.Partner, Amount: p.Amount, TaggedRevenue: p.Revenue, ShareBPS: p.ShareBPS})
	}
	slices.SortFunc(res.PartnerByID, func(a, b PartnerAmount) int { return cmp.Compare(a.ID, b.ID) })
	var paid payments.Amount
	for _, a := range res.PayoutByNode {
		paid += a.Total()
	}
	switch {
	case res.StorageCharges+res.EgressCharges != res.Charges || paid != res.Payouts:
		return nil, fmt.Errorf("money does not add up: charges %d = storage %d + egress %d, payouts %d by node %d",
			res.Charges, res.StorageCharges, res.EgressCharges, res.Payouts, paid)
	case res.Charges != res.Payouts+res.PartnerShares+res.Fee+res.Remainder || res.Remainder < 0 || res.Fee < 0:
		return nil, fmt.Errorf("money is not conserved: charges %d, payouts %d + partner shares %d + fee %d + remainder %d",
			res.Charges, res.Payouts, res.PartnerShares, res.Fee, res.Remainder)
	}
	return res, nil
}

// byNode maps lines (one per account) to nodes, sorted by node.
func (l *Ledger) byNode(lines []payments.Line) ([]NodeAmount, error) {
	out := make([]NodeAmount, 0, len(lines))
	for _, ln := range lines {
		raw, err := base58.Decode(ln.Account)
		if err != nil {
			return nil, fmt.Errorf("account %q: %w", ln.Account, err)
		}
		n, ok := l.ids.Node(raw)
		if !ok {
			return nil, fmt.Errorf("account %s is no node of this run", ln.Account)
		}
		if ln.Storage < 0 || ln.Egress < 0 || ln.Storage+ln.Egress != ln.Amount {
			return nil, fmt.Errorf("account %s: storage %d + egress %d != %d", ln.Account, ln.Storage, ln.Egress, ln.Amount)
		}
		out = append(out, NodeAmount{Node: n, Storage: ln.Storage, Egress: ln.Egress})
	}
	slices.SortFunc(out, func(a, b NodeAmount) int { return cmp.Compare(a.Node, b.Node) })
	return out, nil
}
