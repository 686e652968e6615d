// Package economy settles a simulated network's usage with the node's own ledger cores
// (issue 12): download receipts and storage attestations become payments.Entry values built
// as the node builds them, payments.PlanStorage decides from each steward's audit evidence
// which storage is attested, and payments.Settle turns an epoch's entries into charges to
// owners, payouts to operators, partner shares, the network fee and the rounding remainder.
// The simulator adds no rule of its own between evidence and money: same entries, same
// statement root as any node (TestSameDecisionAsTheNode).
//
// Simulated nodes are int32 indices; the ledger names peers by libp2p Ed25519 peer IDs, derived
// per node from the run's seed on first use (Identities), and content by synthetic Cairn CIDs
// of file and shard numbers (ManifestCID, ShardCID). Results come back by node index.
//
// The package does not depend on the network model: sim/network records downloads
// (Ledger.Download) as they happen and, at each epoch's end, hands over the stewards' evidence
// (CloseEpoch).
package economy
