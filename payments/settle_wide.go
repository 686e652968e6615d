package payments

import (
	"math"
	"math/bits"
)

// wide is an unsigned 192-bit integer. Settlement accumulates exact numerators in it (byte·seconds
// or bytes, later charge·basis points) and divides once per line, so no intermediate rounds and no
// intermediate overflows: a sum of fewer than 2^64 products of two 64-bit values always fits.
type wide struct{ hi, mid, lo uint64 }

// addProduct adds a·b. It reports false if the sum no longer fits 192 bits (it cannot with fewer
// than 2^64 additions; the check keeps the claim honest).
func (w *wide) addProduct(a, b uint64) bool {
	h, l := bits.Mul64(a, b)
	var c uint64
	w.lo, c = bits.Add64(w.lo, l, 0)
	w.mid, c = bits.Add64(w.mid, h, c)
	w.hi, c = bits.Add64(w.hi, 0, c)
	return c == 0
}

// mulDiv returns floor(w·m / d) and whether it fits an Amount (0..MaxInt64). d must not be 0.
// The product has up to 256 bits; dividing word by word with bits.Div64 keeps it exact.
func (w wide) mulDiv(m, d uint64) (Amount, bool) {
	h0, p0 := bits.Mul64(w.lo, m)
	h1, l1 := bits.Mul64(w.mid, m)
	h2, l2 := bits.Mul64(w.hi, m)
	p1, c := bits.Add64(l1, h0, 0)
	p2, c := bits.Add64(l2, h1, c)
	p3 := h2 + c // cannot wrap: the product of a 192-bit and a 64-bit number fits 256 bits
	q3, r := bits.Div64(0, p3, d)
	q2, r := bits.Div64(r, p2, d)
	q1, r := bits.Div64(r, p1, d)
	q0, _ := bits.Div64(r, p0, d)
	if q3|q2|q1 != 0 || q0 > math.MaxInt64 {
		return 0, false
	}
	return Amount(q0), true
}

// addAmount returns a+b for non-negative amounts, and false if the sum overflows.
func addAmount(a, b Amount) (Amount, bool) {
	s := a + b
	return s, s >= a
}
