package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// rmAttempts and rmRetryDelay bound how long rm itself retries a holder that does not answer
// before leaving the delete to the stewards.
const (
	rmAttempts   = 3
	rmRetryDelay = time.Second
)

// testHookAfterTombstones, when set by a test, runs after rm's first tombstone round: the
// moment a concurrent handover can appoint a steward rm has not told.
var testHookAfterTombstones func(manifest cid.Cid)

// Remove asks every holder to delete its shards and, once none is left, every steward to delete
// the manifest. The capability's key proves the right to delete: each holder checks a per-shard
// token derived from it against the hash it stored, so a holder learns nothing that deletes other
// holders' shards. A holder that does not answer keeps the removal open: the stewards get a
// tombstone (the manifest token and the missing shards' tokens), stop serving the manifest, and
// finish the deletes when the holder returns. Remove never reports success while a shard remains.
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
	var todo []transfer.PendingDelete
	for si, seg := range res.m.Segments {
		for i, c := range seg.Shards {
			for _, h := range res.loc.Holders(si, i, res.m.N) {
				todo = append(todo, transfer.PendingDelete{Holder: h, Shard: c, Token: codec.DeleteToken(kdel, c)})
			}
		}
	}
	out := &api.RemoveResult{CID: cp.Manifest.String()}
	pending := todo
	for attempt := 0; attempt < rmAttempts && len(pending) > 0; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(rmRetryDelay):
			}
		}
		var deleted int
		pending, deleted = n.deleteShards(ctx, pending)
		out.ShardsDeleted += deleted
	}
	out.ShardsFailed, out.Pending = len(pending), len(pending)

	// Every steward first takes a tombstone (it stops serving the file and will finish any
	// pending delete, then drop the other stewards' copies); only when all of them took it are
	// the manifest copies deleted right away. So a steward that is down now still loses its copy
	// when it returns, from the others' tombstones.
	stewards := stewardsOf(res)
	tok := codec.ManifestDeleteToken(kdel)
	var mu sync.Mutex
	var wg sync.WaitGroup
	unreached := 0
	each := func(list []peer.ID, fn func(ctx context.Context, s peer.ID) error, ok func()) {
		for _, s := range list {
			wg.Go(func() {
				sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				err := fn(sctx, s)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok()
				case deleteSettled(err):
				default:
					unreached++
					n.log.Info("rm: steward did not answer", "steward", s, "err", err)
				}
			})
		}
		wg.Wait()
	}
	tombstone := func(ctx context.Context, s peer.ID) error {
		return n.xfer.Tombstone(ctx, s, cp.Manifest, tok, pending)
	}
	each(stewards, tombstone, func() { out.Tombstones++ })
	if out.Tombstones == 0 {
		return nil, coded(api.CodeInternal, "rm: no steward took the removal over (%d did not answer); run rm again later", unreached)
	}
	if testHookAfterTombstones != nil {
		testHookAfterTombstones(cp.Manifest)
	}
	// A steward that replaced a dead co-steward meanwhile hands the record to a node rm did not
	// know of: look again, and give the tombstone to whoever still serves the file.
	told := map[peer.ID]bool{}
	for _, s := range stewards {
		told[s] = true
	}
	for range rmAttempts {
		again, err := n.resolve(ctx, cp.Manifest, true)
		if err != nil {
			break // nobody serves it any more (or the lookup failed: the stewards finish it)
		}
		var fresh []peer.ID
		for _, s := range stewardsOf(again) {
			if !told[s] {
				told[s] = true
				fresh = append(fresh, s)
			}
		}
		if len(fresh) == 0 {
			break
		}
		stewards = append(stewards, fresh...)
		each(fresh, tombstone, func() { out.Tombstones++ })
	}
	if len(pending) == 0 && unreached == 0 {
		each(stewards, func(ctx context.Context, s peer.ID) error {
			return n.xfer.DeleteManifest(ctx, s, cp.Manifest, tok)
		}, func() { out.ManifestCopies++ })
	}
	out.Complete = len(pending) == 0
	if err := n.uploads.remove(cp.Manifest.String()); err != nil {
		n.log.Warn("rm: update upload list", "err", err)
	}
	return out, nil
}

// stewardsOf is every peer that served the manifest plus the latest appointed steward set.
func stewardsOf(res *resolved) []peer.ID {
	seen := map[peer.ID]bool{}
	var out []peer.ID
	add := func(p peer.ID) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range res.stewards {
		add(p)
	}
	if sets := res.loc.Stewards; len(sets) > 0 {
		for _, p := range sets[len(sets)-1].Members {
			add(p)
		}
	}
	return out
}

// deleteShards tries each delete once, in parallel, and returns the ones to try again: a holder
// that answers "not found" or "not your reference" no longer holds ours, which counts as done.
func (n *Node) deleteShards(ctx context.Context, todo []transfer.PendingDelete) (again []transfer.PendingDelete, deleted int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, d := range todo {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := n.xfer.DeleteShard(dctx, d.Holder, d.Shard, d.Token)
			cancel()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				deleted++
			case deleteSettled(err):
			default:
				n.log.Info("rm: shard not deleted yet", "holder", d.Holder, "cid", d.Shard, "err", err)
				again = append(again, d)
			}
		})
	}
	wg.Wait()
	return again, deleted
}

// deleteSettled reports whether a failed delete still means the holder keeps no reference of ours.
func deleteSettled(err error) bool {
	var re *wire.RemoteError
	if errors.As(err, &re) {
		return re.Code == wire.CodeNotFound || re.Code == wire.CodeForbidden
	}
	return transfer.IsNotFound(err) || errors.Is(err, store.ErrForbidden)
}
