package reputation

import (
	"testing"

	"pgregory.net/rapid"
)

const t0 = 1_700_000_000

// run applies outs to a fresh record, one second apart from start.
func run(p Params, r Record, start int64, outs ...Outcome) Record {
	for i, o := range outs {
		r = p.Apply(r, Observation{Peer: "x", Outcome: o, Time: start + int64(i)})
	}
	return r
}

func repeat(o Outcome, n int) []Outcome {
	out := make([]Outcome, n)
	for i := range out {
		out[i] = o
	}
	return out
}

func TestDefaultParamsValid(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := DefaultParams()
	bad.HearsayCap = One
	if bad.Validate() == nil {
		t.Fatal("HearsayCap = 1 accepted")
	}
	bad = DefaultParams()
	bad.WarnThreshold = bad.DQThreshold - 1
	if bad.Validate() == nil {
		t.Fatal("warning below DQ line accepted")
	}
}

// Storj's figure: from α=1000, β=0 with λ=0.999, R after n failures is 0.999^n,
// which first reaches <= 0.96 at n = 41; the warning (0.98) comes at n = 21.
func TestFailuresUntilWarnAndDQ(t *testing.T) {
	p := DefaultParams()
	r := p.NewRecord()
	warnAt, dqAt := 0, 0
	for n := 1; n <= 100 && dqAt == 0; n++ {
		r = p.Apply(r, Observation{Outcome: AuditFail, Time: t0 + int64(n)})
		switch st := p.Status(r, t0+int64(n)); {
		case st == Warned && warnAt == 0:
			warnAt = n
		case st == Disqualified:
			dqAt = n
		}
	}
	if warnAt != 21 || dqAt != 41 {
		t.Fatalf("warned after %d, disqualified after %d failures; want 21 and 41", warnAt, dqAt)
	}
	if got := p.PlacementScore(r, t0+100); got != 0 {
		t.Fatalf("disqualified node has placement score %v", got)
	}
}

// Exact fixed-point values, so a change in rounding shows up on every machine.
func TestExactArithmetic(t *testing.T) {
	p := DefaultParams()
	tests := []struct {
		outs        []Outcome
		score, susp Fixed
	}{
		{nil, One, One},
		{[]Outcome{AuditFail}, 999_000_000, One},            // α 999, β 1
		{[]Outcome{AuditFail, AuditFail}, 998_001_000, One}, // 0.999²
		{[]Outcome{AuditTimeout}, One, 950_000_000},         // 19/(19+1)
		{[]Outcome{AuditFail, AuditPass}, 999_001_000, One}, // α 999·0.999+1, β 0.999
		{[]Outcome{ProbeDown, TransferFail}, One, 902_500_000},
	}
	for _, tc := range tests {
		r := run(p, Record{}, t0, tc.outs...)
		if r.Score() != tc.score || r.Suspension() != tc.susp {
			t.Errorf("%v: score %v suspension %v, want %v %v", tc.outs, r.Score(), r.Suspension(), tc.score, tc.susp)
		}
	}
}

func TestOutcomeDirections(t *testing.T) {
	p := DefaultParams()
	// A record with some of both kinds of evidence, so every move is visible.
	base := run(p, Record{}, t0, AuditFail, AuditFail, AuditTimeout, AuditTimeout, AuditPass)
	tests := []struct {
		o           Outcome
		score, susp int // -1 down, 0 same, +1 up
	}{
		{AuditPass, +1, +1},
		{AuditFail, -1, +1},
		{AuditTimeout, 0, -1},
		{TransferOK, 0, +1},
		{TransferFail, 0, -1},
		{ProbeUp, 0, +1},
		{ProbeDown, 0, -1},
		{Outcome(99), 0, 0},
	}
	for _, tc := range tests {
		r := p.Apply(base, Observation{Outcome: tc.o, Time: t0 + 10})
		if got := sign(r.Score() - base.Score()); got != tc.score {
			t.Errorf("%v moved score %v -> %v", tc.o, base.Score(), r.Score())
		}
		if got := sign(r.Suspension() - base.Suspension()); got != tc.susp {
			t.Errorf("%v moved suspension %v -> %v", tc.o, base.Suspension(), r.Suspension())
		}
	}
}

func sign(f Fixed) int {
	switch {
	case f > 0:
		return 1
	case f < 0:
		return -1
	}
	return 0
}

// A slow node is suspended, not called a liar, and recovers by answering.
func TestTimeoutsSuspendOnly(t *testing.T) {
	p := DefaultParams()
	r := run(p, Record{}, t0, repeat(AuditTimeout, 9)...)
	if st := p.Status(r, t0+9); st != Warned {
		t.Fatalf("after 9 timeouts status %v, want warned", st)
	}
	r = run(p, r, t0+9, AuditTimeout)
	if st := p.Status(r, t0+10); st != Suspended || r.Score() != One || r.Disqualified {
		t.Fatalf("after 10 timeouts status %v score %v, want suspended with full score", st, r.Score())
	}
	if p.Eligible(r, t0+10) {
		t.Fatal("suspended node eligible")
	}
	r = run(p, r, t0+10, repeat(ProbeUp, 20)...)
	if !p.Eligible(r, t0+30) {
		t.Fatalf("node answering again still not eligible: suspension %v", r.Suspension())
	}
}

func TestVetting(t *testing.T) {
	p := DefaultParams()
	p.VetAudits = 5
	r := run(p, Record{}, t0, AuditPass, AuditPass, TransferOK, AuditPass, AuditFail, AuditPass)
	if r.Vetted || p.Status(r, t0+6) != Unvetted {
		t.Fatalf("vetted after 4 passes: %+v", r)
	}
	r = run(p, r, t0+6, AuditPass)
	if !r.Vetted || p.Status(r, t0+7) != Healthy {
		t.Fatalf("not healthy after 5 passes: %+v status %v", r, p.Status(r, t0+7))
	}
}

// Disqualification ends after probation, doubling per repeat; the node restarts unvetted.
func TestProbation(t *testing.T) {
	p := DefaultParams()
	p.VetAudits = 1
	r := run(p, Record{}, t0, AuditPass)
	r = run(p, r, t0+1, repeat(AuditFail, 41)...)
	dq := r.DisqualifiedAt
	if !r.Disqualified || dq != t0+41 {
		t.Fatalf("not disqualified at %d: %+v", t0+41, r)
	}
	// Observations during probation change nothing but LastSeen.
	r2 := run(p, r, dq+1, repeat(AuditPass, 10)...)
	if r2.Alpha != r.Alpha || r2.AuditsPassed != r.AuditsPassed || !r2.Disqualified {
		t.Fatalf("observation during probation counted: %+v", r2)
	}
	if st := p.Status(r, dq+p.Probation-1); st != Disqualified {
		t.Fatalf("status just before probation end %v", st)
	}
	if st := p.Status(r, dq+p.Probation); st != Unvetted {
		t.Fatalf("status at probation end %v, want unvetted", st)
	}
	r = p.Apply(r, Observation{Outcome: AuditPass, Time: dq + p.Probation})
	if r.Disqualified || r.Score() != One || r.AuditsPassed != 1 || r.Disqualifications != 1 {
		t.Fatalf("record after probation: %+v", r)
	}
	// A second disqualification lasts twice as long.
	r = run(p, r, dq+p.Probation+1, repeat(AuditFail, 41)...)
	end, ok := p.ProbationEnd(r)
	if !ok || end != r.DisqualifiedAt+2*p.Probation {
		t.Fatalf("second probation ends %d (ok %v), want %d", end, ok, r.DisqualifiedAt+2*p.Probation)
	}
	p.Probation = 0
	if st := p.Status(r, r.DisqualifiedAt+1<<40); st != Disqualified {
		t.Fatalf("Probation 0 should be permanent, got %v", st)
	}
}

// Old failures matter less after many passes, and recent ones more than old ones.
func TestForgetting(t *testing.T) {
	p := DefaultParams()
	failed := run(p, Record{}, t0, repeat(AuditFail, 30)...)
	healed := run(p, failed, t0+30, repeat(AuditPass, 3000)...)
	recent := run(p, run(p, Record{}, t0, repeat(AuditPass, 3000)...), t0+3000, repeat(AuditFail, 30)...)
	if !(healed.Score() > recent.Score() && healed.Score() > 998_000_000 && recent.Score() < failed.Score()+10_000_000) {
		t.Fatalf("failed %v healed %v recent %v", failed.Score(), healed.Score(), recent.Score())
	}
}

func genOutcome() *rapid.Generator[Outcome] {
	return rapid.Custom(func(t *rapid.T) Outcome {
		return Outcome(rapid.IntRange(int(AuditPass), int(ProbeDown)).Draw(t, "o"))
	})
}

func TestPropScoreMoves(t *testing.T) {
	p := DefaultParams()
	p.VetAudits = 3
	rapid.Check(t, func(t *rapid.T) {
		hist := rapid.SliceOfN(genOutcome(), 0, 80).Draw(t, "hist")
		r := run(p, Record{}, t0, hist...)
		o := genOutcome().Draw(t, "next")
		n := p.Apply(r, Observation{Outcome: o, Time: t0 + 1000})
		for _, s := range []Fixed{n.Score(), n.Suspension(), p.Rank(n, t0+1000)} {
			if s < 0 || s > One {
				t.Fatalf("value %v out of [0,1]", s)
			}
		}
		if r.Disqualified {
			if n.Score() != r.Score() {
				t.Fatalf("disqualified record's score moved")
			}
			return
		}
		switch d := sign(n.Score() - r.Score()); {
		case o == AuditPass && d < 0, o == AuditFail && d > 0, o != AuditPass && o != AuditFail && d != 0:
			t.Fatalf("%v moved score %v -> %v", o, r.Score(), n.Score())
		}
		up := o == AuditPass || o == AuditFail || o == TransferOK || o == ProbeUp
		if d := sign(n.Suspension() - r.Suspension()); up && d < 0 || !up && d > 0 {
			t.Fatalf("%v moved suspension %v -> %v", o, r.Suspension(), n.Suspension())
		}
		if r.Vetted && !n.Vetted {
			t.Fatal("vetting lost without disqualification")
		}
	})
}

// Same inputs, same bits: two independent runs agree exactly (no floats in state).
func TestPropDeterministic(t *testing.T) {
	p := DefaultParams()
	rapid.Check(t, func(t *rapid.T) {
		hist := rapid.SliceOfN(genOutcome(), 0, 200).Draw(t, "hist")
		a, b := run(p, Record{}, t0, hist...), run(p, Record{}, t0, hist...)
		if a.Alpha != b.Alpha || a.Beta != b.Beta || a.SuspAlpha != b.SuspAlpha || a.SuspBeta != b.SuspBeta ||
			p.PlacementScore(a, t0+500) != p.PlacementScore(b, t0+500) {
			t.Fatalf("runs differ: %+v vs %+v", a, b)
		}
	})
}

func TestMulDivSaturates(t *testing.T) {
	if got := mulDiv(1<<62, 1<<62, 1); got != 1<<63-1 {
		t.Fatalf("mulDiv overflow gave %d", got)
	}
	if got := mulDiv(5, 1, 0); got != 0 {
		t.Fatalf("division by zero gave %d", got)
	}
	if got := mulDiv(3, 1, 2); got != 2 { // 1.5 rounds half up
		t.Fatalf("round half up gave %d", got)
	}
	if s := Fixed(960_000_000).String(); s != "0.960000000" {
		t.Fatalf("String %q", s)
	}
}
