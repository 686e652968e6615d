// Package reputation holds Cairn's pure decision cores about peers; no I/O, time and randomness
// come in as arguments, so the node and the simulator run the same code:
//
//   - Place chooses which nodes hold a segment's shards (subnet-diverse, power of two choices,
//     a configurable share of slots, 5% by default, for nodes not yet vetted).
//   - Book, Params.Apply and Record score peers from observations: a beta reputation with
//     forgetting as Storj's (α ← λα + w(1+v)/2, β ← λβ + w(1−v)/2, R = α/(α+β); λ = 0.999,
//     w = 1, α₀ = 1000, disqualified at R ≤ 0.96, warned at 0.98), a separate suspension score
//     for timeouts and failed transfers (a slow node is not called a liar), vetting, and a
//     disqualification that expires after a probation period. Fixed-point integers (Fixed,
//     1e9 = 1): identical results on every machine. Reports from other peers only add a bounded
//     penalty, weighted by this node's own view of the reporter, so a clique of Sybils cannot
//     lift itself (report.go).
//   - PlanRepair decides which segments to repair, which k shards to read and where the rebuilt
//     shards go.
//
// The node (node/scores.go, audit.go, repair.go) feeds the Book from its audits and transfers and
// calls Place and PlanRepair; the simulator will call the same functions.
package reputation
