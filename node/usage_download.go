package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/cairn-storage/cairn/payments"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Download receipts: after a get, the reader asks each holder that served it a shard to
// countersign a payments.Download for it, and appends the countersigned ones to its own chain.
// The owner is charged for that egress and the holder and partner paid at settlement; a holder
// that refuses simply earns no receipt.

const (
	// maxReceiptsPerGet bounds the shards one get remembers for receipts (40 bytes each). A
	// server remembers no more sendings in all (transfer.MaxServed), and at most
	// MaxServedPerPeer to one reader, for an hour: gets past those bounds earn fewer receipts.
	maxReceiptsPerGet = 64 << 10
	// receiptTimeout bounds the receipts of one get, countersigning and appending.
	receiptTimeout = time.Minute
	// receiptParallel bounds the servers asked at once for one get.
	receiptParallel = 8
	// receiptRetries is how often a server that answered busy is asked again, receiptBackoff
	// apart (times the attempt).
	receiptRetries = 3
	receiptBackoff = 500 * time.Millisecond
)

// fetchedShard is one shard a get received whole and verified from another node.
type fetchedShard struct {
	holder peer.ID
	shard  cid.Cid
	size   int64
}

// receiptStats counts download receipts, for tests and diagnostics.
type receiptStats struct {
	appended atomic.Int64 // countersigned and stored on this node's chain
	refused  atomic.Int64 // refused by their server, or by the ledger
	failed   atomic.Int64 // lost with a failed exchange (server unreachable, timeout)
}

// noteFetched remembers that holder served shard c (size bytes) whole and verified. Shards
// this node read from its own store earn no receipt.
func (g *getter) noteFetched(holder peer.ID, c cid.Cid, size int64) {
	if holder == g.n.host.ID() {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.fetched) < maxReceiptsPerGet {
		g.fetched = append(g.fetched, fetchedShard{holder, c, size})
	}
}

// receiptDownloads gets the receipts of a finished get countersigned and appended, in the
// background so that the get returns at once.
func (n *Node) receiptDownloads(m *manifest.Manifest, mc cid.Cid, g *getter) {
	g.mu.Lock()
	got := g.fetched
	g.fetched = nil
	g.mu.Unlock()
	if n.receiptsOff || len(got) == 0 || n.ctx.Err() != nil {
		return
	}
	// The ledger names accounts by Ed25519 keys only: an owner with another key cannot be charged.
	if pk, err := m.Owner.ExtractPublicKey(); err != nil || pk.Type() != pb.KeyType_Ed25519 {
		n.log.Debug("download receipts: owner is not an Ed25519 peer", "manifest", mc, "owner", m.Owner)
		return
	}
	bySrv := map[peer.ID][]fetchedShard{}
	for _, f := range got {
		bySrv[f.holder] = append(bySrv[f.holder], f)
	}
	n.wg.Go(func() {
		ctx, cancel := context.WithTimeout(n.ctx, receiptTimeout)
		defer cancel()
		sem := make(chan struct{}, receiptParallel)
		var wg sync.WaitGroup
		for srv, fs := range bySrv {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				// One request's worth at a time, so a huge get holds few bodies at once.
				for len(fs) > 0 && ctx.Err() == nil {
					batch := fs[:min(len(fs), transfer.MaxCountersign)]
					fs = fs[len(batch):]
					n.receiptFrom(ctx, srv, n.downloadBodies(m, mc, batch))
				}
			})
		}
		wg.Wait()
	})
}

// downloadBodies are this node's receipts, not yet countersigned, for fs of manifest mc.
func (n *Node) downloadBodies(m *manifest.Manifest, mc cid.Cid, fs []fetchedShard) []*payments.Download {
	out := make([]*payments.Download, len(fs))
	for i, f := range fs {
		out[i] = &payments.Download{
			Server: []byte(f.holder), Manifest: mc.Bytes(), Shard: f.shard.Bytes(),
			Owner: []byte(m.Owner), Partner: m.Partner, Bytes: f.size, ShardSize: f.size,
			Nonce: make([]byte, payments.NonceSize), Downloader: []byte(n.host.ID()),
		}
		_, _ = rand.Read(out[i].Nonce) // crypto/rand.Read never fails
	}
	return out
}

// receiptFrom gets bodies countersigned by srv, asking again while it is busy, and appends
// those it signed.
func (n *Node) receiptFrom(ctx context.Context, srv peer.ID, bodies []*payments.Download) {
	var err error
	for attempt := 0; ; attempt++ {
		var todo []*payments.Download
		for _, d := range bodies {
			if d.ServerSig == nil {
				todo = append(todo, d)
			}
		}
		err = n.xfer.Countersign(ctx, srv, todo)
		if !wire.IsCode(err, wire.CodeBusy) || attempt == receiptRetries {
			break
		}
		select {
		case <-time.After(time.Duration(attempt+1) * receiptBackoff):
		case <-ctx.Done():
		}
	}
	var signed []any
	for _, d := range bodies {
		if d.ServerSig != nil {
			signed = append(signed, d)
		}
	}
	lost := int64(len(bodies) - len(signed))
	var refusals transfer.CountersignRefusals
	if errors.As(err, &refusals) {
		n.receiptStats.refused.Add(lost)
		n.log.Debug("download receipts refused", "server", srv, "refused", lost, "err", err)
	} else if err != nil {
		n.receiptStats.failed.Add(lost)
		n.log.Debug("download receipts: countersign failed", "server", srv, "lost", lost, "err", err)
	}
	n.appendReceipts(signed)
}

// appendReceipts stores countersigned receipts on this node's chain. A body the validator
// refuses (it should not: the server checked the same rules) is skipped and the rest still go in.
func (n *Node) appendReceipts(bodies []any) {
	for len(bodies) > 0 {
		out, err := n.led.AppendOwn(payments.KindDownload, bodies...)
		n.receiptStats.appended.Add(int64(len(out)))
		if err == nil {
			return
		}
		if payments.ReasonOf(err) == "" || len(out) >= len(bodies) {
			n.receiptStats.failed.Add(int64(len(bodies) - len(out)))
			n.log.Warn("download receipts not stored", "receipts", len(bodies)-len(out), "err", err)
			return
		}
		n.receiptStats.refused.Add(1)
		n.log.Warn("download receipt refused by the ledger", "err", err)
		bodies = bodies[len(out)+1:]
	}
}

// vetReceipt lets this node countersign only a receipt that names a manifest one of the
// shard's references here is tied to: a reader cannot move its egress to another file. The
// owner is the manifest's, which a holder does not keep; stewards have it (see README limits).
func (n *Node) vetReceipt(d *payments.Download, shard cid.Cid) error {
	refs, err := n.store.Refs(shard)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if bytes.Equal(r.Manifest, d.Manifest) {
			return nil
		}
	}
	return errors.New("the receipt names a manifest this shard is not held for")
}
