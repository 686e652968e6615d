package node

import (
	"context"
	"time"
)

// runChore runs fn every interval until the node closes, first after one interval. fn gets the
// node's context; it must return promptly once that context ends.
func (n *Node) runChore(name string, interval time.Duration, fn func(ctx context.Context)) {
	if interval <= 0 {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-n.ctx.Done():
				return
			case <-t.C:
				start := time.Now()
				fn(n.ctx)
				n.log.Debug("chore done", "chore", name, "took", time.Since(start))
			}
		}
	}()
}
