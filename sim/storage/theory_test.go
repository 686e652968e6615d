package storage

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// TestSegmentLossProb checks the exact tail against gonum's binomial survival
// function, closed forms at the edges, and a log-space sum where the tail is
// far below float64's epsilon.
func TestSegmentLossProb(t *testing.T) {
	for _, c := range []Case{{4, 8, 0.1}, {4, 8, 0.3}, {2, 5, 0.2}, {29, 80, 0.5}, {10, 30, 0.25}} {
		got, err := SegmentLossProb(c.K, c.N, c.P)
		if err != nil {
			t.Fatal(err)
		}
		// P(X >= n-k+1) = Survival(n-k) for the integer-valued binomial.
		want := distuv.Binomial{N: float64(c.N), P: c.P}.Survival(float64(c.N - c.K))
		if math.Abs(got-want) > 1e-9*want {
			t.Errorf("%d-of-%d p=%g: %.15g, gonum says %.15g", c.K, c.N, c.P, got, want)
		}
	}
	for _, c := range []struct {
		k, n int
		p    float64
		want float64
	}{
		{4, 8, 0, 0}, {4, 8, 1, 1}, {1, 1, 0.3, 0.3}, {3, 3, 0.5, 1 - 0.125}, {1, 3, 0.5, 0.125},
	} {
		if got, _ := SegmentLossProb(c.k, c.n, c.p); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("%d-of-%d p=%g: %v, want %v", c.k, c.n, c.p, got, c.want)
		}
	}
	got, _ := SegmentLossProb(29, 80, 0.3)
	var want float64
	for i := 52; i <= 80; i++ {
		lc, _ := math.Lgamma(81)
		a, _ := math.Lgamma(float64(i + 1))
		b, _ := math.Lgamma(float64(80 - i + 1))
		want += math.Exp(lc - a - b + float64(i)*math.Log(0.3) + float64(80-i)*math.Log(0.7))
	}
	if math.Abs(got-want) > 1e-9*want || got == 0 {
		t.Errorf("29-of-80 p=0.3: %g, log-space sum %g", got, want)
	}
	for _, bad := range []Case{{0, 8, 0.1}, {9, 8, 0.1}, {4, 8, -0.1}, {4, 8, math.NaN()}, {4, 8, 1.5}} {
		if _, err := SegmentLossProb(bad.K, bad.N, bad.P); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestWilson(t *testing.T) {
	// 10 of 100 at z = 1.96: the textbook interval [0.0552, 0.1744].
	lo, hi := Wilson(0.1, 100, 1.96)
	if math.Abs(lo-0.0552) > 1e-4 || math.Abs(hi-0.1744) > 1e-4 {
		t.Errorf("Wilson(0.1, 100) = [%v, %v]", lo, hi)
	}
	if lo, hi := Wilson(0, 1000, 2.576); lo > 1e-15 || !(hi > 0 && hi < 0.01) {
		t.Errorf("Wilson(0, 1000) = [%v, %v]", lo, hi)
	}
}
