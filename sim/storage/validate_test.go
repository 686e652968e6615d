package storage

import (
	"testing"
)

func validationConfig() ValidationConfig {
	cfg := DefaultValidationConfig()
	if testing.Short() || raceBuild {
		cfg.Nodes, cfg.Segments, cfg.Replicates = 3000, 3000, 100
	}
	return cfg
}

// TestValidateBinomial is validation (a) of issue 12: for each default case
// the binomial formula lies inside the 99% interval of the measured
// segment-loss fraction (fixed seed).
func TestValidateBinomial(t *testing.T) {
	cfg := validationConfig()
	rows, err := Validate(DefaultCases(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d nodes, %d segments, %d replicates, seed %d\n%s", cfg.Nodes, cfg.Segments, cfg.Replicates, cfg.Seed, Table(rows, cfg.Confidence))
	for _, r := range rows {
		if !r.Inside {
			t.Errorf("%d-of-%d p=%g: theory %.6g outside [%.6g, %.6g] (measured %.6g)", r.K, r.N, r.P, r.Theory, r.Low, r.High, r.Measured)
		}
	}
}
