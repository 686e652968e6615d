// Package ledgersync spreads the signed ledger (package payments) between nodes: gossip
// (go-libp2p-pubsub gossipsub, peer scoring on) pushes each new entry to every node within
// seconds, and anti-entropy (a Secure Scuttlebutt style exchange of per-author frontiers, then
// the missing entries in Seq order) repairs what gossip missed: partitions, restarts, entries that
// arrived before their predecessors.
//
// Every entry from the network goes through the node's Store, which validates it. The gossip
// validator maps the Store's verdict onto pubsub's: an entry invalid in itself is rejected, which
// lowers the sender's gossipsub score (P4) until it is graylisted; an entry that is merely old,
// early or the forker's fault is ignored without penalty. A sync server that answers with entries
// that do not chain or do not validate ends the round and is reported to the same score.
//
// Files: gossip.go (the service), params.go (gossipsub options and scores), verdict.go
// (reasons → pubsub verdicts), gap.go (entries that arrive before their predecessors),
// recent.go (forwarding what sync brought), protocol.go (sync messages), server.go and
// client.go (the two ends of a sync round), schedule.go (when and with whom to sync).
package ledgersync
