//go:build !race

package node

const ledgerRace = false
