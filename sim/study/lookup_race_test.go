//go:build race

package study

// raceBuild makes the lookup tests take their -short sizes under the race
// detector, which slows the single-goroutine event loop about fifteenfold and
// finds nothing more at full size.
const raceBuild = true
