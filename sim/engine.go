package sim

import (
	"errors"
	"fmt"
)

// Handler reacts to one event. It may schedule further events (never earlier
// than e.Now()) and read or change the models it closes over.
type Handler func(e *Engine, ev Event)

var (
	// ErrPast is returned when an event would happen before the current time.
	ErrPast = errors.New("sim: event scheduled in the past")
	// ErrKind is returned for an event whose kind has no registered handler.
	ErrKind = errors.New("sim: no handler for event kind")
)

// Engine is a single-threaded discrete-event loop over virtual time. Events pop
// in (At, Seq) order, Seq being the order in which they were scheduled, so the
// same inputs always give the same sequence of handler calls. One Engine is one
// run; to use a second core, run a second Engine (a second seed) beside it.
type Engine struct {
	now       Time
	seq       uint64
	q         queue
	processed uint64
	stopped   bool
	nkinds    int
	handlers  [256]Handler
	names     [256]string
	perKind   [256]uint64
}

// New returns an engine at time zero with no handlers and no events.
func New() *Engine { return &Engine{} }

// Register adds a handler and returns the Kind that dispatches to it. Models
// take their kinds from here so two models never collide on a number.
func (e *Engine) Register(name string, h Handler) (Kind, error) {
	if h == nil {
		return 0, fmt.Errorf("sim: register %q: nil handler", name)
	}
	for i := 0; i < e.nkinds; i++ {
		if e.names[i] == name {
			return 0, fmt.Errorf("sim: event kind %q registered twice", name)
		}
	}
	if e.nkinds == len(e.handlers) {
		return 0, fmt.Errorf("sim: register %q: all %d event kinds in use", name, len(e.handlers))
	}
	k := Kind(e.nkinds)
	e.handlers[k], e.names[k] = h, name
	e.nkinds++
	return k, nil
}

// Schedule queues an event of kind at time at. It refuses times before Now
// (ErrPast) and kinds without a handler (ErrKind); an event at exactly Now runs
// after every event already queued for Now.
func (e *Engine) Schedule(at Time, kind Kind, node int32, arg int64) error {
	if at < e.now {
		return fmt.Errorf("%w: at %v, now %v", ErrPast, at, e.now)
	}
	if int(kind) >= e.nkinds {
		return fmt.Errorf("%w %d", ErrKind, kind)
	}
	e.q.push(Event{At: at, Seq: e.seq, Arg: arg, Node: node, Kind: kind})
	e.seq++
	return nil
}

// After schedules an event d after Now.
func (e *Engine) After(d Duration, kind Kind, node int32, arg int64) error {
	at, ok := e.now.Add(d)
	if !ok {
		if d < 0 {
			return fmt.Errorf("%w: %v before now %v", ErrPast, -d, e.now)
		}
		return fmt.Errorf("sim: %v after %v overflows virtual time", d, e.now)
	}
	return e.Schedule(at, kind, node, arg)
}

// Step runs the next event, advancing the clock to its time. It reports false
// when nothing is pending.
func (e *Engine) Step() bool {
	if len(e.q) == 0 {
		return false
	}
	ev := e.q.pop()
	e.now = ev.At
	e.processed++
	e.perKind[ev.Kind]++
	e.handlers[ev.Kind](e, ev)
	return true
}

// Run runs every event due at or before until, then moves the clock to until
// (if it is later), so a run can be continued in slices. It returns early, with
// the clock at the last event run, if a handler calls Stop. It returns the
// number of events run.
func (e *Engine) Run(until Time) uint64 {
	start := e.processed
	e.stopped = false
	for len(e.q) > 0 && e.q[0].At <= until && !e.stopped {
		e.Step()
	}
	if !e.stopped && until > e.now {
		e.now = until
	}
	return e.processed - start
}

// Drain runs events until none is pending or a handler calls Stop, leaving the
// clock at the last event run. A model that always reschedules never drains;
// use Run for those.
func (e *Engine) Drain() uint64 {
	start := e.processed
	e.stopped = false
	for !e.stopped && e.Step() {
	}
	return e.processed - start
}

// Stop makes the current Run or Drain return after the event being handled.
func (e *Engine) Stop() { e.stopped = true }

// Now is the current virtual time: the time of the event being handled, or the
// time Run last advanced to.
func (e *Engine) Now() Time { return e.now }

// Pending is the number of queued events.
func (e *Engine) Pending() int { return len(e.q) }

// Peek returns the next event without running it.
func (e *Engine) Peek() (Event, bool) {
	if len(e.q) == 0 {
		return Event{}, false
	}
	return e.q[0], true
}

// Processed is the number of events run so far.
func (e *Engine) Processed() uint64 { return e.processed }

// Scheduled is the number of events accepted so far (the next Seq).
func (e *Engine) Scheduled() uint64 { return e.seq }

// KindName returns the name kind was registered under ("" if none).
func (e *Engine) KindName(k Kind) string { return e.names[k] }

// KindCount is the number of events of kind run so far.
func (e *Engine) KindCount(k Kind) uint64 { return e.perKind[k] }

// Reserve makes room for n pending events, so a run that knows its size does
// not regrow the queue.
func (e *Engine) Reserve(n int) {
	if n > cap(e.q) {
		q := make(queue, len(e.q), n)
		copy(q, e.q)
		e.q = q
	}
}
