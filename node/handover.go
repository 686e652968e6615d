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
	"github.com/ipfs/go-cid"
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
		// A file being removed needs no new steward: the tombstones finish it.
		if err := n.replaceSteward(ctx, f, self); err != nil && !errors.Is(err, errRemoving) {
			errs = append(errs, fmt.Errorf("stewardship of %s: %w", f.mc, err))
		}
		return nil
	})
	return errors.Join(errs...)
}

// errRemoving: the file has a tombstone here, so it gets no new steward.
var errRemoving = errors.New("the file is being removed")

// replaceSteward proposes the latest steward set of f without gone plus the closest node to the
// manifest outside it, gathers a majority's signatures and hands the record to every member.
func (n *Node) replaceSteward(ctx context.Context, f stewardedFile, gone peer.ID) error {
	cur := f.loc.Stewards[len(f.loc.Stewards)-1]
	if _, removed := n.stewards.RemovalOf(f.mc); removed {
		return errRemoving
	}
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
	// rm may have reached this node while it handed the record over: the new member never got
	// rm's tombstone, so pass ours on, or it would serve a removed file.
	if r, removed := n.stewards.RemovalOf(f.mc); removed {
		n.forwardTombstone(hctx, r, set.Members)
		return errRemoving
	}
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

// vetStewardSet is this steward's condition for signing the next steward set another steward
// proposes: it differs from the current one by at most one member out and one in; the one
// leaving is unreachable from here too, or says it is exiting (it advertises no free space);
// the one joining answers.
func (n *Node) vetStewardSet(ctx context.Context, _ *manifest.Manifest, _ cid.Cid, cur, next manifest.StewardSet) error {
	var out, in []peer.ID
	for _, p := range cur.Members {
		if !slices.Contains(next.Members, p) {
			out = append(out, p)
		}
	}
	for _, p := range next.Members {
		if !slices.Contains(cur.Members, p) {
			in = append(in, p)
		}
	}
	if len(out) > 1 || len(in) > 1 {
		return fmt.Errorf("a handover replaces one steward at a time, not %d out and %d in", len(out), len(in))
	}
	for _, p := range out {
		if p == n.host.ID() {
			if !n.exiting() {
				return errors.New("this steward is not leaving")
			}
			continue
		}
		ictx, cancel := context.WithTimeout(ctx, infoTimeout)
		info, err := n.xfer.Info(ictx, p)
		cancel()
		if err == nil && info.Free > 0 {
			return fmt.Errorf("steward %s still answers and is not exiting", p.ShortString())
		}
	}
	for _, p := range in {
		ictx, cancel := context.WithTimeout(ctx, infoTimeout)
		_, err := n.xfer.Info(ictx, p)
		cancel()
		if err != nil {
			return fmt.Errorf("new steward %s does not answer: %w", p.ShortString(), err)
		}
	}
	return nil
}

// checkStewards replaces, in f, a co-steward that has not answered for stewardProbeGrace. Only
// the first live steward in rendezvous order acts, so co-stewards do not race.
func (n *Node) checkStewards(ctx context.Context, f stewardedFile, alive func(peer.ID) bool) {
	if len(f.loc.Stewards) == 0 {
		return
	}
	cur := f.loc.Stewards[len(f.loc.Stewards)-1]
	if !slices.Contains(cur.Members, n.host.ID()) {
		return
	}
	var live []peer.ID
	var dead peer.ID
	for _, p := range cur.Members {
		if p == n.host.ID() || alive(p) {
			live = append(live, p)
		} else if dead == "" && n.health.downFor(p) >= n.stewardProbeGrace() {
			dead = p
		}
	}
	if dead == "" || stewardRank(f.mc, live, n.host.ID()) != 0 || 2*(len(live)-1) < len(cur.Members)-1 {
		return
	}
	if err := n.replaceSteward(ctx, f, dead); err != nil && !errors.Is(err, errRemoving) {
		n.log.Info("could not replace a dead steward", "manifest", f.mc, "steward", dead, "err", err)
	}
}
