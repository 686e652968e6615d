package ledgersync

import (
	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/cairn-storage/cairn/payments"
)

// invalidInItself tells the reasons that make an entry bad whatever the receiver holds: an
// honest relayer validated the entry before forwarding it, so it never sends one of these, and
// whoever does is at fault. bad_chain and replay also depend on the author's earlier entries,
// but an author's chain is the same on every node unless the author forked (see Gossip's doc).
func invalidInItself(r payments.Reason) bool {
	switch r {
	case payments.ReasonTooLarge, payments.ReasonMalformed, payments.ReasonUnknownVersion,
		payments.ReasonUnknownKind, payments.ReasonNonCanonical, payments.ReasonBadSignature,
		payments.ReasonBadChain, payments.ReasonMissingCountersignature,
		payments.ReasonBadCountersignature, payments.ReasonUsageExceeds, payments.ReasonBadValue,
		payments.ReasonReplay, payments.ReasonBadForkProof:
		return true
	}
	// duplicate, out_of_order, future: fine but not new or not yet applicable. forked_author and
	// fork: the forker's fault, not the relayer's. "" (the store failed) and reasons this code
	// does not know: not provably the sender's fault.
	return false
}

// verdict is gossipsub's decision for an entry the store answered err for.
func verdict(err error) pubsub.ValidationResult {
	if err == nil {
		return pubsub.ValidationAccept
	}
	if invalidInItself(payments.ReasonOf(err)) {
		return pubsub.ValidationReject
	}
	return pubsub.ValidationIgnore
}
