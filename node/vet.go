package node

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"

	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/ipfs/go-cid"
)

// vetEntry is this steward's condition for endorsing a receipt another steward brings (after a
// repair or an exit): it audits the holder itself on every position the holder did not already
// hold in this node's record. So a lone steward cannot get a majority to vouch for a holder that
// does not have the bytes.
func (n *Node) vetEntry(ctx context.Context, m *manifest.Manifest, mc cid.Cid, e manifest.Entry) error {
	h := e.Receipt.Holder
	var old []uint32
	if _, loc, err := n.stewards.Record(mc); err == nil {
		old = loc.Positions(h)
	}
	var items []transfer.AuditItem
	for _, p := range e.Receipt.Positions {
		if _, ok := slices.BinarySearch(old, p); ok {
			continue
		}
		c, size, _, ok := shardAt(m, p)
		if !ok {
			return fmt.Errorf("position %d is outside the manifest", p)
		}
		items = append(items, transfer.AuditItem{Shard: c, Size: size})
	}
	if len(items) > transfer.MaxAuditItems {
		items = items[:transfer.MaxAuditItems]
	}
	if len(items) == 0 || h == n.host.ID() {
		return nil
	}
	var nonce [32]byte
	_, _ = rand.Read(nonce[:])
	verdicts, err := n.xfer.Audit(ctx, h, nonce, n.repo.Config.Maintenance.AuditRanges, items)
	if err != nil {
		return fmt.Errorf("audit of the new holder got no answer: %w", err)
	}
	for i, v := range verdicts {
		if v != transfer.AuditPassed {
			return fmt.Errorf("new holder failed the audit of %s", items[i].Shard)
		}
	}
	return nil
}
