package reputation

import (
	"fmt"
	"math"
	"math/bits"
)

// Fixed is a non-negative fixed-point number: the value times One. Scores live in
// integers so the node and the simulator compute bit-identical results on any machine.
// Every product and quotient is rounded to the nearest unit, ties away from zero
// (round-half-up for the non-negative values used here), and saturates at MaxInt64
// instead of overflowing.
type Fixed int64

// One is 1.0 in Fixed.
const One Fixed = 1_000_000_000

// String formats f with nine decimals, e.g. "0.960000000".
func (f Fixed) String() string {
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	return fmt.Sprintf("%s%d.%09d", sign, f/One, f%One)
}

// mulDiv returns round(a·b/d) on non-negative inputs (negatives count as 0), using
// 128-bit intermediates; it saturates at MaxInt64 and returns 0 when d <= 0.
func mulDiv(a, b, d Fixed) Fixed {
	if a <= 0 || b <= 0 || d <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	lo, c := bits.Add64(lo, uint64(d)/2, 0)
	hi += c
	if hi >= uint64(d) {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, uint64(d))
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return Fixed(q)
}

func mul(a, b Fixed) Fixed { return mulDiv(a, b, One) }

// ratio returns round(a/(a+b)); with no evidence at all (a+b = 0) it is One.
func ratio(a, b Fixed) Fixed {
	s := sat(a, b)
	if s <= 0 {
		return One
	}
	return mulDiv(a, One, s)
}

// sat adds without overflow.
func sat(a, b Fixed) Fixed {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxInt64
}

// Outcome is one observation of a peer.
type Outcome uint8

const (
	AuditPass    Outcome = iota + 1 // proof checked: audit score up, suspension up (it answered)
	AuditFail                       // wrong proof: audit score down, suspension up (it answered)
	AuditTimeout                    // no answer or unknown error: suspension down only
	TransferOK                      // shard upload/download finished: suspension up
	TransferFail                    // refused or broken transfer: suspension down only
	ProbeUp                         // uptime probe answered: suspension up
	ProbeDown                       // uptime probe unanswered: suspension down only
)

func (o Outcome) String() string {
	switch o {
	case AuditPass:
		return "audit-pass"
	case AuditFail:
		return "audit-fail"
	case AuditTimeout:
		return "audit-timeout"
	case TransferOK:
		return "transfer-ok"
	case TransferFail:
		return "transfer-fail"
	case ProbeUp:
		return "probe-up"
	case ProbeDown:
		return "probe-down"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Observation is something this node saw a peer do at Time (unix seconds).
type Observation struct {
	Peer       NodeID
	Outcome    Outcome
	Time       int64
	Throughput int64 // bytes/s of a TransferOK; 0 = not measured
}

// Params configures scoring. All Fixed values are in [0, One] unless noted.
type Params struct {
	// Audit score: beta reputation with forgetting. On pass α ← λα + w, β ← λβ;
	// on fail α ← λα, β ← λβ + w. Score R = α/(α+β).
	Lambda, Weight         Fixed
	InitAlpha, InitBeta    Fixed // Weight/(1−Lambda) is the steady state; may exceed One
	DQThreshold            Fixed // disqualified when R <= DQThreshold
	WarnThreshold          Fixed // Warned when R <= WarnThreshold (above the DQ line)
	SuspLambda, SuspWeight Fixed
	SuspInitAlpha          Fixed  // suspension score starts at 1 with this much evidence
	SuspThreshold          Fixed  // suspended (no new data, not disqualified) when S <= SuspThreshold
	SuspWarnThreshold      Fixed  // Warned when S <= SuspWarnThreshold
	VetAudits              uint32 // audits passed before a node is vetted

	// Probation is how long (seconds) a disqualification lasts; afterwards the node
	// re-enters as a fresh unvetted node. It doubles with each repeated disqualification
	// up to MaxProbation. Probation <= 0 makes disqualification permanent.
	Probation, MaxProbation int64

	// Reports from other nodes (see ApplyReport).
	ReportWeight Fixed // hearsay penalty per failure report, times the reporter's own score
	ReporterCap  Fixed // most hearsay one reporter can put on one subject
	HearsayCap   Fixed // most hearsay a subject can carry in total (< 1: never excludes alone)
	HearsayWarn  Fixed // Warned when hearsay >= HearsayWarn
	ReportTTL    int64 // seconds a report counts; older or future-dated reports are ignored
	MaxReporters int   // reporters remembered per subject (oldest dropped first)
}

// DefaultParams returns Storj's live values for the audit score (λ = 0.999, w = 1,
// α₀ = 1000, β₀ = 0, DQ at 0.96: 41 straight failures from a fresh record) and the
// suspension score (λ = 0.95, cut-off 0.6: 10 straight timeouts), plus Cairn's
// additions: a warning at 0.98 (21 failures), disqualification that expires after 30
// days (doubling per repeat, at most a year), and bounded hearsay.
func DefaultParams() Params {
	return Params{
		Lambda:            999_000_000,
		Weight:            One,
		InitAlpha:         1000 * One,
		InitBeta:          0,
		DQThreshold:       960_000_000,
		WarnThreshold:     980_000_000,
		SuspLambda:        950_000_000,
		SuspWeight:        One,
		SuspInitAlpha:     20 * One, // = w/(1−λ), the steady state
		SuspThreshold:     600_000_000,
		SuspWarnThreshold: 800_000_000,
		VetAudits:         100,
		Probation:         30 * 24 * 3600,
		MaxProbation:      365 * 24 * 3600,
		ReportWeight:      20_000_000,
		ReporterCap:       100_000_000,
		HearsayCap:        300_000_000,
		HearsayWarn:       100_000_000,
		ReportTTL:         7 * 24 * 3600,
		MaxReporters:      32,
	}
}

// Validate reports the first parameter out of range.
func (p Params) Validate() error {
	unit := []struct {
		name string
		v    Fixed
	}{
		{"Lambda", p.Lambda}, {"DQThreshold", p.DQThreshold}, {"WarnThreshold", p.WarnThreshold},
		{"SuspLambda", p.SuspLambda}, {"SuspThreshold", p.SuspThreshold},
		{"SuspWarnThreshold", p.SuspWarnThreshold}, {"ReportWeight", p.ReportWeight},
		{"ReporterCap", p.ReporterCap}, {"HearsayCap", p.HearsayCap}, {"HearsayWarn", p.HearsayWarn},
	}
	for _, u := range unit {
		if u.v < 0 || u.v > One {
			return fmt.Errorf("reputation: %s = %v, want within [0, 1]", u.name, u.v)
		}
	}
	switch {
	case p.Weight <= 0 || p.SuspWeight <= 0:
		return fmt.Errorf("reputation: weights %v, %v must be positive", p.Weight, p.SuspWeight)
	case p.InitAlpha <= 0 || p.InitBeta < 0 || p.SuspInitAlpha <= 0:
		return fmt.Errorf("reputation: initial α %v, β %v, suspension α %v: want α > 0, β >= 0",
			p.InitAlpha, p.InitBeta, p.SuspInitAlpha)
	case p.WarnThreshold < p.DQThreshold:
		return fmt.Errorf("reputation: WarnThreshold %v below DQThreshold %v", p.WarnThreshold, p.DQThreshold)
	case p.SuspWarnThreshold < p.SuspThreshold:
		return fmt.Errorf("reputation: SuspWarnThreshold %v below SuspThreshold %v",
			p.SuspWarnThreshold, p.SuspThreshold)
	case p.HearsayCap >= One:
		return fmt.Errorf("reputation: HearsayCap %v must be below 1 so hearsay never excludes alone", p.HearsayCap)
	case p.ReportTTL < 0 || p.MaxReporters < 0 || p.MaxProbation < 0:
		return fmt.Errorf("reputation: ReportTTL %d, MaxReporters %d, MaxProbation %d must not be negative",
			p.ReportTTL, p.MaxReporters, p.MaxProbation)
	}
	return nil
}

// Record is everything this node knows about one peer. It holds integers only, so it
// encodes and compares exactly. The zero Record means "never observed".
type Record struct {
	Started           bool      `cbor:"1,keyasint,omitempty"` // false: zero Record, see NewRecord
	Alpha             Fixed     `cbor:"2,keyasint,omitempty"` // audit evidence of honesty
	Beta              Fixed     `cbor:"3,keyasint,omitempty"` // audit evidence of lying
	SuspAlpha         Fixed     `cbor:"4,keyasint,omitempty"` // answered
	SuspBeta          Fixed     `cbor:"5,keyasint,omitempty"` // timed out / unknown error
	AuditsPassed      uint32    `cbor:"6,keyasint,omitempty"` // since the last (re)start as unvetted
	AuditsFailed      uint32    `cbor:"7,keyasint,omitempty"`
	AuditsTimedOut    uint32    `cbor:"8,keyasint,omitempty"`
	Vetted            bool      `cbor:"9,keyasint,omitempty"`
	Disqualified      bool      `cbor:"10,keyasint,omitempty"`
	DisqualifiedAt    int64     `cbor:"11,keyasint,omitempty"` // unix seconds of the latest disqualification
	Disqualifications uint32    `cbor:"12,keyasint,omitempty"` // ever; lengthens probation
	LastSeen          int64     `cbor:"13,keyasint,omitempty"` // latest observation time
	Throughput        int64     `cbor:"14,keyasint,omitempty"` // bytes/s, moving average (7/8 old + 1/8 new)
	Reports           []Hearsay `cbor:"15,keyasint,omitempty"` // by Reporter, ascending
}

// NewRecord is the record of a peer never seen: full scores, unvetted.
func (p Params) NewRecord() Record {
	return Record{Started: true, Alpha: p.InitAlpha, Beta: p.InitBeta, SuspAlpha: p.SuspInitAlpha}
}

// Score is the audit reputation R = α/(α+β) in [0, One].
func (r Record) Score() Fixed { return ratio(r.Alpha, r.Beta) }

// Suspension is the availability score S = α/(α+β) of the suspension counters.
func (r Record) Suspension() Fixed { return ratio(r.SuspAlpha, r.SuspBeta) }

// beta applies one outcome of weight w with forgetting lambda.
func beta(a, b, lambda, w Fixed, ok bool) (Fixed, Fixed) {
	a, b = mul(a, lambda), mul(b, lambda)
	if ok {
		return sat(a, w), b
	}
	return a, sat(b, w)
}

// Apply returns r updated by o. It is pure. Observations of a disqualified node are
// ignored (apart from LastSeen) until its probation ends; then it restarts unvetted.
// Unknown outcomes leave r unchanged.
func (p Params) Apply(r Record, o Observation) Record {
	if o.Outcome < AuditPass || o.Outcome > ProbeDown {
		return r
	}
	if !r.Started {
		r = p.NewRecord()
	}
	r = p.expire(r, o.Time)
	r.LastSeen = max(r.LastSeen, o.Time)
	if r.Disqualified {
		return r
	}
	var audit, answered *bool
	yes, no := true, false
	switch o.Outcome {
	case AuditPass:
		audit, answered = &yes, &yes
		r.AuditsPassed = satInc(r.AuditsPassed)
	case AuditFail:
		audit, answered = &no, &yes
		r.AuditsFailed = satInc(r.AuditsFailed)
	case AuditTimeout:
		answered = &no
		r.AuditsTimedOut = satInc(r.AuditsTimedOut)
	case TransferOK, ProbeUp:
		answered = &yes
	case TransferFail, ProbeDown:
		answered = &no
	}
	if o.Outcome == TransferOK && o.Throughput > 0 {
		if r.Throughput == 0 {
			r.Throughput = o.Throughput
		} else {
			r.Throughput = r.Throughput - r.Throughput/8 + o.Throughput/8
		}
	}
	if audit != nil {
		r.Alpha, r.Beta = beta(r.Alpha, r.Beta, p.Lambda, p.Weight, *audit)
	}
	r.SuspAlpha, r.SuspBeta = beta(r.SuspAlpha, r.SuspBeta, p.SuspLambda, p.SuspWeight, *answered)
	if !r.Vetted && r.AuditsPassed >= p.VetAudits {
		r.Vetted = true
	}
	if audit != nil && !*audit && r.Score() <= p.DQThreshold {
		r.Disqualified, r.DisqualifiedAt = true, o.Time
		r.Disqualifications = satInc(r.Disqualifications)
	}
	return r
}

func satInc(n uint32) uint32 {
	if n == math.MaxUint32 {
		return n
	}
	return n + 1
}

// ProbationEnd is when r's disqualification expires; ok is false if it never does
// (or r is not disqualified). Probation doubles per earlier disqualification.
func (p Params) ProbationEnd(r Record) (end int64, ok bool) {
	if !r.Disqualified || p.Probation <= 0 {
		return 0, false
	}
	d := p.Probation
	for i := uint32(1); i < r.Disqualifications && d < p.MaxProbation; i++ {
		d *= 2
	}
	if p.MaxProbation > 0 {
		d = min(d, max(p.MaxProbation, p.Probation))
	}
	if r.DisqualifiedAt > math.MaxInt64-d {
		return math.MaxInt64, true
	}
	return r.DisqualifiedAt + d, true
}

// expire restarts r as a fresh unvetted record if its probation has ended by now,
// keeping the history that lengthens the next probation.
func (p Params) expire(r Record, now int64) Record {
	end, ok := p.ProbationEnd(r)
	if !ok || now < end {
		return r
	}
	fresh := p.NewRecord()
	fresh.Disqualifications = r.Disqualifications
	fresh.DisqualifiedAt = r.DisqualifiedAt
	fresh.LastSeen = r.LastSeen
	fresh.Throughput = r.Throughput
	return fresh
}

// Status summarises a record for placement and operators.
type Status uint8

const (
	Healthy      Status = iota + 1 // vetted, above every warning line
	Unvetted                       // eligible only for the newcomers' share of placements
	Warned                         // still eligible, but near the DQ or suspension line, or reported by peers
	Suspended                      // too many timeouts: no new data until it answers again; not disqualified
	Disqualified                   // failed audits: no new data until probation ends
)

func (s Status) String() string {
	switch s {
	case Healthy:
		return "healthy"
	case Unvetted:
		return "unvetted"
	case Warned:
		return "warned"
	case Suspended:
		return "suspended"
	case Disqualified:
		return "disqualified"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Status is r's state at now; the most severe applicable state wins
// (Disqualified, Suspended, Warned, Unvetted, Healthy). Use Record.Vetted to tell a
// warned node's vetting.
func (p Params) Status(r Record, now int64) Status {
	if !r.Started {
		r = p.NewRecord()
	}
	r = p.expire(r, now)
	switch {
	case r.Disqualified:
		return Disqualified
	case r.Suspension() <= p.SuspThreshold:
		return Suspended
	case r.Score() <= p.WarnThreshold || r.Suspension() <= p.SuspWarnThreshold ||
		p.Hearsay(r, now) >= p.HearsayWarn && p.HearsayWarn > 0:
		return Warned
	case !r.Vetted:
		return Unvetted
	}
	return Healthy
}

// Eligible reports whether r may receive new data at now (not disqualified, not suspended).
func (p Params) Eligible(r Record, now int64) bool {
	s := p.Status(r, now)
	return s != Disqualified && s != Suspended
}

// Rank is the placement score in Fixed: R·S·(1−hearsay), or 0 if not eligible.
func (p Params) Rank(r Record, now int64) Fixed {
	if !r.Started {
		r = p.NewRecord()
	}
	r = p.expire(r, now)
	if !p.Eligible(r, now) {
		return 0
	}
	return mul(mul(r.Score(), r.Suspension()), One-p.Hearsay(r, now))
}

// PlacementScore is Rank as the float64 Candidate.Score takes. It is derived from the
// integer Rank by one exact-rounded division, so it is identical on every machine.
func (p Params) PlacementScore(r Record, now int64) float64 {
	return float64(p.Rank(r, now)) / float64(One)
}
