// Package sim will hold a discrete-event simulator that drives the same pure decision
// cores as the libp2p node (placement, reputation, payments) over virtual time, with
// synthetic node IDs, a seeded rng and scripted churn and failures, so network-scale
// behaviour can be replayed exactly. It arrives with its own issue; nothing is
// implemented yet.
package sim
