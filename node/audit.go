package node

import (
	"context"
	"crypto/rand"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/cairn-storage/cairn/reputation"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// auditConcurrency bounds the holders audited at once.
const auditConcurrency = 8

// auditTimeout bounds one holder's answer to a batch of audits.
const auditTimeout = 30 * time.Second

// auditRound audits, as a steward, every holder of every file this node stewards: one random
// shard per (file, holder) pair, batched per holder, each checked against its CID alone with
// ranges drawn from a fresh nonce (transfer.Audit). Answers feed the reputation book and the
// steward's view of which shards are healthy; a holder that does not answer is marked down and
// charged a timeout (its suspension score), not a lie.
func (n *Node) auditRound(ctx context.Context) {
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 0x617564))
	byHolder := map[peer.ID][]transfer.AuditItem{}
	seen := map[peer.ID]map[cid.Cid]bool{}
	self := n.host.ID()
	_ = n.forEachStewarded(func(f stewardedFile) error {
		for _, e := range f.loc.Entries {
			h, ps := e.Receipt.Holder, e.Receipt.Positions
			if h == self || len(ps) == 0 {
				continue
			}
			c, size, _, ok := shardAt(f.m, ps[rng.IntN(len(ps))])
			if !ok || seen[h][c] {
				continue
			}
			if seen[h] == nil {
				seen[h] = map[cid.Cid]bool{}
			}
			seen[h][c] = true
			byHolder[h] = append(byHolder[h], transfer.AuditItem{Shard: c, Size: size})
		}
		return ctx.Err()
	})
	sem := make(chan struct{}, auditConcurrency)
	var wg sync.WaitGroup
	for h, items := range byHolder {
		if len(items) > transfer.MaxAuditItems {
			rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
			items = items[:transfer.MaxAuditItems]
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			n.auditHolder(ctx, h, items)
		})
	}
	wg.Wait()
}

// auditHolder audits one holder on items and records the outcome.
func (n *Node) auditHolder(ctx context.Context, h peer.ID, items []transfer.AuditItem) {
	var nonce [32]byte
	_, _ = rand.Read(nonce[:])
	actx, cancel := context.WithTimeout(ctx, auditTimeout)
	verdicts, err := n.xfer.Audit(actx, h, nonce, n.repo.Config.Maintenance.AuditRanges, items)
	cancel()
	now := time.Now()
	if err != nil {
		if ctx.Err() != nil {
			return // we are stopping; the holder did nothing wrong
		}
		n.log.Debug("audit got no answer", "holder", h, "err", err)
		n.scores.observe(h, reputation.AuditTimeout, 0)
		n.health.unreachable(h, now)
		n.attests.missed(h, items, now)
		return
	}
	shards := make([]cid.Cid, len(items))
	passed := make([]bool, len(items))
	for i, v := range verdicts {
		shards[i] = items[i].Shard
		passed[i] = v == transfer.AuditPassed
		if passed[i] {
			n.scores.observe(h, reputation.AuditPass, 0)
		} else {
			n.scores.observe(h, reputation.AuditFail, 0)
			n.log.Info("holder failed an audit", "holder", h, "shard", items[i].Shard)
		}
	}
	n.health.answered(h, shards, passed, now)
	n.attests.audited(h, shards, passed, now)
}
