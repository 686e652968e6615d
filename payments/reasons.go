package payments

import (
	"errors"
	"fmt"
)

// Reason says, machine-readably, why an entry was refused. Peers may send it back to the gossip
// sender and count it in metrics; the strings are part of the protocol and never change meaning.
type Reason string

// The reasons. Validator.Add checks, in this order, the encoding, the author's state, the
// signature, the chain and then the body's values (countersignature last); the first failing
// check wins.
const (
	// ReasonTooLarge: the encoding exceeds MaxEntrySize (MaxForkProofSize for fork proofs).
	ReasonTooLarge Reason = "too_large"
	// ReasonMalformed: not one well-formed CBOR entry of our schema (unknown or duplicate keys,
	// wrong types, tags, indefinite lengths, trailing bytes), or a field out of its shape
	// (Seq 0, Prev missing or present wrongly, negative Time, Author not an Ed25519 peer ID).
	ReasonMalformed Reason = "malformed"
	// ReasonUnknownVersion: Version is not one this code reads.
	ReasonUnknownVersion Reason = "unknown_version"
	// ReasonUnknownKind: Kind is not one of the defined kinds.
	ReasonUnknownKind Reason = "unknown_kind"
	// ReasonNonCanonical: decodes, but is not the bytes Encode produces (envelope or body).
	ReasonNonCanonical Reason = "non_canonical"
	// ReasonForkedAuthor: the author is proven to have forked its chain; all its entries are
	// excluded, including ones accepted before the proof.
	ReasonForkedAuthor Reason = "forked_author"
	// ReasonDuplicate: this exact entry (same ID) was already accepted.
	ReasonDuplicate Reason = "duplicate"
	// ReasonFuture: Time is after now + ValidatorParams.MaxSkew. Not final: retry later.
	ReasonFuture Reason = "future"
	// ReasonOutOfOrder: Seq is beyond the author's frontier + 1. Entries of one author are
	// accepted strictly in Seq order; the gossip layer fetches the missing ones first.
	ReasonOutOfOrder Reason = "out_of_order"
	// ReasonBadSignature: Sig is missing, has the wrong length, or does not verify under Author.
	ReasonBadSignature Reason = "bad_signature"
	// ReasonFork: a validly signed entry at a Seq the author already has a different accepted
	// entry for. The author is excluded from then on and the proof is in Validator.ForkProofs.
	ReasonFork Reason = "fork"
	// ReasonBadChain: Seq follows the frontier but Prev is not the ID of the author's accepted
	// entry Seq-1, or Time goes back before that entry's Time.
	ReasonBadChain Reason = "bad_chain"
	// ReasonMissingCountersignature: a Download without the server's ServerSig.
	ReasonMissingCountersignature Reason = "missing_countersignature"
	// ReasonBadCountersignature: ServerSig does not verify under Server.
	ReasonBadCountersignature Reason = "bad_countersignature"
	// ReasonUsageExceeds: claimed usage outside what is possible: Download Bytes outside
	// 1..ShardSize or ShardSize above MaxShardSize; Storage Bytes outside 1..MaxShardSize, a span
	// with To <= From, From <= 0, To after the entry's Time, or longer than MaxStorageSpan.
	ReasonUsageExceeds Reason = "usage_exceeds"
	// ReasonBadValue: a body field outside its domain: peer IDs that are not Ed25519 identity
	// IDs, CIDs of the wrong kind, bad partner tags, shares above 10000 bps, negative or huge
	// prices, a nonce that is not 16 bytes, a Statement root that is not 32 bytes, self-dealing
	// (a server receipting itself, a holder attesting itself), a Downloader that is not the author.
	ReasonBadValue Reason = "bad_value"
	// ReasonReplay: the author already used this content: a Download receipt (same Server and
	// Nonce) it posted before, or a Statement for an epoch at or before its last one.
	ReasonReplay Reason = "replay"
	// ReasonBadForkProof: a ForkProof body whose two entries are not validly signed by one
	// author at one Seq, are equal, are not in canonical (byte-sorted) order, or are too large.
	ReasonBadForkProof Reason = "bad_fork_proof"
)

// Rejection is the error every refusal carries: errors.As finds it through any wrapping.
type Rejection struct {
	Reason Reason
	Detail string // for people; may quote (clipped) input
}

func (r *Rejection) Error() string {
	if r.Detail == "" {
		return "payments: " + string(r.Reason)
	}
	return "payments: " + string(r.Reason) + ": " + r.Detail
}

// ReasonOf returns the Reason of the Rejection inside err, "" for nil or other errors.
func ReasonOf(err error) Reason {
	var r *Rejection
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}

// rejectf builds a Rejection with a formatted detail.
func rejectf(r Reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: r, Detail: fmt.Sprintf(format, args...)}
}
