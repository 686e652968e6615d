//go:build race

package storage

// raceBuild shrinks the validation under the race detector, which slows
// reputation.Place about tenfold and finds nothing more at full size.
const raceBuild = true
