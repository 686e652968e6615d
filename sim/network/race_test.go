//go:build race

package network

// raceBuild shrinks the heavier tests under the race detector, which slows the cores about
// tenfold and finds nothing more at full size.
const raceBuild = true
