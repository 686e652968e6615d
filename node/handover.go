package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/dht"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/libp2p/go-libp2p/core/peer"
)

// handOverStewardship replaces this node, in every file it stewards, by the closest node to the
// manifest that is not a steward yet: a majority of the current set signs the next epoch, and
// the new steward gets the manifest and the record with the longer chain.
func (n *Node) handOverStewardship(ctx context.Context) error {
	var errs []error
	self := n.host.ID()
	_ = n.forEachStewarded(func(f stewardedFile) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(f.loc.Stewards) == 0 {
			return nil
		}
		cur := f.loc.Stewards[len(f.loc.Stewards)-1]
		if !slices.Contains(cur.Members, self) {
			return nil // already handed over
		}
		if err := n.replaceSteward(ctx, f, self); err != nil {
			errs = append(errs, fmt.Errorf("stewardship of %s: %w", f.mc, err))
		}
		return nil
	})
	return errors.Join(errs...)
}

// replaceSteward proposes the latest steward set of f without gone plus the closest node to the
// manifest outside it, gathers a majority's signatures and hands the record to every member.
func (n *Node) replaceSteward(ctx context.Context, f stewardedFile, gone peer.ID) error {
	cur := f.loc.Stewards[len(f.loc.Stewards)-1]
	if len(f.loc.Stewards) >= manifest.MaxStewardEpochs {
		return fmt.Errorf("the steward chain is full (%d epochs)", manifest.MaxStewardEpochs)
	}
	hctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	members := slices.DeleteFunc(slices.Clone(cur.Members), func(p peer.ID) bool { return p == gone })
	if next, ok := n.nextSteward(hctx, f, cur.Members); ok {
		members = append(members, next)
	}
	if len(members) == 0 {
		return errors.New("no node left to take over")
	}
	set, err := transfer.GatherSetSignatures(hctx, n.xfer, n.host.ID(), n.priv, f.m, f.mc, f.loc.Stewards, members)
	if err != nil {
		return err
	}
	loc := manifest.NewLocations(f.mc)
	loc.Stewards = append(slices.Clone(f.loc.Stewards), set)
	for _, e := range f.loc.Entries {
		loc.Add(e)
	}
	body, err := f.m.Encode()
	if err != nil {
		return err
	}
	locBytes, err := loc.Encode()
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	took := 0
	for _, p := range set.Members {
		wg.Go(func() {
			if err := n.xfer.PutManifest(hctx, p, f.mc, body, locBytes); err != nil {
				n.log.Info("steward did not take the handed-over record", "peer", p, "err", err)
				return
			}
			mu.Lock()
			took++
			mu.Unlock()
		})
	}
	wg.Wait()
	if took == 0 {
		return errors.New("no member of the new steward set took the record")
	}
	n.log.Info("stewardship handed over", "manifest", f.mc, "epoch", set.Epoch, "left", gone)
	return nil
}

// nextSteward is the closest live node to f's manifest outside members and not exiting.
func (n *Node) nextSteward(ctx context.Context, f stewardedFile, members []peer.ID) (peer.ID, bool) {
	key := dht.Key(f.mc)
	closest, _ := n.dht.GetClosestPeers(ctx, key)
	for _, p := range dht.Closest(closest, key, len(closest)) {
		if p == n.host.ID() || slices.Contains(members, p) {
			continue
		}
		ictx, cancel := context.WithTimeout(ctx, infoTimeout)
		info, err := n.xfer.Info(ictx, p)
		cancel()
		if err == nil && info.Free > 0 && !n.health.isDown(p) {
			return p, true
		}
	}
	return "", false
}

// stewardProbeGrace is how long a steward must stay unreachable before its co-stewards replace it.
func (n *Node) stewardProbeGrace() time.Duration { return 3 * n.repo.Config.Intervals.Repair.D() }
