//go:build race

package node

// ledgerRace: the race detector makes signatures ~10x slower; size tests shrink under it.
const ledgerRace = true
