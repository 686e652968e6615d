package node

import (
	"context"
	"time"

	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/libp2p/go-libp2p/core/peer"
)

// startTombstones runs the steward side of rm: every delete_retry, retry the deletes of each
// removal that holders did not answer, and drop the manifest once none is left.
func (n *Node) startTombstones() {
	n.runChore("tombstones", time.Duration(n.repo.Config.Intervals.DeleteRetry), n.finishRemovals)
}

func (n *Node) finishRemovals(ctx context.Context) {
	var all []transfer.Removal
	if err := n.stewards.Removals(func(r transfer.Removal) error {
		all = append(all, r)
		return nil
	}); err != nil {
		n.log.Warn("tombstones: list", "err", err)
		return
	}
	for _, r := range all {
		if ctx.Err() != nil {
			return
		}
		again, deleted := n.deleteShards(ctx, r.Pending)
		// With no shard left, the other stewards' copies go (one that was down during rm still
		// has its copy), and ours last: until then this tombstone keeps the removal alive.
		done := len(again) == 0 && n.dropStewardCopies(ctx, r)
		if err := n.stewards.FinishTombstone(r.Manifest, again, done); err != nil {
			n.log.Warn("tombstones: update", "cid", r.Manifest, "err", err)
			continue
		}
		if done {
			n.log.Info("removal finished", "cid", r.Manifest, "deleted", deleted)
		}
	}
}

// dropStewardCopies deletes r's manifest on every other steward; false if one did not answer.
func (n *Node) dropStewardCopies(ctx context.Context, r transfer.Removal) bool {
	all := true
	for _, p := range r.Stewards {
		if p == n.host.ID() {
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := n.xfer.DeleteManifest(dctx, p, r.Manifest, r.Token)
		cancel()
		if err != nil && !deleteSettled(err) {
			n.log.Debug("tombstones: steward copy not deleted yet", "steward", p, "err", err)
			all = false
		}
	}
	return all
}

// forwardTombstone hands removal r to every one of to but this node, best effort: a steward that
// took the file over after rm asked the others still learns of the removal.
func (n *Node) forwardTombstone(ctx context.Context, r transfer.Removal, to []peer.ID) {
	for _, p := range to {
		if p == n.host.ID() {
			continue
		}
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := n.xfer.Tombstone(tctx, p, r.Manifest, r.Token, r.Pending)
		cancel()
		if err != nil && !deleteSettled(err) {
			n.log.Info("tombstones: could not forward the removal", "steward", p, "cid", r.Manifest, "err", err)
		}
	}
}
