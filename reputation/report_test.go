package reputation

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// vettedBook returns a book in which peers h0..h(n-1) are vetted by direct audits.
func vettedBook(p Params, n int) *Book {
	b := NewBook(p)
	for i := range n {
		for k := range int(p.VetAudits) {
			b.Apply(Observation{Peer: NodeID(fmt.Sprintf("h%d", i)), Outcome: AuditPass, Time: t0 + int64(k)})
		}
	}
	return b
}

// A clique of 20 Sybils never audited by this node (or audited too little to be
// vetted) cannot raise each other or harm anyone: every report weighs zero.
func TestSybilCliqueCannotLiftItself(t *testing.T) {
	p := DefaultParams()
	p.VetAudits = 10
	b := vettedBook(p, 3)
	now := int64(t0 + 1000)
	// Half the clique is known to us but unvetted (a few direct passes).
	for i := range 10 {
		b.Apply(Observation{Peer: NodeID(fmt.Sprintf("s%d", i)), Outcome: AuditPass, Time: now - 1})
	}
	before, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		for j := range 20 {
			rep := Report{Reporter: NodeID(fmt.Sprintf("s%d", i)), Subject: NodeID(fmt.Sprintf("s%d", j)), Outcome: AuditPass, Time: now}
			if b.ApplyReport(rep, now) {
				t.Fatalf("Sybil report %+v counted", rep)
			}
		}
		rep := Report{Reporter: NodeID(fmt.Sprintf("s%d", i)), Subject: "h0", Outcome: AuditFail, Time: now}
		if b.ApplyReport(rep, now) {
			t.Fatalf("Sybil smear %+v counted", rep)
		}
	}
	after, _ := b.Encode()
	if string(before) != string(after) {
		t.Fatal("Sybil reports changed the book")
	}
	for i := range 20 {
		id := NodeID(fmt.Sprintf("s%d", i))
		if st := b.Status(id, now); st != Unvetted {
			t.Fatalf("Sybil %s status %v, want unvetted", id, st)
		}
	}
}

// Vetted honest reporters' failure reports lower a liar's placement score, by at most
// HearsayCap, and never disqualify or suspend it; its pass reports undo only its own.
func TestHonestReportsLowerLiar(t *testing.T) {
	p := DefaultParams()
	p.VetAudits = 5
	b := vettedBook(p, 12)
	b.Apply(Observation{Peer: "liar", Outcome: AuditPass, Time: t0})
	now := int64(t0 + 100)
	s0 := b.PlacementScore("liar", now)
	if !b.ApplyReport(Report{Reporter: "h0", Subject: "liar", Outcome: AuditFail, Time: now}, now) {
		t.Fatal("vetted reporter's report ignored")
	}
	s1 := b.PlacementScore("liar", now)
	if !(s1 < s0) {
		t.Fatalf("score %v -> %v after a failure report", s0, s1)
	}
	for k := range 50 {
		for i := range 12 {
			b.ApplyReport(Report{Reporter: NodeID(fmt.Sprintf("h%d", i)), Subject: "liar", Outcome: AuditFail, Time: now - int64(k%3)}, now)
		}
	}
	r, _ := b.Get("liar")
	if h := p.Hearsay(r, now); h != p.HearsayCap {
		t.Fatalf("hearsay %v, want capped at %v", h, p.HearsayCap)
	}
	if st := b.Status("liar", now); st != Warned {
		t.Fatalf("status %v, want warned (never DQ by reports)", st)
	}
	if r.Score() != One || r.Disqualified || r.AuditsFailed != 0 {
		t.Fatalf("reports touched direct evidence: %+v", r)
	}
	if got, floor := b.PlacementScore("liar", now), s0*(1-float64(p.HearsayCap)/float64(One)); got < floor-1e-9 {
		t.Fatalf("score %v below bound %v", got, floor)
	}
	// Reports expire.
	if st := b.Status("liar", now+p.ReportTTL+10); st != Unvetted {
		t.Fatalf("status after TTL %v", st)
	}
}

func TestReportsIgnored(t *testing.T) {
	p := DefaultParams()
	p.VetAudits = 2
	b := vettedBook(p, 2)
	now := int64(t0 + 50)
	for _, rep := range []Report{
		{Reporter: "h0", Subject: "h0", Outcome: AuditFail, Time: now},                   // self-report
		{Reporter: "h0", Subject: "ghost", Outcome: AuditFail, Time: now},                // never observed
		{Reporter: "h0", Subject: "h1", Outcome: AuditFail, Time: now + 1},               // future
		{Reporter: "h0", Subject: "h1", Outcome: AuditFail, Time: now - p.ReportTTL - 1}, // stale
		{Reporter: "h0", Subject: "h1", Outcome: Outcome(0), Time: now},                  // unknown outcome
	} {
		if b.ApplyReport(rep, now) {
			t.Errorf("report %+v counted", rep)
		}
	}
	if _, ok := b.Get("ghost"); ok {
		t.Fatal("report created a record")
	}
}

// Whatever reports arrive, direct evidence is untouched and the rank stays within
// (1-HearsayCap) of the direct one; the reporter list stays bounded.
func TestPropReportsBounded(t *testing.T) {
	p := DefaultParams()
	p.VetAudits = 2
	p.MaxReporters = 4
	rapid.Check(t, func(t *rapid.T) {
		b := vettedBook(p, 8)
		now := int64(t0 + 1000)
		hist := rapid.SliceOfN(genOutcome(), 0, 30).Draw(t, "hist")
		for i, o := range hist {
			b.Apply(Observation{Peer: "subj", Outcome: o, Time: t0 + 100 + int64(i)})
		}
		direct, _ := b.Get("subj")
		reps := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) Report {
			return Report{
				Reporter: NodeID(fmt.Sprintf("h%d", rapid.IntRange(0, 9).Draw(t, "who"))),
				Subject:  "subj",
				Outcome:  genOutcome().Draw(t, "o"),
				Time:     now - rapid.Int64Range(0, 10).Draw(t, "age"),
			}
		}), 0, 100).Draw(t, "reports")
		for _, rep := range reps {
			b.ApplyReport(rep, now)
		}
		r, _ := b.Get("subj")
		if r.Alpha != direct.Alpha || r.Beta != direct.Beta || r.SuspAlpha != direct.SuspAlpha ||
			r.SuspBeta != direct.SuspBeta || r.Vetted != direct.Vetted || r.Disqualified != direct.Disqualified {
			t.Fatalf("reports changed direct evidence: %+v -> %+v", direct, r)
		}
		if len(r.Reports) > p.MaxReporters {
			t.Fatalf("%d reporters kept", len(r.Reports))
		}
		if p.Eligible(direct, now) != p.Eligible(r, now) {
			t.Fatal("reports changed eligibility")
		}
		if p.Rank(r, now) > p.Rank(direct, now) || p.Rank(r, now) < mul(p.Rank(direct, now), One-p.HearsayCap)-2 {
			t.Fatalf("rank %v outside bounds of direct %v", p.Rank(r, now), p.Rank(direct, now))
		}
	})
}
