// Package payments is the pure core of Cairn's signed gossip ledger: amounts in integer
// micro-units (Amount, never floats), typed and versioned entries in one canonical CBOR encoding,
// each signed by its author's libp2p Ed25519 key and chained per author (entry.go, types.go), a
// validator that rejects every bad entry with a machine-readable Reason and turns two entries at
// one sequence number into a fork proof (validate.go, reasons.go), and a deterministic settlement
// of an epoch's entries into charges, operator payouts, open source partner shares, a fee and a
// rounding remainder that add up exactly, with an RFC 6962 Merkle root (settle*.go, statement.go,
// merkle.go). Time comes in as arguments; nothing here does I/O, so the node and the simulator
// run the same code.
//
// The node (package node) persists entries, writes receipts, attestations and statements, and
// node/ledgersync carries entries between nodes.
package payments
