//go:build !race

package kad

const raceBuild = false
