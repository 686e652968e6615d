package sim

// Kind names what an event means; the engine hands it to the handler registered
// for it. Kinds are small so dispatch is an array index.
type Kind uint8

// Event is one pending happening. It is a plain 32-byte value with no pointers:
// a million pending events cost 32 MB and nothing for the garbage collector to
// scan. What it means is up to its Kind's handler; Node and Arg carry whatever
// that handler needs (a node index, a segment index, a generation counter...).
type Event struct {
	At   Time   // when it happens
	Seq  uint64 // insertion order; breaks ties in At so runs are reproducible
	Arg  int64
	Node int32
	Kind Kind
}

// before is the queue order: time first, then insertion order.
func (e *Event) before(f *Event) bool {
	return e.At < f.At || (e.At == f.At && e.Seq < f.Seq)
}

// queue is a binary min-heap of Event values ordered by before. It is written
// out rather than using container/heap, whose interface{} methods would box
// every event.
type queue []Event

func (q *queue) push(ev Event) {
	h := append(*q, ev)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !ev.before(&h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = ev
	*q = h
}

// pop removes and returns the first event; the queue must not be empty.
func (q *queue) pop() Event {
	h := *q
	top := h[0]
	n := len(h) - 1
	last := h[n]
	h = h[:n]
	if n > 0 {
		// Sift the hole at the root down, then drop last into it.
		i := 0
		for {
			c := 2*i + 1
			if c >= n {
				break
			}
			if r := c + 1; r < n && h[r].before(&h[c]) {
				c = r
			}
			if !h[c].before(&last) {
				break
			}
			h[i] = h[c]
			i = c
		}
		h[i] = last
	}
	*q = h
	return top
}
