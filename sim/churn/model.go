// Package churn models nodes coming and going: alternating up (session) and
// down (downtime) periods drawn from exponential or Weibull distributions,
// permanent departures at the end of a session, and arrivals of new nodes as a
// Poisson process. The Driver plays the model on a sim.Engine.
package churn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/cairn-storage/cairn/sim"
)

// Distribution kinds.
const (
	Exponential = "exponential"
	Weibull     = "weibull"
)

// Dist is a distribution of durations. Exponential takes Mean. Weibull takes
// Shape (k; below 1 gives the heavy tail measured for P2P sessions) and either
// Mean or Scale (λ), related by mean = λ·Γ(1+1/k).
type Dist struct {
	Kind  string       `toml:"kind"`
	Mean  sim.Duration `toml:"mean,omitempty"`
	Scale sim.Duration `toml:"scale,omitempty"`
	Shape float64      `toml:"shape,omitempty"`
}

// Validate says what is wrong with d, if anything.
func (d Dist) Validate() error {
	switch d.Kind {
	case Exponential:
		if d.Scale != 0 || d.Shape != 0 {
			return errors.New("exponential takes mean only (no scale or shape)")
		}
		if d.Mean <= 0 {
			return errors.New("exponential needs a positive mean")
		}
	case Weibull:
		if !(d.Shape > 0) || math.IsInf(d.Shape, 0) {
			return fmt.Errorf("weibull needs a positive shape, got %v", d.Shape)
		}
		if (d.Mean != 0) == (d.Scale != 0) {
			return errors.New("weibull takes exactly one of mean and scale")
		}
		if d.Mean < 0 || d.Scale < 0 {
			return errors.New("weibull mean and scale must be positive")
		}
		if m := d.mean(); m > float64(maxSpan) || math.IsNaN(m) {
			return fmt.Errorf("weibull mean %.3g h is beyond what a run can span", m/float64(sim.Hour))
		}
		if l := d.lambda(); !(l >= 1) {
			return fmt.Errorf("weibull shape %v is too small for mean %v", d.Shape, d.Mean)
		}
	case "":
		return errors.New("kind missing (exponential or weibull)")
	default:
		return fmt.Errorf("unknown kind %q (exponential or weibull)", d.Kind)
	}
	return nil
}

// MeanDuration is the distribution's mean (d must be valid).
func (d Dist) MeanDuration() sim.Duration { return toDuration(d.mean()) }

func (d Dist) mean() float64 {
	if d.Kind == Weibull && d.Scale != 0 {
		return float64(d.Scale) * math.Gamma(1+1/d.Shape)
	}
	return float64(d.Mean)
}

// lambda is the Weibull scale in nanoseconds.
func (d Dist) lambda() float64 {
	if d.Scale != 0 {
		return float64(d.Scale)
	}
	return float64(d.Mean) / math.Gamma(1+1/d.Shape)
}

func (d Dist) String() string {
	if d.Kind == Weibull {
		return fmt.Sprintf("weibull(shape %g, mean %v)", d.Shape, d.MeanDuration())
	}
	return fmt.Sprintf("%s(mean %v)", d.Kind, d.Mean)
}

// maxSpan caps a drawn duration: a century is "never" for a simulation, and the
// cap keeps heavy tails from overflowing virtual time.
const maxSpan = 100 * 365 * sim.Day

func toDuration(ns float64) sim.Duration {
	if !(ns < float64(maxSpan)) { // also NaN
		return maxSpan
	}
	if ns <= 0 {
		return 0
	}
	return sim.Duration(math.Round(ns))
}

// Sampler draws durations from a Dist using gonum's distuv on one source.
type Sampler struct {
	weibull bool
	exp     distuv.Exponential
	wei     distuv.Weibull
	resid   distuv.Gamma // Weibull residual life: λ·G^(1/k), G ~ Gamma(1/k, 1)
}

// NewSampler returns a sampler of d drawing from src.
func NewSampler(d Dist, src rand.Source) (*Sampler, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if src == nil {
		// distuv would fall back to the global generator: unrepeatable runs.
		return nil, errors.New("churn: sampler needs a seeded source")
	}
	if d.Kind == Exponential {
		return &Sampler{exp: distuv.Exponential{Rate: 1 / float64(d.Mean), Src: src}}, nil
	}
	return &Sampler{
		weibull: true,
		wei:     distuv.Weibull{K: d.Shape, Lambda: d.lambda(), Src: src},
		resid:   distuv.Gamma{Alpha: 1 / d.Shape, Beta: 1, Src: src},
	}, nil
}

// Sample draws one duration.
func (s *Sampler) Sample() sim.Duration {
	if s.weibull {
		return toDuration(s.wei.Rand())
	}
	return toDuration(s.exp.Rand())
}

// Residual draws the time left in a period that was already under way when
// observed at a random instant (the equilibrium distribution, density
// (1−F(x))/mean). Starting every node with a residual rather than a fresh draw
// puts the run in steady state at time zero; for the exponential it is the same
// distribution (memorylessness), for the Weibull it is λ·G^(1/k) with
// G ~ Gamma(1/k, 1).
func (s *Sampler) Residual() sim.Duration {
	if s.weibull {
		return toDuration(s.wei.Lambda * math.Pow(s.resid.Rand(), 1/s.wei.K))
	}
	return toDuration(s.exp.Rand())
}

// CDF is P(X ≤ x) of the sampled distribution.
func (s *Sampler) CDF(x sim.Duration) float64 {
	if s.weibull {
		return s.wei.CDF(float64(x))
	}
	return s.exp.CDF(float64(x))
}

// Model is the churn of one population, as written in a scenario's [churn]
// table. The zero Model has no churn: nodes stay up, nobody leaves or arrives.
type Model struct {
	// Session is how long a node stays up; Downtime how long it then stays down.
	// Both or neither.
	Session  Dist `toml:"session"`
	Downtime Dist `toml:"downtime"`
	// DepartProb is the probability that a session's end is a permanent
	// departure (the node and its data never come back).
	DepartProb float64 `toml:"depart_prob"`
	// ArrivalsPerHour is the rate of new nodes joining (a Poisson process).
	ArrivalsPerHour float64 `toml:"arrivals_per_hour"`
}

// Churns reports whether nodes go up and down at all.
func (m Model) Churns() bool { return m.Session.Kind != "" || m.Downtime.Kind != "" }

// Validate says what is wrong with m, naming the field.
func (m Model) Validate() error {
	if m.Churns() {
		if err := m.Session.Validate(); err != nil {
			return fmt.Errorf("churn.session: %w", err)
		}
		if err := m.Downtime.Validate(); err != nil {
			return fmt.Errorf("churn.downtime: %w", err)
		}
	}
	if !(m.DepartProb >= 0 && m.DepartProb <= 1) {
		return fmt.Errorf("churn.depart_prob: %v is not a probability in [0, 1]", m.DepartProb)
	}
	if m.DepartProb > 0 && !m.Churns() {
		return errors.New("churn.depart_prob: departures happen at the end of sessions; set session and downtime")
	}
	if !(m.ArrivalsPerHour >= 0) || math.IsInf(m.ArrivalsPerHour, 0) {
		return fmt.Errorf("churn.arrivals_per_hour: %v must be a finite rate ≥ 0", m.ArrivalsPerHour)
	}
	return nil
}

// Availability is the long-run fraction of time a node is up,
// mean session / (mean session + mean downtime); 1 without churn.
func (m Model) Availability() float64 {
	if !m.Churns() {
		return 1
	}
	s, d := m.Session.mean(), m.Downtime.mean()
	return s / (s + d)
}
