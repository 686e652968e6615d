// Package payments will hold Cairn's accounting: signed usage entries and partner
// revenue-share entries exchanged on a gossip ledger, amounts in integer micro-units
// (never floats), and a deterministic settlement function that every peer can replay
// to the same balances. Like the other decision cores it will be pure (inputs, time
// and rng as arguments). It arrives with its own issue; nothing is implemented yet.
package payments
