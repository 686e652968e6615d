package node

import "time"

// putDrainTimeout bounds how long Close waits for running puts to finish their rollback.
const putDrainTimeout = rollbackTimeout + 5*time.Second

// beginPut registers a running put; ok is false once the node is closing. done must be called
// when the put (including any rollback) has finished.
func (n *Node) beginPut() (done func(), ok bool) {
	n.putsMu.Lock()
	defer n.putsMu.Unlock()
	if n.closing {
		return nil, false
	}
	n.puts.Add(1)
	return n.puts.Done, true
}

// drainPuts cancels running puts and waits, bounded, for their rollbacks: a shutdown in the middle
// of a put must not leave its shards behind (they would wait for the garbage collector).
func (n *Node) drainPuts() {
	n.putsMu.Lock()
	n.closing = true
	n.putsMu.Unlock()
	n.stopPuts()
	done := make(chan struct{})
	go func() { n.puts.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(putDrainTimeout):
		n.log.Warn("shutdown: a put's rollback did not finish in time; its shards wait for the garbage collector")
	}
}
