package payments

import "fmt"

// FileEvidence is what one steward knows of one file's holders over one epoch: the manifest's
// parties and, per holder, its receipt and this steward's audits of it.
type FileEvidence struct {
	Manifest []byte // manifest CID bytes
	Owner    []byte // the manifest's owner, peer ID bytes
	Partner  string // the manifest's partner tag
	Holders  []HolderEvidence
}

// HolderEvidence is one holder of a file: the shards its storage receipt lists and the
// outcomes of the steward's audits of the file's shards at this holder during the epoch.
type HolderEvidence struct {
	Holder      []byte // peer ID bytes
	ReceiptTime int64  // unix seconds of the holder's storage receipt for the file
	Shards      []ShardRef
	Passes      uint32 // audits passed in the epoch
	Fails       uint32 // audits failed (wrong bytes, or the shard is missing)
	Misses      uint32 // audits left unanswered (the holder was unreachable or too slow)
}

// ShardRef names one shard and its size.
type ShardRef struct {
	CID   []byte // shard CID bytes
	Bytes int64
}

// PlanStorage returns the Storage attestations steward (peer ID bytes) should sign for epoch:
// one per shard of each holder that either passed at least one audit and failed none, or is
// new this epoch (receipt dated inside it) and neither failed nor missed an audit. Each spans
// from the later of the epoch start and the receipt time to the epoch end, with Audits = the
// passes. A failed audit anywhere in the file withholds all of the holder's shards of it for
// the epoch: the steward cannot tell which of them is kept. Bodies the validator would refuse
// (the steward's own shards, a non-Ed25519 holder, a receipt dated after the epoch, a shard
// size out of range) are left out, so one odd record cannot stop a batch; entries carrying
// the rest must be signed at or after the epoch end. Pure and deterministic: output follows
// the order of files, holders and shards.
func PlanStorage(epoch uint64, p EpochParams, steward []byte, files []FileEvidence) ([]Storage, error) {
	start, end, err := p.Bounds(epoch)
	if err != nil {
		return nil, err
	}
	if end-start > MaxStorageSpan {
		return nil, fmt.Errorf("payments: epoch length %d s exceeds the longest attestation span %d s", p.Length, MaxStorageSpan)
	}
	// The validator's own checks, at the earliest time the entries may be signed.
	probe := &Entry{Author: steward, Time: end}
	var out []Storage
	for i := range files {
		f := &files[i]
		for j := range f.Holders {
			h := &f.Holders[j]
			if !attestable(h, start, end) {
				continue
			}
			for _, sh := range h.Shards {
				s := Storage{Holder: h.Holder, Manifest: f.Manifest, Shard: sh.CID, Owner: f.Owner,
					Partner: f.Partner, Bytes: sh.Bytes, From: max(start, h.ReceiptTime), To: end,
					Audits: h.Passes}
				if checkStorage(probe, &s) == nil {
					out = append(out, s)
				}
			}
		}
	}
	return out, nil
}

// attestable is the evidence rule: audited clean, or new this epoch and never caught out.
func attestable(h *HolderEvidence, start, end int64) bool {
	if h.Fails > 0 {
		return false
	}
	if h.Passes > 0 {
		return true
	}
	return h.Misses == 0 && h.ReceiptTime >= start && h.ReceiptTime < end
}
