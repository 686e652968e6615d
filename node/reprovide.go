package node

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/ipfs/go-cid"
)

// Stewards re-announce the manifests they keep once the node has joined and then periodically:
// kad-dht provider records expire after 48 h, and those held by a restarted node are gone.
const (
	reprovideConc    = 8                // concurrent DHT provides
	reprovideTimeout = 30 * time.Second // one provide: a lookup and a few puts
)

// isManifestCID reports whether c names a manifest (either manifest format) rather than a shard.
func isManifestCID(c cid.Cid) bool {
	switch c.Type() {
	case codec.CodecJSON, codec.CodecCBOR:
		return true
	}
	return false
}

// reprovideLoop announces every kept manifest once the node has joined, then every interval,
// until the node closes.
func (n *Node) reprovideLoop(every time.Duration) {
	select {
	case <-n.joined:
	case <-n.ctx.Done():
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		provided, failed, err := n.reprovide(n.ctx)
		if n.ctx.Err() != nil {
			return
		}
		if err != nil {
			n.log.Warn("reprovide: list manifests", "err", err)
		}
		n.log.Debug("reprovided manifests", "provided", provided, "failed", failed)
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reprovide announces this node as a provider of every manifest in its store, reprovideConc at
// a time, and returns how many announcements succeeded and failed. It streams the store, so
// memory does not grow with the number of manifests.
func (n *Node) reprovide(ctx context.Context) (provided, failed int, err error) {
	var ok, bad atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, reprovideConc)
	err = n.store.List(func(c cid.Cid, _ int64) error {
		if !isManifestCID(c) {
			return ctx.Err()
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			pctx, cancel := context.WithTimeout(ctx, reprovideTimeout)
			defer cancel()
			if err := n.dht.Provide(pctx, c, true); err != nil {
				bad.Add(1)
				if !errors.Is(err, context.Canceled) {
					n.log.Debug("reprovide manifest", "cid", c, "err", err)
				}
				return
			}
			ok.Add(1)
		}()
		return nil
	})
	wg.Wait()
	return int(ok.Load()), int(bad.Load()), err
}
