package node

import (
	"context"
	"time"

	"github.com/cairn-storage/cairn/dht"
	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

// lookupTimeout bounds the DHT lookups that find a manifest's stewards.
const lookupTimeout = 20 * time.Second

// resolved is a manifest found in the network, checked against its CID, with its locations.
type resolved struct {
	cid      cid.Cid
	m        *manifest.Manifest
	loc      *manifest.Locations
	stewards []peer.ID // peers that served a valid copy
	asked    int
}

// resolve finds manifest c through the DHT: this node's own store, then the peers that announced
// it (provider records), then the peers closest to its key (where stewards are placed, so it is
// found even before announcements spread). With all set it asks every candidate, for stat and rm;
// otherwise it stops at the first valid copy.
func (n *Node) resolve(ctx context.Context, c cid.Cid, all bool) (*resolved, error) {
	res := &resolved{cid: c}
	tried := map[peer.ID]bool{}
	try := func(p peer.ID) bool {
		if tried[p] {
			return false
		}
		tried[p] = true
		res.asked++
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		m, loc, err := n.fetchManifest(tctx, p, c)
		if err != nil {
			n.log.Debug("manifest copy unusable", "peer", p, "cid", c, "err", err)
			return false
		}
		res.stewards = append(res.stewards, p)
		// Prefer the newest locations record: a repair may have moved shards since.
		if res.m == nil || loc.Seq > res.loc.Seq {
			res.m, res.loc = m, loc
		}
		return !all
	}
	if n.store.Has(c) && try(n.host.ID()) {
		return res, nil
	}

	pctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	ch := n.dht.FindProvidersAsync(pctx, c, 20)
	done := false
	for ai := range ch {
		if done {
			continue // drain: kad-dht stalls a query whose channel is not read
		}
		if ai.ID != n.host.ID() && len(ai.Addrs) > 0 {
			n.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
		}
		if try(ai.ID) {
			done = true
			cancel()
		}
	}
	cancel()
	if done {
		return res, nil
	}

	cctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	closest, _ := dht.Stewards(cctx, n.dht, dht.Key(c), 20)
	cancel()
	for _, p := range closest {
		if try(p) {
			return res, nil
		}
	}
	if res.m == nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, coded(api.CodeNotFound, "manifest %s not found: none of the %d nodes asked holds it (wrong capability, removed, or its stewards are down)", c, res.asked)
	}
	return res, nil
}

// fetchManifest gets one copy of manifest c from p and checks it end to end.
func (n *Node) fetchManifest(ctx context.Context, p peer.ID, c cid.Cid) (*manifest.Manifest, *manifest.Locations, error) {
	body, locBytes, err := n.xfer.GetManifest(ctx, p, c)
	if err != nil {
		return nil, nil, err
	}
	if err := manifest.Verify(c, body); err != nil {
		return nil, nil, err
	}
	m, err := manifest.Decode(body)
	if err != nil {
		return nil, nil, err
	}
	loc, err := manifest.DecodeLocations(locBytes)
	if err != nil {
		return nil, nil, err
	}
	if !loc.Manifest.Equals(c) {
		return nil, nil, coded(api.CodeInternal, "locations record names %s, not %s", loc.Manifest, c)
	}
	if err := loc.Verify(); err != nil {
		return nil, nil, err
	}
	if err := loc.CheckAgainst(m); err != nil {
		return nil, nil, err
	}
	return m, loc, nil
}
