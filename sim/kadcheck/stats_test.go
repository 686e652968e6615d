package kadcheck

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func repeat(pairs ...int) []int { // value, count, value, count, ...
	var out []int
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, slices.Repeat([]int{pairs[i]}, pairs[i+1])...)
	}
	return out
}

// A 2×2 table worked by hand: χ² = 8.33, p = 0.0039 — the test rejects
// samples that differ.
func TestChiSquareKnownValue(t *testing.T) {
	chi2, df, p, cells, err := ChiSquare(repeat(1, 30, 2, 70), repeat(1, 50, 2, 50))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(chi2-25.0/3) > 1e-9 || df != 1 || math.Abs(p-0.003892) > 1e-5 || len(cells) != 2 {
		t.Fatalf("χ² = %v, df %d, p = %v, cells %+v", chi2, df, p, cells)
	}
	if cells[0].ExpA != 40 || cells[1].ExpB != 60 {
		t.Fatalf("expected counts %+v", cells)
	}
}

// Sparse hop counts are pooled with a neighbour until every expected count is
// at least MinExpected; identical samples give p = 1.
func TestChiSquarePools(t *testing.T) {
	a, b := repeat(1, 3, 2, 90, 3, 7), repeat(1, 2, 2, 95, 3, 3)
	_, df, _, cells, err := ChiSquare(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if df != 1 || cells[0].Lo != 1 || cells[0].Hi != 2 || cells[1].Lo != 3 || cells[1].Hi != 3 {
		t.Fatalf("df %d, cells %+v", df, cells)
	}
	for _, c := range cells {
		if min(c.ExpA, c.ExpB) < MinExpected {
			t.Fatalf("cell %+v below %d expected", c, MinExpected)
		}
	}
	// A gap (no 2s) is a cell of zero, pooled away.
	if _, df, _, cells, _ := ChiSquare(repeat(1, 50, 3, 50), repeat(1, 40, 3, 60)); df != 1 || len(cells) != 2 {
		t.Fatalf("with a gap: df %d, cells %+v", df, cells)
	}
	if chi2, df, p, _, _ := ChiSquare(a, a); chi2 != 0 || p != 1 || df != 1 {
		t.Fatalf("same sample: χ² %v, df %d, p %v", chi2, df, p)
	}
	if _, df, p, _, _ := ChiSquare(repeat(2, 10), repeat(2, 30)); df != 0 || p != 1 {
		t.Fatalf("one value: df %d, p %v", df, p)
	}
	if _, _, _, _, err := ChiSquare(nil, a); err == nil {
		t.Fatal("empty sample accepted")
	}
}

func TestKS(t *testing.T) {
	if d, p := KS(repeat(1, 2, 2, 2), repeat(2, 2, 3, 2)); d != 0.5 || p <= 0 || p >= 1 {
		t.Fatalf("D = %v, p = %v", d, p)
	}
	if d, p := KS(repeat(1, 40, 2, 60), repeat(1, 40, 2, 60)); d != 0 || p != 1 {
		t.Fatalf("same sample: D = %v, p = %v", d, p)
	}
	// The two series agree where they meet; λ = 1.358 is the 5 % point.
	if a, b := kolmogorovQ(1.18-1e-9), kolmogorovQ(1.18+1e-9); math.Abs(a-b) > 1e-6 {
		t.Fatalf("Q(1.18) = %v and %v", a, b)
	}
	if q := kolmogorovQ(1.358); math.Abs(q-0.05) > 5e-4 {
		t.Fatalf("Q(1.358) = %v", q)
	}
}

func TestMeanDiffCIAndAgreement(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := repeat(1, 30, 2, 60, 3, 10)
	b := make([]int, len(a))
	for i, x := range a {
		b[i] = x + 1
	}
	lo, hi := MeanDiffCI(a, b, 0.95, 1000, rng)
	if !(lo < 1 && 1 < hi && hi-lo < 0.4) {
		t.Fatalf("CI [%v, %v] for a shift of 1", lo, hi)
	}
	if g := Agreement(a, b); g != 0 {
		t.Fatalf("agreement %v", g)
	}
	if g := Agreement(a, a); g != 1 {
		t.Fatalf("agreement %v", g)
	}
	if h := Histogram([]int{2, 0, 2, 3}); !slices.Equal(h, []int{1, 0, 2, 1}) {
		t.Fatalf("histogram %v", h)
	}
}
