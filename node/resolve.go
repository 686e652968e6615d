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
	m        *manifest.Manifest
	loc      *manifest.Locations
	stewards []peer.ID // peers that served a valid copy
}

// manifestTryTimeout bounds one request for a manifest copy; a dead steward costs no more.
const manifestTryTimeout = 3 * time.Second

// resolve finds manifest c through the DHT: this node's own store, the peers that announced it
// (provider records) and the peers closest to its key (where stewards are placed, so it is found
// even before announcements spread), all asked concurrently as the lookups return them. With all
// set it waits for every answer, for stat and rm; otherwise it returns the first valid copy.
func (n *Node) resolve(ctx context.Context, c cid.Cid, all bool) (*resolved, error) {
	res := &resolved{}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type attempt struct {
		p   peer.ID
		m   *manifest.Manifest
		loc *manifest.Locations
		err error
	}
	// Sized for every peer two lookups of 20 can return, plus self, so no sender ever blocks.
	results := make(chan attempt, 64)
	tried := map[peer.ID]bool{}
	inflight := 0
	launch := func(p peer.ID) {
		if tried[p] || len(tried) >= cap(results) {
			return
		}
		tried[p] = true
		inflight++
		go func() {
			tctx, tcancel := context.WithTimeout(ctx, manifestTryTimeout)
			defer tcancel()
			m, loc, err := n.fetchManifest(tctx, p, c)
			results <- attempt{p, m, loc, err}
		}()
	}
	if n.store.Has(c) {
		launch(n.host.ID())
	}

	providers := make(chan peer.ID)
	go func() {
		defer close(providers)
		pctx, pcancel := context.WithTimeout(ctx, lookupTimeout)
		defer pcancel()
		for ai := range n.dht.FindProvidersAsync(pctx, c, 20) {
			if ai.ID != n.host.ID() && len(ai.Addrs) > 0 {
				n.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
			}
			select {
			case providers <- ai.ID:
			case <-ctx.Done(): // keep draining: kad-dht stalls a query whose channel is not read
			}
		}
	}()
	closest := make(chan peer.ID)
	go func() {
		defer close(closest)
		cctx, ccancel := context.WithTimeout(ctx, lookupTimeout)
		ps, _ := dht.Stewards(cctx, n.dht, dht.Key(c), 20)
		ccancel()
		for _, p := range ps {
			select {
			case closest <- p:
			case <-ctx.Done():
				return
			}
		}
	}()

	for providers != nil || closest != nil || inflight > 0 {
		select {
		case p, ok := <-providers:
			if !ok {
				providers = nil
				continue
			}
			launch(p)
		case p, ok := <-closest:
			if !ok {
				closest = nil
				continue
			}
			launch(p)
		case a := <-results:
			inflight--
			if a.err != nil {
				n.log.Debug("manifest copy unusable", "peer", a.p, "cid", c, "err", a.err)
				continue
			}
			res.stewards = append(res.stewards, a.p)
			// Prefer the newest locations record: a repair may have moved shards since.
			if res.m == nil || a.loc.Seq > res.loc.Seq {
				res.m, res.loc = a.m, a.loc
			}
			if !all {
				return res, nil
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if res.m == nil {
		return nil, coded(api.CodeNotFound, "manifest %s not found: none of the %d nodes asked holds it (wrong capability, removed, or its stewards are down)", c, len(tried))
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
