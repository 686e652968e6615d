package transfer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ProtoShardReceipt asks a holder to vouch, with its own signature, for the shards of one
// manifest it stores (phase 1, before the manifest is published), and later to keep them for
// good (phase 2, "confirm", once the stewards have it). Only the account that stored a shard may
// claim or confirm it, so a stranger cannot tie someone else's shard to another manifest.
const ProtoShardReceipt = "/cairn/shard/receipt/2.0.0"

// MaxReceiptShards bounds one request: a holder normally has one shard per segment of a file, and
// MaxManifestSize allows about 30,000 segments.
const MaxReceiptShards = 1 << 16

// receiptItemSize is one item on the wire: position u32 | shard digest | delete hash.
const receiptItemSize = 4 + 32 + 32

type receiptReq struct {
	Manifest string `json:"manifest"`
	Count    int    `json:"count"`
	Confirm  bool   `json:"confirm,omitempty"`
	// After is the time of this holder's receipt that the new one replaces: the new one must be
	// later, or merges keep the old one (records keep the newest receipt per holder).
	After int64 `json:"after,omitempty"`
}

// maxAfterLead bounds how far past its clock a holder dates a receipt to follow After: a little
// clock skew between its restarts, never a receipt that would outrank every later one.
const maxAfterLead = 60

type receiptResp struct {
	Status
	Time int64  `json:"time,omitempty"`
	Sig  []byte `json:"sig,omitempty"`
}

// ReceiptItem is one shard a holder is asked to vouch for: where it sits in the manifest, its
// CID, and the delete hash the uploader stored it under (which identifies the uploader's ref).
type ReceiptItem struct {
	Position   uint32
	Shard      cid.Cid
	DeleteHash [32]byte
}

// Receipts signs storage receipts for shards this node holds.
type Receipts struct {
	h      host.Host
	st     *store.Store
	priv   crypto.PrivKey
	lease  time.Duration
	budget *Budget
	now    func() time.Time
}

// NewReceipts answers ProtoShardReceipt on h. lease is how long a claimed but unconfirmed shard
// is kept before the garbage collector checks whether its manifest was published. A nil b means
// NewBudget(DefaultBudget()).
func NewReceipts(h host.Host, st *store.Store, priv crypto.PrivKey, lease time.Duration, b *Budget) *Receipts {
	if b == nil {
		b = NewBudget(DefaultBudget())
	}
	r := &Receipts{h: h, st: st, priv: priv, lease: lease, budget: b, now: time.Now}
	h.SetStreamHandler(ProtoShardReceipt, handler(ProtoShardReceipt, nil, r.serve))
	return r
}

// Close stops answering.
func (r *Receipts) Close() { r.h.RemoveStreamHandler(ProtoShardReceipt) }

func (r *Receipts) serve(st network.Stream) error {
	var req receiptReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	mc, err := parseCID(req.Manifest)
	if err == nil && (req.Count <= 0 || req.Count > MaxReceiptShards) {
		err = fmt.Errorf("receipt for %d shards, want 1..%d", req.Count, MaxReceiptShards)
	}
	if err != nil {
		return wire.Write(st, receiptResp{Status: wire.Fail(wire.CodeBadInput, err)})
	}
	size := req.Count * receiptItemSize
	release, err := r.budget.Acquire(st, size)
	if err != nil {
		return wire.Write(st, receiptResp{Status: wire.Fail(wire.CodeBusy, err)})
	}
	defer release()
	if err := wire.Write(st, Status{OK: true}); err != nil {
		return err
	}
	_ = st.SetWriteDeadline(time.Now().Add(bodyTimeout(int64(size)) + headerTimeout))
	buf, err := readExactly(paced(st, int64(size)), size)
	if err != nil {
		return err
	}
	items, err := decodeReceiptItems(buf)
	if err != nil {
		return wire.Write(st, receiptResp{Status: wire.Fail(wire.CodeBadInput, err)})
	}
	account := st.Conn().RemotePeer().String()
	if req.Confirm {
		return wire.Write(st, receiptResp{Status: statusOf(r.Confirm(account, mc, items))})
	}
	if req.After > r.now().Unix()+maxAfterLead {
		return wire.Write(st, receiptResp{Status: wire.Fail(wire.CodeBadInput, fmt.Errorf("after %d is more than %d s ahead of this holder's clock", req.After, maxAfterLead))})
	}
	rec, err := r.SignAfter(account, mc, items, req.After)
	if err != nil {
		return wire.Write(st, receiptResp{Status: statusOf(err)})
	}
	return wire.Write(st, receiptResp{Status: Status{OK: true}, Time: rec.Time, Sig: rec.Sig})
}

// Sign claims the shards for manifest mc on behalf of account ("" = this node) and returns this
// node's signed receipt for them. Every item must be a shard this node stores under that
// account's delete hash.
func (r *Receipts) Sign(account string, mc cid.Cid, items []ReceiptItem) (*manifest.Receipt, error) {
	return r.SignAfter(account, mc, items, 0)
}

// SignAfter is Sign with the receipt dated after the time after (see receiptReq.After).
func (r *Receipts) SignAfter(account string, mc cid.Cid, items []ReceiptItem, after int64) (*manifest.Receipt, error) {
	own, err := r.owned(account, mc, items)
	if err != nil {
		return nil, err
	}
	now := r.now()
	lease := now.Add(r.lease).Unix()
	for i, it := range items {
		if !own[i] {
			continue // already tied to mc: nothing to claim
		}
		if err := r.st.Claim(it.Shard, it.DeleteHash, mc.Bytes(), lease); err != nil {
			return nil, fmt.Errorf("claim shard %s: %w", it.Shard, err)
		}
	}
	rec := &manifest.Receipt{Manifest: mc, Time: max(now.Unix(), after+1)}
	shards := make([]cid.Cid, len(items))
	for i, it := range items {
		rec.Positions = append(rec.Positions, it.Position)
		shards[i] = it.Shard
	}
	if err := rec.SignShards(r.priv, shards); err != nil {
		return nil, err
	}
	return rec, nil
}

// Confirm keeps the items for good: a published manifest mc references them. Items already tied
// to mc under another account's ref are left as they are.
func (r *Receipts) Confirm(account string, mc cid.Cid, items []ReceiptItem) error {
	own, err := r.owned(account, mc, items)
	if err != nil {
		return err
	}
	for i, it := range items {
		if !own[i] {
			continue
		}
		if err := r.st.Confirm(it.Shard, it.DeleteHash); err != nil {
			return fmt.Errorf("confirm shard %s: %w", it.Shard, err)
		}
	}
	return nil
}

// owned checks that every item is stored under a ref of account (own[i]), or, when mc is
// defined, under any account's ref already tied to manifest mc. The second case lets a steward
// that repaired one shard on this node get a receipt covering the shards this node already holds
// for the same file (a holder's newest receipt replaces its older one): it only restates what is
// true and changes no ref.
func (r *Receipts) owned(account string, mc cid.Cid, items []ReceiptItem) (own []bool, err error) {
	own = make([]bool, len(items))
	for i, it := range items {
		if i > 0 && it.Position <= items[i-1].Position {
			return nil, fmt.Errorf("%w: positions not strictly ascending", errBadItems)
		}
		refs, err := r.st.Refs(it.Shard)
		if err != nil {
			return nil, fmt.Errorf("shard at position %d (%s): %w", it.Position, it.Shard, err)
		}
		tied := false
		for _, ref := range refs {
			if ref.DeleteHash != it.DeleteHash {
				continue
			}
			if ref.Account == account {
				own[i] = true
				break
			}
			if mc.Defined() && bytes.Equal(ref.Manifest, mc.Bytes()) {
				tied = true
			}
		}
		if !own[i] && !tied {
			return nil, fmt.Errorf("%w: shard at position %d (%s) is not stored for this account", store.ErrForbidden, it.Position, it.Shard)
		}
	}
	return own, nil
}

var errBadItems = errors.New("bad receipt items")

func encodeReceiptItems(items []ReceiptItem) ([]byte, error) {
	out := make([]byte, 0, len(items)*receiptItemSize)
	for _, it := range items {
		d, err := codec.Digest(it.Shard)
		if err != nil {
			return nil, err
		}
		out = binary.BigEndian.AppendUint32(out, it.Position)
		out = append(out, d[:]...)
		out = append(out, it.DeleteHash[:]...)
	}
	return out, nil
}

func decodeReceiptItems(b []byte) ([]ReceiptItem, error) {
	if len(b)%receiptItemSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of items", errBadItems, len(b))
	}
	items := make([]ReceiptItem, len(b)/receiptItemSize)
	for i := range items {
		p := b[i*receiptItemSize:]
		items[i].Position = binary.BigEndian.Uint32(p)
		items[i].Shard = codec.CIDFromDigest(codec.CodecRaw, [32]byte(p[4:36]))
		copy(items[i].DeleteHash[:], p[36:68])
	}
	return items, nil
}

// RequestReceipt asks holder p to sign a storage receipt for items of manifest mc (phase 1), or,
// with confirm, to keep them for good (phase 2; the returned receipt is nil).
func (c *Client) RequestReceipt(ctx context.Context, p peer.ID, mc cid.Cid, items []ReceiptItem, confirm bool) (*manifest.Receipt, error) {
	return c.RequestReceiptAfter(ctx, p, mc, items, confirm, 0)
}

// RequestReceiptAfter is RequestReceipt for a receipt that replaces p's receipt of time after.
func (c *Client) RequestReceiptAfter(ctx context.Context, p peer.ID, mc cid.Cid, items []ReceiptItem, confirm bool, after int64) (*manifest.Receipt, error) {
	if len(items) == 0 || len(items) > MaxReceiptShards {
		return nil, fmt.Errorf("receipt for %d shards, want 1..%d", len(items), MaxReceiptShards)
	}
	body, err := encodeReceiptItems(items)
	if err != nil {
		return nil, err
	}
	s, err := c.open(ctx, p, ProtoShardReceipt)
	if err != nil {
		return nil, err
	}
	var resp receiptResp
	err = offer(s, receiptReq{Manifest: mc.String(), Count: len(items), Confirm: confirm, After: after}, &resp, body)
	if err = finish(s, err); err != nil || confirm {
		return nil, err
	}
	rec := &manifest.Receipt{Manifest: mc, Holder: p, Time: resp.Time, Sig: resp.Sig}
	for _, it := range items {
		rec.Positions = append(rec.Positions, it.Position)
	}
	return rec, nil
}
