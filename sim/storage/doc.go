// Package storage is the simulator's file and durability model (issue 12): F
// files of S segments, each segment k-of-n erasure-coded into shards placed on
// simulated nodes by the node's own placement core (reputation.Place), and a
// loss process — independent permanent node loss at once, or departures over
// virtual time from sim/churn — that counts segments (fewer than k live shards)
// and files (any segment lost) lost.
//
// State is struct-of-arrays over int32 node indices: a placed shard costs 4
// bytes (its holder), and a Tracker adds 4 bytes a shard (the reverse index),
// 1 byte a segment and 5 bytes a node. See Store and Tracker.
//
// Validation against theory: with shards of a segment on distinct nodes and
// nodes lost independently with probability p, P(segment lost) is the binomial
// tail SegmentLossProb(k, n, p). Validate measures it (validate.go).
//
// Repair (not built yet). The hook is Tracker.Kill: when a kill drops a
// segment's live shards below reputation.DefaultThreshold(k, n), the segment
// is queued (a bitset over segments, so each is queued once). A periodic
// repair event on the engine — one per steward chore interval, as the node's
// [intervals] repair — turns the queue into []reputation.SegmentHealth (Healthy
// = holder not gone, Holder = the node's ID), builds candidates exactly as
// Place does here (a fresh discovery sample) and calls reputation.PlanRepair
// with RepairRules{K, N, ShardSize}; each plan's Targets become the new holders
// of its Rebuild shards (Store.Holder and the reverse index updated, live
// count raised), and the bytes read (K shards) and written feed the repair
// bandwidth series. Segments already below k are what PlanRepair reports
// Unrecoverable: lost, as counted here.
package storage
