package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cairn-storage/cairn/node/audit"
	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"lukechampine.com/blake3/bao"
)

// ProtoAudit challenges a holder to prove it still stores shards: the challenger sends a fresh
// nonce and a list of shards; the holder answers which it has, then the bao slices of the
// groups the nonce selects in each (node/audit), which the challenger checks against the CIDs.
const ProtoAudit protocol.ID = "/cairn/shard/audit/2.0.0"

// MaxAuditItems bounds the shards of one audit request (its header stays under 16 KiB).
const MaxAuditItems = 256

// MaxAuditRanges bounds the groups challenged per shard.
const MaxAuditRanges = 8

// auditGrace is how long an audit may take besides moving its proofs at minRate: the challenger
// gives up after it, so a holder that stalls or dribbles bytes is cut off. A variable only so
// tests can shorten it.
var auditGrace = 30 * time.Second

// AuditItem is one shard a holder is asked to prove, with its size as the manifest records it.
type AuditItem struct {
	Shard cid.Cid
	Size  int64
}

// AuditVerdict is the outcome of one audited shard. The zero value is AuditFailed.
type AuditVerdict uint8

const (
	// AuditFailed: the holder's proof does not verify, or it says it lacks the shard (a holder
	// that lost data fails its audit).
	AuditFailed AuditVerdict = iota
	// AuditPassed: the holder proved the challenged groups against the shard's CID.
	AuditPassed
)

func (v AuditVerdict) String() string {
	switch v {
	case AuditPassed:
		return "passed"
	case AuditFailed:
		return "failed"
	default:
		return fmt.Sprintf("AuditVerdict(%d)", uint8(v))
	}
}

// auditReq is the challenge header.
type auditReq struct {
	Nonce  []byte         `json:"nonce"`  // 32 bytes, fresh from crypto/rand
	Ranges int            `json:"ranges"` // groups per shard, 1..MaxAuditRanges
	Items  []auditReqItem `json:"items"`  // 1..MaxAuditItems
}

type auditReqItem struct {
	Shard []byte `json:"shard"` // binary CID
	Size  int64  `json:"size"`
}

// auditResp says which items the holder has; their proofs follow, concatenated in item order,
// each exactly audit.ProofSize bytes.
type auditResp struct {
	Status
	Has []bool `json:"has,omitempty"`
}

// auditRequest is a validated challenge.
type auditRequest struct {
	nonce  [32]byte
	ranges int
	items  []AuditItem
}

// newAuditRequest validates a challenge; both ends apply the same rules.
func newAuditRequest(nonce [32]byte, ranges int, items []AuditItem) (auditRequest, error) {
	if ranges < 1 || ranges > MaxAuditRanges {
		return auditRequest{}, fmt.Errorf("audit of %d ranges per shard, want 1..%d", ranges, MaxAuditRanges)
	}
	if len(items) == 0 || len(items) > MaxAuditItems {
		return auditRequest{}, fmt.Errorf("audit of %d shards, want 1..%d", len(items), MaxAuditItems)
	}
	for i, it := range items {
		if _, err := codec.Digest(it.Shard); err != nil {
			return auditRequest{}, fmt.Errorf("audit item %d: %w", i, err)
		}
		if it.Size <= 0 || it.Size > MaxShard {
			return auditRequest{}, fmt.Errorf("audit item %d: shard size %d out of range [1, %d]", i, it.Size, MaxShard)
		}
	}
	return auditRequest{nonce: nonce, ranges: ranges, items: items}, nil
}

// decodeAuditRequest validates a challenge header as received from a peer.
func decodeAuditRequest(h auditReq) (auditRequest, error) {
	if len(h.Nonce) != 32 {
		return auditRequest{}, fmt.Errorf("audit nonce of %d bytes, want 32", len(h.Nonce))
	}
	if len(h.Items) > MaxAuditItems {
		return auditRequest{}, fmt.Errorf("audit of %d shards, want 1..%d", len(h.Items), MaxAuditItems)
	}
	items := make([]AuditItem, len(h.Items))
	for i, it := range h.Items {
		c, err := cid.Cast(it.Shard)
		if err != nil {
			return auditRequest{}, fmt.Errorf("audit item %d: malformed cid: %w", i, err)
		}
		items[i] = AuditItem{Shard: c, Size: it.Size}
	}
	return newAuditRequest([32]byte(h.Nonce), h.Ranges, items)
}

// header is the challenge as sent.
func (r auditRequest) header() auditReq {
	h := auditReq{Nonce: r.nonce[:], Ranges: r.ranges, Items: make([]auditReqItem, len(r.items))}
	for i, it := range r.items {
		h.Items[i] = auditReqItem{Shard: it.Shard.Bytes(), Size: it.Size}
	}
	return h
}

// rangesOf is what item i must prove.
func (r auditRequest) rangesOf(i int) []audit.Range {
	it := r.items[i]
	return audit.Ranges(r.nonce, it.Shard, it.Size, r.ranges)
}

// maxProof is the largest single item's proof, and total the sum of all of them.
func (r auditRequest) proofSizes() (maxProof, total int) {
	for i, it := range r.items {
		n := audit.ProofSize(it.Size, r.rangesOf(i))
		maxProof = max(maxProof, n)
		total += n
	}
	return maxProof, total
}

// Auditor answers audit challenges from a node's store.
type Auditor struct {
	h      host.Host
	st     *store.Store
	budget *Budget
}

// NewAuditor answers ProtoAudit on h from st. The proof buffer and outboard it holds per stream
// are charged to b (nil: NewBudget(DefaultBudget())). Close stops answering.
func NewAuditor(h host.Host, st *store.Store, b *Budget) *Auditor {
	if b == nil {
		b = NewBudget(DefaultBudget())
	}
	a := &Auditor{h: h, st: st, budget: b}
	h.SetStreamHandler(ProtoAudit, handler(ProtoAudit, nil, a.serve))
	return a
}

// Close stops answering.
func (a *Auditor) Close() { a.h.RemoveStreamHandler(ProtoAudit) }

func (a *Auditor) serve(st network.Stream) error {
	var h auditReq
	if err := wire.Read(st, &h); err != nil {
		return err
	}
	req, err := decodeAuditRequest(h)
	if err != nil {
		return wire.Write(st, auditResp{Status: wire.Fail(wire.CodeBadInput, err)})
	}
	// Held at once: one item's proof, one loaded outboard (at most that of the largest claimed
	// size: only shards stored at their claimed size are opened; Stat's copies are dropped at
	// once) and bao's group buffer.
	maxProof, total := req.proofSizes()
	var maxSize int64
	for _, it := range req.items {
		maxSize = max(maxSize, it.Size)
	}
	release, err := a.budget.Acquire(st, maxProof+bao.EncodedSize(int(maxSize), codec.BaoGroup, true)+audit.GroupSize)
	if err != nil {
		return wire.Write(st, auditResp{Status: busy(err)})
	}
	defer release()
	has := make([]bool, len(req.items))
	for i, it := range req.items {
		b, err := a.st.Stat(it.Shard)
		has[i] = err == nil && b.Size == it.Size
	}
	_ = st.SetDeadline(time.Now().Add(bodyTimeout(int64(total))))
	if err := wire.Write(st, auditResp{Status: Status{OK: true}, Has: has}); err != nil {
		return err
	}
	buf := bytes.NewBuffer(make([]byte, 0, maxProof))
	for i, it := range req.items {
		if !has[i] {
			continue
		}
		buf.Reset()
		rs := req.rangesOf(i)
		if err := proveStored(a.st, it, rs, buf); err != nil {
			// Lost since the answer said we have it (deleted, truncated, unreadable): a proof of
			// zeros keeps the stream in step and fails this item only, which is the truth.
			buf.Reset()
			buf.Write(make([]byte, audit.ProofSize(it.Size, rs)))
		}
		if _, err := st.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// errNotHeld means the store lacks a shard of the audited size.
var errNotHeld = errors.New("shard not stored at that size")

// proveStored writes the proof of rs for it from st.
func proveStored(st *store.Store, it AuditItem, rs []audit.Range, w io.Writer) error {
	f, b, err := st.Open(it.Shard)
	if err != nil {
		return err
	}
	defer f.Close()
	if b.Size != it.Size {
		return fmt.Errorf("%w: stored %d bytes, audited %d", errNotHeld, b.Size, it.Size)
	}
	return audit.Prove(w, f, b.Outboard, b.Size, rs)
}

// Audit challenges holder p to prove it stores items, with ranges groups per shard (usually
// audit.DefaultRangesPerShard) selected by nonce, which the caller draws fresh from crypto/rand.
// The verdicts are in item order. A non-nil error means there is no usable answer (p
// unreachable, refusing, too slow, malformed, oversized or reset): a timeout, not a lie.
func (c *Client) Audit(ctx context.Context, p peer.ID, nonce [32]byte, ranges int, items []AuditItem) ([]AuditVerdict, error) {
	req, err := newAuditRequest(nonce, ranges, items)
	if err != nil {
		return nil, err
	}
	if p == c.self {
		return c.auditSelf(req)
	}
	maxProof, total := req.proofSizes()
	ctx, cancel := context.WithTimeout(ctx, auditGrace+time.Duration(total)*time.Second/minRate)
	defer cancel()
	s, err := c.open(ctx, p, ProtoAudit)
	if err != nil {
		return nil, err
	}
	var out []AuditVerdict
	err = func() error {
		if err := wire.Write(s, req.header()); err != nil {
			return err
		}
		var resp auditResp
		if err := wire.Read(s, &resp); err != nil {
			return err
		}
		if err := resp.Err(); err != nil {
			return err
		}
		if len(resp.Has) != len(items) {
			return fmt.Errorf("audit answer from %s: %d flags for %d shards", p.ShortString(), len(resp.Has), len(items))
		}
		out = make([]AuditVerdict, len(items))
		proof := make([]byte, maxProof) // our own bound, not the holder's claim
		for i, it := range items {
			if !resp.Has[i] {
				continue // AuditFailed
			}
			rs := req.rangesOf(i)
			pr := proof[:audit.ProofSize(it.Size, rs)]
			if _, err := io.ReadFull(s, pr); err != nil {
				return fmt.Errorf("audit answer from %s: proof of shard %d: %w", p.ShortString(), i, err)
			}
			if audit.Verify(it.Shard, it.Size, rs, pr) == nil {
				out[i] = AuditPassed
			}
		}
		// The answer ends with the last proof; a holder that sends more is misbehaving.
		var extra [1]byte
		if n, err := io.ReadFull(s, extra[:]); n > 0 {
			return fmt.Errorf("audit answer from %s: bytes after the last proof", p.ShortString())
		} else if !errors.Is(err, io.EOF) {
			return fmt.Errorf("audit answer from %s: after the last proof: %w", p.ShortString(), err)
		}
		return nil
	}()
	if err = finish(s, err); err != nil {
		return nil, err
	}
	return out, nil
}

// auditSelf runs the same proof and check against this node's own store.
func (c *Client) auditSelf(req auditRequest) ([]AuditVerdict, error) {
	if c.st == nil {
		return nil, errors.New("audit of self: this client has no store")
	}
	out := make([]AuditVerdict, len(req.items))
	var buf bytes.Buffer
	for i, it := range req.items {
		buf.Reset()
		rs := req.rangesOf(i)
		if proveStored(c.st, it, rs, &buf) == nil && audit.Verify(it.Shard, it.Size, rs, buf.Bytes()) == nil {
			out[i] = AuditPassed
		}
	}
	return out, nil
}
