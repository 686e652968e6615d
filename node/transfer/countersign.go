package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/cairn-storage/cairn/payments"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// ProtoCountersign asks a node that served shards to countersign the downloader's receipts
// for them (payments.Download), which the downloader then posts to the ledger. The node signs
// only what it recorded sending whole to the asker (Served), each sending once.
//
// Exchange: header (up to MaxCountersign bodies, ServerSig empty) → answer: per body a
// signature or a reason, in order.
const ProtoCountersign protocol.ID = "/cairn/ledger/countersign/1.0.0"

const (
	// MaxCountersign bounds the bodies of one request: a body without its signature is at most
	// ~310 bytes as CBOR (three peer IDs, two CIDs, a 64-byte partner tag, a nonce), so 128 fit
	// one wire.MaxHeader with room. The client batches past it.
	MaxCountersign = 128
	// maxCountersigning bounds requests served at once node-wide; beyond it the answer is busy.
	maxCountersigning = 16
	// countersignMemory is what a request holds besides its header: the decoded bodies and the
	// answer, each within one header's size.
	countersignMemory = 2 * wire.MaxHeader
)

type countersignReq struct {
	Bodies []payments.Download `json:"bodies"` // 1..MaxCountersign, ServerSig empty
}

type countersignResp struct {
	Status
	Answers []entryAnswer `json:"answers,omitempty"` // one per body, in order
}

// Countersigner answers ProtoCountersign from the book of shards the transfer server sent.
type Countersigner struct {
	h      host.Host
	priv   crypto.PrivKey
	self   peer.ID // priv's
	served *Served
	budget *Budget
	slots  chan struct{}
	// Vet, if set, checks a body's claims about the file (its manifest) before signing.
	Vet func(d *payments.Download, shard cid.Cid) error
}

// NewCountersigner answers ProtoCountersign on h, signing with priv (the host's key) what
// served records. A nil b means NewBudget(DefaultBudget()). Close stops answering.
func NewCountersigner(h host.Host, priv crypto.PrivKey, served *Served, b *Budget) *Countersigner {
	if b == nil {
		b = NewBudget(DefaultBudget())
	}
	var self peer.ID // without a usable key it stays empty, and every body is refused
	if priv != nil {
		self, _ = peer.IDFromPrivateKey(priv)
	}
	c := &Countersigner{h: h, priv: priv, self: self, served: served, budget: b,
		slots: make(chan struct{}, maxCountersigning)}
	h.SetStreamHandler(ProtoCountersign, handler(ProtoCountersign, nil, c.serve))
	return c
}

// Close stops answering.
func (c *Countersigner) Close() { c.h.RemoveStreamHandler(ProtoCountersign) }

func (c *Countersigner) serve(st network.Stream) error {
	var req countersignReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	if len(req.Bodies) == 0 || len(req.Bodies) > MaxCountersign {
		err := fmt.Errorf("%d bodies, want 1..%d", len(req.Bodies), MaxCountersign)
		return wire.Write(st, countersignResp{Status: wire.Fail(wire.CodeBadInput, err)})
	}
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	default:
		err := fmt.Errorf("%w: %d countersign requests under way", ErrBusy, maxCountersigning)
		return wire.Write(st, countersignResp{Status: busy(err)})
	}
	release, err := c.budget.Acquire(st, countersignMemory)
	if err != nil {
		return wire.Write(st, countersignResp{Status: busy(err)})
	}
	defer release()
	asker := st.Conn().RemotePeer()
	resp := countersignResp{Status: Status{OK: true}, Answers: make([]entryAnswer, len(req.Bodies))}
	for i := range req.Bodies {
		resp.Answers[i] = c.sign(asker, &req.Bodies[i])
	}
	return wire.Write(st, resp)
}

// sign checks one body and, if this node sent that shard whole to asker and has not yet
// countersigned that sending, signs it.
func (c *Countersigner) sign(asker peer.ID, d *payments.Download) entryAnswer {
	shard, err := checkCountersign(d)
	if err != nil {
		return refuse(wire.CodeBadInput, err)
	}
	if c.self == "" || !bytes.Equal(d.Server, []byte(c.self)) {
		return refuse(wire.CodeForbidden, errors.New("the receipt names another server"))
	}
	if !bytes.Equal(d.Downloader, []byte(asker)) {
		return refuse(wire.CodeForbidden, errors.New("the receipt names another downloader"))
	}
	if c.Vet != nil {
		if err := c.Vet(d, shard); err != nil {
			return refuse(wire.CodeForbidden, err)
		}
	}
	if !c.served.Take(asker, shard, d.ShardSize) {
		return refuse(wire.CodeForbidden, fmt.Errorf("no sending of %d-byte shard %s to you is left to countersign", d.ShardSize, shard))
	}
	if err := payments.CounterSign(c.priv, d); err != nil {
		return refuse(wire.CodeInternal, err)
	}
	return entryAnswer{Sig: d.ServerSig}
}

// checkCountersign checks a body's form: unsigned, Cairn CIDs, peer IDs, a partner tag, a
// nonce, and 1 <= Bytes <= ShardSize <= MaxShard. It returns the shard's CID.
func checkCountersign(d *payments.Download) (cid.Cid, error) {
	switch {
	case len(d.ServerSig) != 0:
		return cid.Undef, errors.New("the receipt is already signed")
	case len(d.Nonce) != payments.NonceSize:
		return cid.Undef, fmt.Errorf("nonce of %d bytes, want %d", len(d.Nonce), payments.NonceSize)
	case d.ShardSize <= 0 || d.ShardSize > MaxShard || d.Bytes <= 0 || d.Bytes > d.ShardSize:
		return cid.Undef, fmt.Errorf("%d bytes of a %d-byte shard, want 1 <= bytes <= size <= %d", d.Bytes, d.ShardSize, MaxShard)
	}
	if _, err := cairnCID(d.Manifest, codec.CodecCBOR); err != nil {
		return cid.Undef, fmt.Errorf("manifest: %w", err)
	}
	shard, err := cairnCID(d.Shard, codec.CodecRaw)
	if err != nil {
		return cid.Undef, fmt.Errorf("shard: %w", err)
	}
	for _, id := range [][]byte{d.Server, d.Owner, d.Downloader} {
		if _, err := peer.IDFromBytes(id); err != nil {
			return cid.Undef, fmt.Errorf("malformed peer ID: %w", err)
		}
	}
	if err := manifest.CheckPartner(d.Partner); err != nil {
		return cid.Undef, err
	}
	return shard, nil
}

// cairnCID parses b as a CIDv1 of the given codec with a BLAKE3-256 multihash, in its one
// binary form.
func cairnCID(b []byte, want uint64) (cid.Cid, error) {
	c, err := cid.Cast(b)
	switch {
	case err != nil:
		return cid.Undef, err
	case c.Version() != 1 || c.Type() != want || !bytes.Equal(c.Bytes(), b):
		return cid.Undef, fmt.Errorf("not a CIDv1 with codec 0x%x", want)
	}
	if _, err := codec.Digest(c); err != nil {
		return cid.Undef, err
	}
	return c, nil
}

// CountersignRefusals reports the bodies a server refused, indexed like the bodies given to
// Countersign (nil where countersigned). The others got their ServerSig.
type CountersignRefusals []error

func (r CountersignRefusals) Error() string {
	n, first := 0, ""
	for _, err := range r {
		if err != nil {
			if n++; n == 1 {
				first = err.Error()
			}
		}
	}
	return fmt.Sprintf("countersign: %d of %d receipts refused (first: %s)", n, len(r), first)
}

// Countersign asks server to countersign bodies, receipts for shards it sent this node, in
// batches of MaxCountersign. Each countersigned body gets its ServerSig, checked against the
// server's key; the error is a CountersignRefusals if some were refused, any other error if an
// exchange failed (the batches before it keep their signatures).
func (c *Client) Countersign(ctx context.Context, server peer.ID, bodies []*payments.Download) error {
	if server == c.self {
		return errors.New("countersign: a node does not countersign its own downloads")
	}
	refused := make(CountersignRefusals, len(bodies))
	some := false
	for start := 0; start < len(bodies); start += MaxCountersign {
		batch := bodies[start:min(start+MaxCountersign, len(bodies))]
		answers, err := c.countersign(ctx, server, batch)
		if err != nil {
			return err
		}
		for i, a := range answers {
			d := batch[i]
			if err := acceptCountersign(server, d, a); err != nil {
				refused[start+i], some = err, true
			}
		}
	}
	if some {
		return refused
	}
	return nil
}

// countersign runs one exchange and returns the server's answers, one per body.
func (c *Client) countersign(ctx context.Context, server peer.ID, batch []*payments.Download) ([]entryAnswer, error) {
	req := countersignReq{Bodies: make([]payments.Download, len(batch))}
	for i, d := range batch {
		req.Bodies[i] = *d
		req.Bodies[i].ServerSig = nil
	}
	s, err := c.open(ctx, server, ProtoCountersign)
	if err != nil {
		return nil, err
	}
	var resp countersignResp
	err = func() error {
		if err := wire.Write(s, req); err != nil {
			return err
		}
		if err := wire.Read(s, &resp); err != nil {
			return err
		}
		if err := resp.Err(); err != nil {
			return err
		}
		if len(resp.Answers) != len(batch) {
			return fmt.Errorf("countersign: %s answered %d receipts, asked %d", server.ShortString(), len(resp.Answers), len(batch))
		}
		return nil
	}()
	if err := finish(s, err); err != nil {
		return nil, err
	}
	return resp.Answers, nil
}

// acceptCountersign sets d.ServerSig from answer a if it is server's valid signature of d.
func acceptCountersign(server peer.ID, d *payments.Download, a entryAnswer) error {
	if a.Code != "" || a.Error != "" {
		return &wire.RemoteError{Code: a.Code, Msg: a.Error}
	}
	if !bytes.Equal(d.Server, []byte(server)) {
		return fmt.Errorf("countersign: the receipt names server %s, not %s", peer.ID(d.Server), server)
	}
	d.ServerSig = a.Sig
	if err := d.VerifyCounterSig(); err != nil {
		d.ServerSig = nil
		return fmt.Errorf("countersign: %s: %w", server.ShortString(), err)
	}
	return nil
}
