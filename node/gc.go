package node

import (
	"context"
	"fmt"
	"time"

	"github.com/cairn-storage/cairn/node/store"
	"github.com/ipfs/go-cid"
)

// gcBatch bounds how many expired references one pass handles, so a pass stays short.
const gcBatch = 4096

// gcStrikes is how many consecutive passes must fail to find a claimed shard's manifest before
// the shard is dropped: one failed lookup may be a partition, not a dead put.
const gcStrikes = 2

// collector drops shards that no published manifest references: what an uploader placed before
// it died mid-put (no receipt: no manifest named), or claimed for a manifest that never reached
// its stewards. A shard whose manifest is found is confirmed and kept for good.
type collector struct {
	n       *Node
	strikes map[string]int // in memory: a restart only delays collection, never hastens it
}

func (n *Node) startCollector() {
	c := &collector{n: n, strikes: map[string]int{}}
	lease := time.Duration(n.repo.Config.Intervals.OrphanLease)
	n.runChore("gc", max(lease/2, time.Second), c.pass)
}

type expiredRef struct {
	c   cid.Cid
	ref store.Ref
}

// pass handles every reference whose lease has run out.
func (g *collector) pass(ctx context.Context) {
	n := g.n
	var refs []expiredRef
	err := n.store.Expired(time.Now().Unix(), func(c cid.Cid, ref store.Ref) error {
		refs = append(refs, expiredRef{c, ref})
		if len(refs) >= gcBatch {
			return errStopWalk
		}
		return nil
	})
	if err != nil && err != errStopWalk {
		n.log.Warn("gc: list expired shards", "err", err)
		return
	}
	published := map[string]bool{} // manifest CID bytes -> found, once per pass
	for _, e := range refs {
		if ctx.Err() != nil {
			return
		}
		key := e.c.KeyString() + string(e.ref.DeleteHash[:])
		if e.ref.Manifest == nil {
			g.drop(e, "no manifest ever named it")
			continue
		}
		found, ok := published[string(e.ref.Manifest)]
		if !ok {
			found = g.published(ctx, e.ref.Manifest, e.c)
			published[string(e.ref.Manifest)] = found
		}
		if found {
			delete(g.strikes, key)
			if err := n.store.Confirm(e.c, e.ref.DeleteHash); err != nil {
				n.log.Debug("gc: confirm", "cid", e.c, "err", err)
			}
			continue
		}
		g.strikes[key]++
		if g.strikes[key] >= gcStrikes {
			delete(g.strikes, key)
			g.drop(e, "its manifest is not in the network")
			continue
		}
		lease := time.Now().Add(time.Duration(n.repo.Config.Intervals.OrphanLease)).Unix()
		if err := n.store.Claim(e.c, e.ref.DeleteHash, e.ref.Manifest, lease); err != nil {
			n.log.Debug("gc: extend lease", "cid", e.c, "err", err)
		}
	}
}

func (g *collector) drop(e expiredRef, why string) {
	if err := g.n.store.DropRef(e.c, e.ref.DeleteHash); err != nil {
		g.n.log.Debug("gc: drop", "cid", e.c, "err", err)
		return
	}
	g.n.log.Info("gc: collected unreferenced shard", "cid", e.c, "account", e.ref.Account, "why", why)
}

// published reports whether manifest mcBytes is served by its stewards and lists this node as a
// holder of shard c.
func (g *collector) published(ctx context.Context, mcBytes []byte, c cid.Cid) bool {
	mc, err := cid.Cast(mcBytes)
	if err != nil {
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := g.n.resolve(rctx, mc, true)
	if err != nil {
		return false
	}
	self := g.n.host.ID()
	for si, seg := range res.m.Segments {
		for i, sc := range seg.Shards {
			if !sc.Equals(c) {
				continue
			}
			for _, h := range res.loc.Holders(si, i, res.m.N) {
				if h == self {
					return true
				}
			}
		}
	}
	return false
}

var errStopWalk = fmt.Errorf("stop walk")
