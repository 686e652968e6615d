package node

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/codec"
)

// Remove asks every holder to delete its shards and every steward to delete the manifest. The
// capability's key proves the right to delete: each holder checks a per-shard token derived from
// it against the hash it stored, so a holder learns nothing that deletes other holders' shards.
func (n *Node) Remove(ctx context.Context, capStr string) (*api.RemoveResult, error) {
	cp, err := parseCap(capStr)
	if err != nil {
		return nil, err
	}
	res, err := n.resolve(ctx, cp.Manifest, true)
	if err != nil {
		return nil, err
	}
	kdel := codec.DeleteKey(cp.Key)
	var deleted, failed, manifests atomic.Int64
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for si, seg := range res.m.Segments {
		for i, c := range seg.Shards {
			h, ok := res.loc.Holder(si, i)
			if !ok {
				continue
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if err := n.xfer.DeleteShard(ctx, h, c, codec.DeleteToken(kdel, c)); err != nil {
					n.log.Info("rm: shard not deleted", "holder", h, "cid", c, "err", err)
					failed.Add(1)
					return
				}
				deleted.Add(1)
			})
		}
	}
	wg.Wait()
	// Manifests go last: while any shard remains, the manifest is what lets a retry find it.
	tok := codec.ManifestDeleteToken(kdel)
	for _, s := range res.stewards {
		wg.Go(func() {
			if err := n.xfer.DeleteManifest(ctx, s, cp.Manifest, tok); err != nil {
				n.log.Info("rm: manifest copy not deleted", "steward", s, "err", err)
				return
			}
			manifests.Add(1)
		})
	}
	wg.Wait()
	if err := n.uploads.remove(cp.Manifest.String()); err != nil {
		n.log.Warn("rm: update upload list", "err", err)
	}
	return &api.RemoveResult{CID: cp.Manifest.String(), ShardsDeleted: int(deleted.Load()),
		ShardsFailed: int(failed.Load()), ManifestCopies: int(manifests.Load())}, nil
}
