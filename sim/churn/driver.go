package churn

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/cairn-storage/cairn/sim"
)

// State is a node's churn state.
type State uint8

const (
	Down State = iota // offline, will come back
	Up                // online
	Gone              // departed for good
)

func (s State) String() string {
	switch s {
	case Down:
		return "down"
	case Up:
		return "up"
	case Gone:
		return "gone"
	}
	return "?"
}

// Driver plays a Model on an engine. Node state is kept as parallel slices
// indexed by node (9 bytes a node) and each node has at most one pending event,
// so a million nodes cost about 41 MB here. Arrivals append new indices.
type Driver struct {
	// State and Since are each node's state and when it entered it (the
	// driver's start for the state a node started in). Read them; change them
	// only through the Driver.
	State []State
	Since []sim.Time

	// Optional callbacks, run after the state changed. A node that arrives is
	// reported by OnArrive only.
	OnUp     func(node int32, at sim.Time)
	OnDown   func(node int32, at sim.Time, departed bool)
	OnArrive func(node int32, at sim.Time)

	m                   Model
	eng                 *sim.Engine
	session, downtime   *Sampler
	depart              distuv.Bernoulli
	interArrival        distuv.Exponential
	kUp, kDown, kArrive sim.Kind
	up, live            int
	ends, departures    uint64
	arrivals            uint64
	err                 error
}

// Stream names the Driver draws from; fixed so adding other models never
// changes churn.
const (
	StreamInit     = "churn/init"
	StreamSession  = "churn/session"
	StreamDowntime = "churn/downtime"
	StreamDepart   = "churn/depart"
	StreamArrive   = "churn/arrive"
)

// New validates m, registers the driver's event kinds on eng, draws the initial
// state of nodes 0..nodes-1 and schedules their first transitions and the
// first arrival. With churn, the run starts in steady state: each node is up
// with probability m.Availability() and the period under way has a residual
// length (Sampler.Residual), so statistics need no warm-up. Without churn every
// node starts up and stays up.
func New(eng *sim.Engine, m Model, streams sim.Streams, nodes int) (*Driver, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if nodes < 0 || nodes > math.MaxInt32 {
		return nil, fmt.Errorf("churn: node count %d out of range", nodes)
	}
	d := &Driver{
		State: make([]State, nodes),
		Since: make([]sim.Time, nodes),
		m:     m,
		eng:   eng,
	}
	var err error
	if d.kUp, err = eng.Register("churn.up", d.handleUp); err != nil {
		return nil, err
	}
	if d.kDown, err = eng.Register("churn.down", d.handleDown); err != nil {
		return nil, err
	}
	if d.kArrive, err = eng.Register("churn.arrive", d.handleArrive); err != nil {
		return nil, err
	}
	d.live = nodes
	now := eng.Now()
	if m.Churns() {
		if d.session, err = NewSampler(m.Session, streams.NamedPCG(StreamSession)); err != nil {
			return nil, err
		}
		if d.downtime, err = NewSampler(m.Downtime, streams.NamedPCG(StreamDowntime)); err != nil {
			return nil, err
		}
		d.depart = distuv.Bernoulli{P: m.DepartProb, Src: streams.NamedPCG(StreamDepart)}
		init := streams.Named(StreamInit)
		a := m.Availability()
		for i := range d.State {
			d.Since[i] = now
			if init.Float64() < a {
				d.State[i] = Up
				d.up++
				d.schedule(d.session.Residual(), d.kDown, int32(i))
			} else {
				d.State[i] = Down
				d.schedule(d.downtime.Residual(), d.kUp, int32(i))
			}
		}
	} else {
		for i := range d.State {
			d.State[i], d.Since[i] = Up, now
		}
		d.up = nodes
	}
	if m.ArrivalsPerHour > 0 {
		d.interArrival = distuv.Exponential{Rate: m.ArrivalsPerHour / float64(sim.Hour), Src: streams.NamedPCG(StreamArrive)}
		d.schedule(toDuration(d.interArrival.Rand()), d.kArrive, -1)
	}
	return d, d.err
}

// schedule queues kind for node after delay. Every input is bounded by the
// model (delays are capped at maxSpan), so a refusal means virtual time ran
// out: the first one is kept in Err and the run stopped.
func (d *Driver) schedule(after sim.Duration, kind sim.Kind, node int32) {
	if err := d.eng.After(after, kind, node, 0); err != nil && d.err == nil {
		d.err = err
		d.eng.Stop()
	}
}

func (d *Driver) handleUp(e *sim.Engine, ev sim.Event) {
	n := ev.Node
	if d.State[n] != Down { // left (Leave) while this was pending
		return
	}
	d.State[n], d.Since[n] = Up, ev.At
	d.up++
	d.schedule(d.session.Sample(), d.kDown, n)
	if d.OnUp != nil {
		d.OnUp(n, ev.At)
	}
}

func (d *Driver) handleDown(e *sim.Engine, ev sim.Event) {
	n := ev.Node
	if d.State[n] != Up {
		return
	}
	d.up--
	d.ends++
	d.Since[n] = ev.At
	departed := d.m.DepartProb > 0 && d.depart.Rand() == 1
	if departed {
		d.State[n] = Gone
		d.live--
		d.departures++
	} else {
		d.State[n] = Down
		d.schedule(d.downtime.Sample(), d.kUp, n)
	}
	if d.OnDown != nil {
		d.OnDown(n, ev.At, departed)
	}
}

func (d *Driver) handleArrive(e *sim.Engine, ev sim.Event) {
	if len(d.State) >= math.MaxInt32 {
		return // no more node indices: arrivals stop
	}
	n := int32(len(d.State))
	d.State = append(d.State, Up)
	d.Since = append(d.Since, ev.At)
	d.up++
	d.live++
	d.arrivals++
	if d.m.Churns() {
		d.schedule(d.session.Sample(), d.kDown, n)
	}
	d.schedule(toDuration(d.interArrival.Rand()), d.kArrive, -1)
	if d.OnArrive != nil {
		d.OnArrive(n, ev.At)
	}
}

// Leave makes node depart for good now, whatever its state (a scenario's
// targeted exit, a Sybil group vanishing). Its pending transition is ignored
// when it fires. It reports false if the node was already gone or unknown.
func (d *Driver) Leave(node int32) bool {
	if node < 0 || int(node) >= len(d.State) || d.State[node] == Gone {
		return false
	}
	now := d.eng.Now()
	wasUp := d.State[node] == Up
	if wasUp {
		d.up--
	}
	d.State[node], d.Since[node] = Gone, now
	d.live--
	d.departures++
	if wasUp && d.OnDown != nil {
		d.OnDown(node, now, true)
	}
	return true
}

// Model is the model being played.
func (d *Driver) Model() Model { return d.m }

// Len is the number of node indices so far (initial nodes plus arrivals).
func (d *Driver) Len() int { return len(d.State) }

// IsUp reports whether node is up.
func (d *Driver) IsUp(node int32) bool { return d.State[node] == Up }

// UpCount is the number of nodes up now.
func (d *Driver) UpCount() int { return d.up }

// LiveCount is the number of nodes not gone (up or down).
func (d *Driver) LiveCount() int { return d.live }

// SessionEnds counts sessions that ended (including those ending in departure).
func (d *Driver) SessionEnds() uint64 { return d.ends }

// Departures counts permanent departures, including Leave.
func (d *Driver) Departures() uint64 { return d.departures }

// Arrivals counts nodes that joined during the run.
func (d *Driver) Arrivals() uint64 { return d.arrivals }

// Err is the first scheduling failure, which stopped the run (nil normally).
func (d *Driver) Err() error { return d.err }
