package payments

import (
	"math"
	"math/big"
	"testing"

	"pgregory.net/rapid"
)

func (w wide) big() *big.Int {
	v := new(big.Int).SetUint64(w.hi)
	v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(w.mid))
	return v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(w.lo))
}

// TestWideMatchesBigInt checks the 192/256-bit arithmetic over the whole range, including the
// high words Settle only reaches with sums of many huge products.
func TestWideMatchesBigInt(t *testing.T) {
	// Products that reach the top word only through a carry, with small lower words: reading
	// them modulo 2^192 would wrongly say they fit.
	for _, c := range []struct {
		w    wide
		m, d uint64
	}{
		{wide{hi: 1 << 63}, 2, math.MaxUint64},                                        // 2^192
		{wide{hi: 1, mid: 1<<32 + 1, lo: 1<<32 + 2}, math.MaxUint64 - (1<<32 - 1), 2}, // 2^192 + 2^64 - 2^33
		{wide{hi: math.MaxUint64 / 3, mid: math.MaxUint64/3 + 1}, 3, 8},               // 2^192 + 2^65
	} {
		if got, ok := c.w.mulDiv(c.m, c.d); ok {
			t.Fatalf("%v·%d/%d = %d fits an Amount", c.w.big(), c.m, c.d, got)
		}
	}
	// Edge words make the carries and the top product word appear often.
	word := rapid.OneOf(rapid.Uint64(), rapid.SampledFrom([]uint64{0, 1, 2, 3, 1 << 32, 1 << 62, 3 << 62,
		math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64 - 1, math.MaxUint64}))
	rapid.Check(t, func(t *rapid.T) {
		w := wide{hi: word.Draw(t, "hi") >> rapid.UintRange(0, 64).Draw(t, "shift"), mid: word.Draw(t, "mid"), lo: word.Draw(t, "lo")}
		a, b := word.Draw(t, "a"), word.Draw(t, "b")
		want := new(big.Int).Mul(new(big.Int).SetUint64(a), new(big.Int).SetUint64(b))
		want.Add(want, w.big())
		sum := w
		ok := sum.addProduct(a, b)
		if fits := want.BitLen() <= 192; ok != fits || (ok && sum.big().Cmp(want) != 0) {
			t.Fatalf("%v + %d·%d = %v (ok %v), want %v", w.big(), a, b, sum.big(), ok, want)
		}
		m, d := word.Draw(t, "m"), max(word.Draw(t, "d"), 1)
		q := new(big.Int).Mul(w.big(), new(big.Int).SetUint64(m))
		q.Quo(q, new(big.Int).SetUint64(d))
		got, ok := w.mulDiv(m, d)
		if fits := q.IsInt64(); ok != fits || (ok && int64(got) != q.Int64()) {
			t.Fatalf("%v·%d/%d = %d (ok %v), want %v", w.big(), m, d, got, ok, q)
		}
	})
}
