package node

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/dht"
	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// publishTimeout bounds the whole publication: receipts, stewards and confirmations.
const publishTimeout = 60 * time.Second

// receiptConcurrency bounds parallel receipt and confirm requests during a put.
const receiptConcurrency = 16

// publish builds the manifest, gathers every holder's signed storage receipt, endorses them as the
// file's owner, appoints the stewards and hands manifest and locations record to them. Only then
// is the file visible. Last, it asks the holders to keep their shards for good; a holder that
// misses that call confirms by itself once it finds the manifest in the network.
func (j *putJob) publish(ctx context.Context, key codec.Key, size int64, name string) (*api.PutResult, error) {
	n := j.n
	meta, err := manifest.SealMeta(key, manifest.Meta{Name: name})
	if err != nil {
		return nil, coded(api.CodeBadRequest, "%v", err)
	}
	m := &manifest.Manifest{
		Version: manifest.Version, Size: size, SegmentSize: int64(j.p.SegmentSize),
		K: j.p.K, N: j.p.N, Cipher: manifest.CipherAES256GCM, Owner: n.host.ID(), Partner: j.partner, Meta: meta,
		DeleteHash: codec.DeleteHash(codec.ManifestDeleteToken(j.kdel)), Segments: j.segs,
	}
	body, err := m.Encode()
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	mc := manifest.CID(body)
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()

	byHolder := j.itemsByHolder(m)
	entries, err := j.receipts(ctx, m, mc, byHolder)
	if err != nil {
		return nil, err
	}
	stewards, err := dht.Stewards(ctx, n.dht, dht.Key(mc), n.repo.Config.Put.ManifestReplicas)
	if err != nil {
		stewards = []peer.ID{n.host.ID()}
	}
	loc := manifest.NewLocations(mc)
	set := manifest.StewardSet{Epoch: 0, Members: slices.Clone(stewards)}
	slices.Sort(set.Members)
	if err := set.SignBy(n.priv, mc); err != nil {
		return nil, err
	}
	loc.Stewards = []manifest.StewardSet{set}
	for _, e := range entries {
		loc.Add(e)
	}
	locBytes, err := loc.Encode()
	if err != nil {
		return nil, fmt.Errorf("encode locations: %w", err)
	}

	var (
		mu sync.Mutex
		ok []peer.ID
		wg sync.WaitGroup
	)
	j.mu.Lock()
	if j.aborted {
		j.mu.Unlock()
		return nil, context.Canceled
	}
	j.inflight.Add(len(stewards)) // an abort waits for these copies, then takes them back
	j.mu.Unlock()
	for _, p := range stewards {
		wg.Go(func() {
			defer j.inflight.Done()
			if err := n.xfer.PutManifest(ctx, p, mc, body, locBytes); err != nil {
				n.log.Info("steward refused manifest", "peer", p, "err", err)
				return
			}
			mu.Lock()
			ok = append(ok, p)
			mu.Unlock()
			// Recorded at once, so a put aborted from here on takes this copy back too.
			j.mu.Lock()
			j.stored = append(j.stored, storedShard{holder: p, cid: mc})
			j.mu.Unlock()
		})
	}
	wg.Wait()
	// A manifest on one node is a single point of loss; ask for at least two copies whenever the
	// network has two nodes.
	need := min(2, len(stewards))
	if len(ok) < need {
		return nil, fmt.Errorf("manifest kept by %d of %d stewards, need %d", len(ok), len(stewards), need)
	}
	j.confirm(ctx, mc, byHolder)

	c := manifest.Capability{Manifest: mc, Key: key}
	if err := n.uploads.add(api.ListEntry{Cap: c.String(), CID: mc.String(), Name: name, Size: size, Created: time.Now().Unix()}); err != nil {
		n.log.Warn("record upload for ls", "err", err)
	}
	return &api.PutResult{Cap: c.String(), CID: mc.String(), Size: size, K: j.p.K, N: j.p.N, Segments: len(j.segs), Stewards: len(ok)}, nil
}

// itemsByHolder lists, per holder, the shards it took, in position order.
func (j *putJob) itemsByHolder(m *manifest.Manifest) map[peer.ID][]transfer.ReceiptItem {
	out := map[peer.ID][]transfer.ReceiptItem{}
	for s, hs := range j.holders {
		seg := m.Segments[s]
		for i, h := range hs {
			out[h] = append(out[h], transfer.ReceiptItem{
				Position: uint32(s*m.N + i), Shard: seg.Shards[i], DeleteHash: seg.DeleteHashes[i],
			})
		}
	}
	return out
}

// receipts asks every holder to sign for its shards and endorses each receipt as the owner.
func (j *putJob) receipts(ctx context.Context, m *manifest.Manifest, mc cid.Cid, byHolder map[peer.ID][]transfer.ReceiptItem) ([]manifest.Entry, error) {
	n := j.n
	var (
		mu      sync.Mutex
		entries []manifest.Entry
		errs    []error
		wg      sync.WaitGroup
	)
	sem := make(chan struct{}, receiptConcurrency)
	for h, items := range byHolder {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			e, err := j.receipt(ctx, m, mc, h, items)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("storage receipt from %s: %w", h.ShortString(), err))
				return
			}
			entries = append(entries, e)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		n.log.Info("holder did not sign its receipt", "err", errs[0])
		return nil, coded(api.CodeTooFewNodes, "%v", errs[0])
	}
	return entries, nil
}

func (j *putJob) receipt(ctx context.Context, m *manifest.Manifest, mc cid.Cid, h peer.ID, items []transfer.ReceiptItem) (manifest.Entry, error) {
	n := j.n
	var rec *manifest.Receipt
	var err error
	if h == n.host.ID() {
		rec, err = n.receipts.Sign("", mc, items)
	} else {
		rec, err = n.xfer.RequestReceipt(ctx, h, mc, items, false)
	}
	if err != nil {
		return manifest.Entry{}, err
	}
	if err := rec.Verify(m); err != nil {
		return manifest.Entry{}, err
	}
	sig, err := manifest.Endorse(n.priv, rec)
	if err != nil {
		return manifest.Entry{}, err
	}
	return manifest.Entry{Receipt: *rec, Endorsements: []manifest.Signature{sig}}, nil
}

// confirm tells every holder the manifest is published, so its shards are kept for good. Best
// effort: a holder that misses it confirms through its garbage collector, which finds the manifest.
func (j *putJob) confirm(ctx context.Context, mc cid.Cid, byHolder map[peer.ID][]transfer.ReceiptItem) {
	n := j.n
	var wg sync.WaitGroup
	sem := make(chan struct{}, receiptConcurrency)
	for h, items := range byHolder {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var err error
			if h == n.host.ID() {
				err = n.receipts.Confirm("", mc, items)
			} else {
				_, err = n.xfer.RequestReceipt(ctx, h, mc, items, true)
			}
			if err != nil {
				n.log.Info("holder did not confirm; its collector will", "holder", h, "err", err)
			}
		})
	}
	wg.Wait()
}
