package churn

import (
	"github.com/cairn-storage/cairn/sim/internal/stattest"
	"math"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/cairn-storage/cairn/sim"
)

func newDriver(t testing.TB, m Model, seed uint64, nodes int) (*sim.Engine, *Driver) {
	t.Helper()
	e := sim.New()
	d, err := New(e, m, sim.NewStreams(seed), nodes)
	if err != nil {
		t.Fatal(err)
	}
	return e, d
}

// upMeter integrates the number of nodes up over time from the callbacks.
type upMeter struct {
	up       int
	last     sim.Time
	integral float64 // node-nanoseconds up
}

func (u *upMeter) change(at sim.Time, delta int) {
	u.integral += float64(u.up) * float64(at-u.last)
	u.last, u.up = at, u.up+delta
}

func (u *upMeter) attach(d *Driver) {
	u.up = d.UpCount()
	d.OnUp = func(_ int32, at sim.Time) { u.change(at, +1) }
	d.OnDown = func(_ int32, at sim.Time, _ bool) { u.change(at, -1) }
	d.OnArrive = func(_ int32, at sim.Time) { u.change(at, +1) }
}

// TestAvailability runs 10,000 nodes for 30 days (2,000 with -short) and checks
// the fraction of node-time up against mean session / (mean session + mean
// downtime), both overall and at each day boundary: the steady-state start
// needs no warm-up.
func TestAvailability(t *testing.T) {
	nodes, days := 10000, 30
	if testing.Short() {
		nodes = 2000
	}
	for _, m := range []Model{
		{Session: expo8h, Downtime: expo4h},
		{Session: weib06, Downtime: weib15},
	} {
		e, d := newDriver(t, m, 5, nodes)
		var u upMeter
		u.attach(d)
		a := m.Availability()
		worst := 0.0
		for day := 0; day <= days; day++ {
			e.Run(sim.Time(day) * sim.Time(sim.Day))
			frac := float64(d.UpCount()) / float64(nodes)
			worst = max(worst, math.Abs(frac-a))
		}
		if d.Err() != nil {
			t.Fatal(d.Err())
		}
		u.change(e.Now(), 0)
		got := u.integral / (float64(nodes) * float64(e.Now()))
		t.Logf("%v / %v: up %.4f of the time, want %.4f; worst daily snapshot off by %.4f; %d events",
			m.Session, m.Downtime, got, a, worst, e.Processed())
		if math.Abs(got-a) > 0.01 {
			t.Errorf("time-averaged availability %.4f, want %.4f ± 0.01", got, a)
		}
		// One snapshot of n nodes has a standard deviation ≈ √(a(1−a)/n); allow 5σ.
		if tol := 5 * math.Sqrt(a*(1-a)/float64(nodes)); worst > tol {
			t.Errorf("a daily snapshot is %.4f off availability (tolerance %.4f)", worst, tol)
		}
		if u.up != d.UpCount() {
			t.Fatalf("callbacks saw %d up, driver counts %d", u.up, d.UpCount())
		}
	}
}

// TestObservedPeriods checks the sessions and downtimes the driver actually
// plays (those starting during the run, so not residuals) against their
// distributions. Only periods starting in the first two days are kept and the
// run goes on for 60 more, so none is cut short by the end of the run.
func TestObservedPeriods(t *testing.T) {
	m := Model{Session: weib06, Downtime: weib15}
	e, d := newDriver(t, m, 6, 1000)
	window := sim.Time(2 * sim.Day)
	start := make([]sim.Time, d.Len())
	for i := range start {
		start[i] = -1
	}
	var sessions, downs []float64
	open := 0
	d.OnUp = func(n int32, at sim.Time) {
		if start[n] >= 0 {
			downs = append(downs, float64(at-start[n]))
			open--
		}
		start[n] = -1
		if at <= window {
			start[n] = at
			open++
		}
	}
	d.OnDown = func(n int32, at sim.Time, _ bool) {
		if start[n] >= 0 {
			sessions = append(sessions, float64(at-start[n]))
			open--
		}
		start[n] = -1
		if at <= window {
			start[n] = at
			open++
		}
	}
	e.Run(window + sim.Time(60*sim.Day))
	if open != 0 {
		t.Fatalf("%d periods still open", open)
	}
	for _, c := range []struct {
		name string
		xs   []float64
		dist Dist
	}{{"session", sessions, m.Session}, {"downtime", downs, m.Downtime}} {
		s, err := NewSampler(c.dist, sim.NewStreams(0).PCG(0)) // for its CDF
		if err != nil {
			t.Fatal(err)
		}
		D := stattest.KS(c.xs, func(x float64) float64 { return s.CDF(sim.Duration(x)) })
		crit := stattest.KSCritical01(len(c.xs))
		t.Logf("%s %v: %d observed, KS D %.4f (crit %.4f)", c.name, c.dist, len(c.xs), D, crit)
		if len(c.xs) < 2000 || D > crit {
			t.Errorf("%s: %d observed, KS D %.4f > %.4f", c.name, len(c.xs), D, crit)
		}
	}
}

// TestDeparturesAndArrivals checks counts against their laws: given S session
// ends, departures are Binomial(S, p); arrivals are Poisson(rate·T), with
// exponential gaps; and the live population follows dN/dt = λ − rN with
// r = p/(mean session + mean downtime).
func TestDeparturesAndArrivals(t *testing.T) {
	m := Model{Session: expo8h, Downtime: expo4h, DepartProb: 0.05, ArrivalsPerHour: 10}
	const nodes = 5000
	horizon := sim.Time(10 * sim.Day)
	e, d := newDriver(t, m, 7, nodes)
	var gaps []float64
	last := sim.Time(0)
	ups, downs := 0, 0
	d.OnArrive = func(n int32, at sim.Time) {
		if int(n) != d.Len()-1 || d.State[n] != Up || d.Since[n] != at {
			t.Fatalf("arrival %d: state %v since %v", n, d.State[n], d.Since[n])
		}
		gaps = append(gaps, float64(at-last))
		last = at
	}
	d.OnUp = func(int32, sim.Time) { ups++ }
	d.OnDown = func(n int32, at sim.Time, departed bool) {
		downs++
		if departed != (d.State[n] == Gone) {
			t.Fatalf("node %d departed=%v state %v", n, departed, d.State[n])
		}
	}
	e.Run(horizon)

	S, D, A := float64(d.SessionEnds()), float64(d.Departures()), float64(d.Arrivals())
	p := m.DepartProb
	if dev := math.Abs(D - p*S); dev > 4*math.Sqrt(S*p*(1-p)) {
		t.Errorf("%v departures of %v session ends: %.1f from p·S", D, S, dev)
	}
	mu := m.ArrivalsPerHour * float64(horizon) / float64(sim.Hour)
	if math.Abs(A-mu) > 4*math.Sqrt(mu) {
		t.Errorf("%v arrivals, expected %v ± %.0f", A, mu, 4*math.Sqrt(mu))
	}
	gapDist := distuv.Exponential{Rate: m.ArrivalsPerHour / float64(sim.Hour)}
	if Dks := stattest.KS(gaps, gapDist.CDF); Dks > stattest.KSCritical01(len(gaps)) {
		t.Errorf("arrival gaps: KS D %.4f > %.4f", Dks, stattest.KSCritical01(len(gaps)))
	}
	// Population: N(t) = N∞ + (N0 − N∞)e^(−rt); departures = ∫ rN dt.
	r := p / (8 + 4) // per hour
	T := float64(horizon) / float64(sim.Hour)
	nInf := m.ArrivalsPerHour / r
	wantD := r*nInf*T + (nodes-nInf)*(1-math.Exp(-r*T))
	if math.Abs(D-wantD) > 0.05*wantD {
		t.Errorf("%v departures, population model expects %.0f ± 5%%", D, wantD)
	}
	t.Logf("%v session ends, %v departures (model %.0f), %v arrivals (mean %v), %d live, %d up",
		S, D, wantD, A, mu, d.LiveCount(), d.UpCount())

	// Counters agree with the state arrays and the callbacks.
	live, up := 0, 0
	for i, s := range d.State {
		if s != Gone {
			live++
		}
		if s == Up {
			up++
		}
		if d.Since[i] > e.Now() {
			t.Fatalf("node %d since %v, after now", i, d.Since[i])
		}
	}
	if live != d.LiveCount() || up != d.UpCount() || live != nodes+int(A)-int(D) || d.Len() != nodes+int(A) {
		t.Fatalf("live %d/%d up %d/%d len %d", live, d.LiveCount(), up, d.UpCount(), d.Len())
	}
	if uint64(downs) != d.SessionEnds() {
		t.Fatalf("%d OnDown calls, %d session ends", downs, d.SessionEnds())
	}
}

func TestDeterministic(t *testing.T) {
	m := Model{Session: weib06, Downtime: expo4h, DepartProb: 0.02, ArrivalsPerHour: 3}
	run := func(seed uint64) ([]State, []sim.Time, uint64) {
		e, d := newDriver(t, m, seed, 500)
		e.Run(sim.Time(5 * sim.Day))
		return d.State, d.Since, e.Processed()
	}
	s1, t1, n1 := run(9)
	s2, t2, n2 := run(9)
	if n1 != n2 || len(s1) != len(s2) {
		t.Fatalf("same seed: %d vs %d events", n1, n2)
	}
	for i := range s1 {
		if s1[i] != s2[i] || t1[i] != t2[i] {
			t.Fatalf("same seed, node %d differs", i)
		}
	}
	s3, t3, _ := run(10)
	same := len(s1) == len(s3)
	for i := 0; same && i < len(s1); i++ {
		same = s1[i] == s3[i] && t1[i] == t3[i]
	}
	if same {
		t.Fatal("different seeds, same run")
	}
}

func TestLeave(t *testing.T) {
	m := Model{Session: expo8h, Downtime: expo4h}
	e, d := newDriver(t, m, 3, 10)
	var departed []int32
	d.OnDown = func(n int32, _ sim.Time, dep bool) {
		if dep {
			departed = append(departed, n)
		}
	}
	e.Run(sim.Time(sim.Hour))
	var upNode, downNode int32 = -1, -1
	for i, s := range d.State {
		if s == Up && upNode < 0 {
			upNode = int32(i)
		}
		if s == Down && downNode < 0 {
			downNode = int32(i)
		}
	}
	if upNode < 0 || downNode < 0 {
		t.Fatalf("states %v", d.State)
	}
	if !d.Leave(upNode) || !d.Leave(downNode) || d.Leave(upNode) || d.Leave(-1) || d.Leave(10) {
		t.Fatal("Leave results")
	}
	if len(departed) != 1 || departed[0] != upNode {
		t.Fatalf("OnDown departures %v", departed)
	}
	e.Run(sim.Time(30 * sim.Day)) // their pending transitions fire and are ignored
	if d.State[upNode] != Gone || d.State[downNode] != Gone || d.Since[upNode] != sim.Time(sim.Hour) {
		t.Fatalf("left nodes: %v %v since %v", d.State[upNode], d.State[downNode], d.Since[upNode])
	}
	if d.LiveCount() != 8 || d.Departures() != 2 {
		t.Fatalf("live %d departures %d", d.LiveCount(), d.Departures())
	}
}

func TestNoChurn(t *testing.T) {
	e, d := newDriver(t, Model{ArrivalsPerHour: 2}, 4, 100)
	e.Run(sim.Time(10 * sim.Day))
	if d.UpCount() != d.Len() || d.LiveCount() != d.Len() || d.SessionEnds() != 0 {
		t.Fatalf("up %d live %d len %d ends %d", d.UpCount(), d.LiveCount(), d.Len(), d.SessionEnds())
	}
	if a := d.Arrivals(); a < 400 || a > 560 { // Poisson(480) ± 3.6σ
		t.Fatalf("%d arrivals", a)
	}
	if _, err := New(sim.New(), Model{DepartProb: 2}, sim.NewStreams(1), 1); err == nil {
		t.Fatal("invalid model accepted")
	}
	if _, err := New(sim.New(), Model{}, sim.NewStreams(1), -1); err == nil {
		t.Fatal("negative node count accepted")
	}
	// A second driver on one engine would collide on event kinds.
	if _, err := New(e, Model{}, sim.NewStreams(1), 1); err == nil {
		t.Fatal("second driver on one engine accepted")
	}
}

// BenchmarkChurn plays 100,000 Weibull-churning nodes for one simulated day per
// iteration and reports the cost per event and the driver's bytes per node.
func BenchmarkChurn(b *testing.B) {
	const nodes = 100000
	m := Model{Session: weib06, Downtime: weib15, DepartProb: 0.01, ArrivalsPerHour: 50}
	e, d := newDriver(b, m, 1, nodes)
	day := sim.Time(0)
	for b.Loop() {
		day += sim.Time(sim.Day)
		e.Run(day)
	}
	perNode := float64(cap(d.State)*1+cap(d.Since)*8) / float64(d.Len())
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(e.Processed()), "ns/event")
	b.ReportMetric(float64(e.Processed())/float64(b.N), "events/day")
	b.ReportMetric(perNode+32, "B/node") // + its one pending event
}
