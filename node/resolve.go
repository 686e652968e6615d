package node

import (
	"context"
	"fmt"
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

// resolved is a manifest found in the network, checked against its CID, with its locations: the
// merge of every copy received, keeping only holders whose receipts are validly endorsed, so a
// peer that serves a forged or stale record can neither add holders nor hide real ones.
type resolved struct {
	m        *manifest.Manifest
	loc      *manifest.Locations
	stewards []peer.ID // peers that served a valid copy
}

// covers reports whether loc names a holder for at least k shards of every segment: enough for
// get to start. A record that covers less may be a steward withholding; get waits for more copies.
func covers(m *manifest.Manifest, loc *manifest.Locations) bool {
	for s := range m.Segments {
		known := 0
		for i := range m.N {
			if len(loc.Holders(s, i, m.N)) > 0 {
				known++
			}
		}
		if known < m.K {
			return false
		}
	}
	return true
}

// manifestTryTimeout bounds one request for a manifest copy; a dead steward costs no more.
const manifestTryTimeout = 3 * time.Second

// resolve finds manifest c through the DHT: this node's own store, the peers that announced it
// (provider records) and the peers closest to its key (where stewards are placed, so it is found
// even before announcements spread), all asked concurrently as the lookups return them. With all
// set it waits for every answer, for stat and rm; otherwise it returns as soon as the copies merged
// so far name holders for k shards of every segment.
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
			if res.m == nil {
				res.m, res.loc = a.m, manifest.NewLocations(c)
			}
			// Merge keeps only validly endorsed receipts, newest per holder, from every copy.
			res.loc = manifest.Merge(res.m, res.loc, a.loc)
			if !all && covers(res.m, res.loc) {
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
	if len(locBytes) > manifest.MaxLocationsSize(m) {
		return nil, nil, fmt.Errorf("locations record of %d bytes exceeds %d for this manifest", len(locBytes), manifest.MaxLocationsSize(m))
	}
	loc, err := manifest.DecodeLocations(locBytes)
	if err != nil {
		return nil, nil, err
	}
	if !loc.Manifest.Equals(c) {
		return nil, nil, fmt.Errorf("locations record names %s, not %s", loc.Manifest, c)
	}
	// Entries are checked one by one when merged: an invalid one is dropped, not fatal, so a
	// steward that stored junk still contributes its valid receipts.
	return m, loc, nil
}
