package node

import (
	"context"
	"errors"
	"time"

	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/cairn-storage/cairn/reputation"
	"github.com/libp2p/go-libp2p/core/peer"
)

// observeTransfer feeds one shard transfer with p into the reputation book. Bytes that do not
// match their CID are a lie and count as a failed audit; a refusal or a broken transfer counts
// against availability (the suspension score); running out of room or memory counts as
// nothing, and neither does our own cancellation.
func (n *Node) observeTransfer(ctx context.Context, p peer.ID, bytes int64, took time.Duration, err error) {
	if p == n.host.ID() {
		return
	}
	switch {
	case err == nil:
		var tput int64
		if took > 0 {
			tput = int64(float64(bytes) / took.Seconds())
		}
		n.scores.observe(p, reputation.TransferOK, tput)
	case errors.Is(err, transfer.ErrCorrupt):
		n.scores.observe(p, reputation.AuditFail, 0)
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		// cancelled by us (enough shards already, or the user stopped)
	case wire.IsCode(err, wire.CodeBusy), wire.IsCode(err, wire.CodeQuota), wire.IsCode(err, wire.CodeFull),
		wire.IsCode(err, wire.CodePaymentRequired): // our debt, not the holder's fault
	default:
		n.scores.observe(p, reputation.TransferFail, 0)
	}
}
