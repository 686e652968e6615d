package node

import (
	"context"
	"time"

	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/ipfs/go-cid"
)

// startTombstones runs the steward side of rm: every delete_retry, retry the deletes of each
// removal that holders did not answer, and drop the manifest once none is left.
func (n *Node) startTombstones() {
	n.runChore("tombstones", time.Duration(n.repo.Config.Intervals.DeleteRetry), n.finishRemovals)
}

func (n *Node) finishRemovals(ctx context.Context) {
	type removal struct {
		c       cid.Cid
		pending []transfer.PendingDelete
	}
	var all []removal
	if err := n.stewards.Tombstones(func(c cid.Cid, p []transfer.PendingDelete) error {
		all = append(all, removal{c, p})
		return nil
	}); err != nil {
		n.log.Warn("tombstones: list", "err", err)
		return
	}
	for _, r := range all {
		if ctx.Err() != nil {
			return
		}
		again, deleted := n.deleteShards(ctx, r.pending)
		if err := n.stewards.FinishTombstone(r.c, again); err != nil {
			n.log.Warn("tombstones: update", "cid", r.c, "err", err)
			continue
		}
		if len(again) == 0 {
			n.log.Info("removal finished", "cid", r.c, "deleted", deleted)
		}
	}
}
