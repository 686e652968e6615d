//go:build race

package kadcheck

// raceEnabled: the race detector slows every node several times, so the
// test runs its small network.
const raceEnabled = true
