//go:build !race

package kadcheck

const raceEnabled = false
