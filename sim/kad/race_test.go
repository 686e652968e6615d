//go:build race

package kad

// raceBuild makes the 100,000-node tests take their -short sizes under the
// race detector, which slows lookups about tenfold and finds nothing more at
// full size (the lookup code runs on one goroutine).
const raceBuild = true
