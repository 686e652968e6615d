package reputation

import (
	"cmp"
	"slices"
)

// Report is another node's (already signature-checked) claim about an outcome it saw.
type Report struct {
	Reporter, Subject NodeID
	Outcome           Outcome
	Time              int64 // unix seconds the reporter saw it
}

// Hearsay is one reporter's standing penalty on a subject.
type Hearsay struct {
	Reporter NodeID `cbor:"1,keyasint"`
	Penalty  Fixed  `cbor:"2,keyasint"` // in (0, ReporterCap]
	Time     int64  `cbor:"3,keyasint"` // latest counted report
}

// Why a Sybil clique cannot lift itself:
//   - Reports never touch α, β, the suspension counters, AuditsPassed or Vetted: only
//     this node's own observations do. So no report can raise a score, vet a node, or
//     disqualify or suspend one.
//   - Reports only add or remove a bounded hearsay penalty. A reporter's report counts
//     only if this node itself has vetted the reporter (VetAudits audits it checked
//     directly) and it is eligible; its weight is ReportWeight times the reporter's
//     direct R·S. A clique this node never audited weighs zero.
//   - Per reporter the penalty on a subject is capped (ReporterCap) and in total it is
//     capped (HearsayCap < 1), so even every vetted peer together can only lower a
//     subject's placement rank by HearsayCap and mark it Warned; a pass report can only
//     undo that reporter's own earlier penalty.

// Hearsay is r's total hearsay penalty at now: the sum over reports younger than
// ReportTTL, capped at HearsayCap.
func (p Params) Hearsay(r Record, now int64) Fixed {
	var h Fixed
	for _, e := range r.Reports {
		if p.fresh(e.Time, now) {
			h = sat(h, e.Penalty)
		}
	}
	return min(h, p.HearsayCap)
}

func (p Params) fresh(t, now int64) bool { return t <= now && now-t <= p.ReportTTL }

// ReporterWeight is how much a report from a peer with record r counts at now:
// ReportWeight·R·S if this node vetted it directly and it is eligible, else 0.
func (p Params) ReporterWeight(r Record, now int64) Fixed {
	if !r.Started {
		return 0
	}
	r = p.expire(r, now)
	if !r.Vetted || !p.Eligible(r, now) {
		return 0
	}
	return mul(p.ReportWeight, mul(r.Score(), r.Suspension()))
}

// ApplyReport returns subject's record updated by a report from a reporter of weight w
// (see ReporterWeight). Failure-type outcomes add w to that reporter's penalty (capped
// at ReporterCap); success-type ones remove w from it. Stale entries are dropped, and
// beyond MaxReporters the oldest go first. It reports whether the report counted:
// self-reports, weightless, stale or future-dated reports and unknown outcomes do not,
// nor do reports about a subject this node has never observed (a zero Record), so
// reporters cannot make the book grow with invented peers.
func (p Params) ApplyReport(subject Record, rep Report, w Fixed, now int64) (Record, bool) {
	if w <= 0 || !subject.Started || rep.Reporter == rep.Subject || rep.Reporter == "" ||
		!p.fresh(rep.Time, now) || rep.Outcome < AuditPass || rep.Outcome > ProbeDown {
		return subject, false
	}
	subject = p.expire(subject, now)
	reps := make([]Hearsay, 0, len(subject.Reports)+1)
	for _, e := range subject.Reports {
		if p.fresh(e.Time, now) {
			reps = append(reps, e)
		}
	}
	i, found := slices.BinarySearchFunc(reps, rep.Reporter, func(e Hearsay, id NodeID) int {
		return cmp.Compare(e.Reporter, id)
	})
	var e Hearsay
	if found {
		e = reps[i]
	} else {
		e = Hearsay{Reporter: rep.Reporter}
	}
	switch rep.Outcome {
	case AuditPass, TransferOK, ProbeUp:
		e.Penalty = max(0, e.Penalty-w)
	default:
		e.Penalty = min(p.ReporterCap, sat(e.Penalty, w))
	}
	e.Time = max(e.Time, rep.Time)
	switch {
	case found && e.Penalty == 0:
		reps = slices.Delete(reps, i, i+1)
	case found:
		reps[i] = e
	case e.Penalty > 0:
		reps = slices.Insert(reps, i, e)
	}
	for len(reps) > p.MaxReporters {
		reps = slices.Delete(reps, oldest(reps), oldest(reps)+1)
	}
	if len(reps) == 0 {
		reps = nil
	}
	subject.Reports = reps
	return subject, true
}

// oldest is the index of the entry with the smallest (Time, Reporter).
func oldest(reps []Hearsay) int {
	o := 0
	for i, e := range reps {
		if e.Time < reps[o].Time {
			o = i
		}
	}
	return o
}
