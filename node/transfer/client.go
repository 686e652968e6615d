package transfer

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

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

// ErrCorrupt means a holder sent bytes that do not hash to the CID it was asked for.
var ErrCorrupt = errors.New("holder sent bytes that do not match the CID")

// defaultTimeout applies when the caller's context has no deadline.
const defaultTimeout = 2 * time.Minute

// Client speaks the transfer protocols. Requests addressed to the node itself go straight to
// its own store, through the same verification, so callers need not special-case self.
type Client struct {
	h    host.Host
	self peer.ID
	st   *store.Store
	sw   *Stewardship
	// OrphanLease is the lease shards this node stores for itself get (see Server.OrphanLease).
	OrphanLease time.Duration
}

// NewClient returns a client for host h whose own store is st.
func NewClient(h host.Host, st *store.Store, sw *Stewardship) *Client {
	return &Client{h: h, self: h.ID(), st: st, sw: sw}
}

func (c *Client) open(ctx context.Context, p peer.ID, id protocol.ID) (network.Stream, error) {
	s, err := c.h.NewStream(ctx, p, id)
	if err != nil {
		return nil, fmt.Errorf("open %s to %s: %w", id, p.ShortString(), err)
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(defaultTimeout)
	}
	_ = s.SetDeadline(dl)
	// Reset on cancellation so a blocked read or write returns at once.
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	return &stream{Stream: s, stop: stop}, nil
}

type stream struct {
	network.Stream
	stop func() bool
}

func (s *stream) Close() error { s.stop(); return s.Stream.Close() }
func (s *stream) Reset() error { s.stop(); return s.Stream.Reset() }

// finish closes s on success and resets it on failure, returning err. Once the peer's final
// answer is read the exchange is complete, so a Close error (the peer may have closed its read
// side first, which yamux reports as a cancelled stream) changes nothing.
func finish(s network.Stream, err error) error {
	if err != nil {
		_ = s.Reset()
		return err
	}
	_ = s.Close()
	return nil
}

// PutShard stores data under id on p, with deleteHash as the shard's delete authority.
func (c *Client) PutShard(ctx context.Context, p peer.ID, id cid.Cid, data []byte, deleteHash [32]byte) error {
	if p == c.self {
		ref := store.Ref{DeleteHash: deleteHash}
		if c.OrphanLease > 0 {
			ref.Lease = time.Now().Add(c.OrphanLease).Unix()
		}
		_, err := c.st.Put(id, int64(len(data)), bytes.NewReader(data), ref)
		return err
	}
	s, err := c.open(ctx, p, ProtoShardPut)
	if err != nil {
		return err
	}
	var res ShardPutResp
	return finish(s, offer(s, ShardPutReq{CID: id.String(), Size: int64(len(data)), DeleteHash: hex.EncodeToString(deleteHash[:])}, &res, data))
}

// GetShard fetches id (size bytes) from p into dst[:0], verifying every 16 KiB group against
// the CID as it arrives: a lying holder is caught at the first bad group (ErrCorrupt).
func (c *Client) GetShard(ctx context.Context, p peer.ID, id cid.Cid, size int64, dst []byte) ([]byte, error) {
	root, err := codec.Digest(id)
	if err != nil {
		return nil, err
	}
	if size < 0 || size > MaxShard {
		return nil, fmt.Errorf("shard size %d out of range", size)
	}
	if p == c.self {
		f, blob, err := c.st.Open(id)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return verify(f, blob.Outboard, blob.Size, size, root, dst)
	}
	s, err := c.open(ctx, p, ProtoShardGet)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = func() error {
		if err := wire.Write(s, ShardGetReq{CID: id.String()}); err != nil {
			return err
		}
		var resp ShardGetResp
		if err := wire.Read(s, &resp); err != nil {
			return err
		}
		if err := resp.Err(); err != nil {
			return err
		}
		want := bao.EncodedSize(int(size), codec.BaoGroup, true)
		if resp.Size != size || resp.OutboardLen != want {
			return fmt.Errorf("%w: holder announced %d bytes and a %d-byte tree, want %d and %d", ErrCorrupt, resp.Size, resp.OutboardLen, size, want)
		}
		ob := make([]byte, want)
		if _, err := io.ReadFull(s, ob); err != nil {
			return err
		}
		out, err = verify(s, ob, resp.Size, size, root, dst)
		return err
	}()
	return out, finish(s, err)
}

// verify streams size bytes of r through bao verification into dst.
func verify(r io.Reader, outboard []byte, have, size int64, root [32]byte, dst []byte) ([]byte, error) {
	if have != size || len(outboard) < 8 || int64(binary.LittleEndian.Uint64(outboard)) != size {
		return nil, fmt.Errorf("%w: size %d, want %d", ErrCorrupt, have, size)
	}
	w := &fixedWriter{buf: dst[:0], limit: int(size)}
	ok, err := bao.Decode(w, r, bytes.NewReader(outboard), codec.BaoGroup, root)
	if err != nil {
		return nil, err
	}
	if !ok || len(w.buf) != int(size) {
		return nil, ErrCorrupt
	}
	return w.buf, nil
}

// fixedWriter appends to buf, refusing to grow past limit (bao writes only verified groups).
type fixedWriter struct {
	buf   []byte
	limit int
}

func (w *fixedWriter) Write(p []byte) (int, error) {
	if len(w.buf)+len(p) > w.limit {
		return 0, fmt.Errorf("%w: more data than announced", ErrCorrupt)
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// HasShards asks p which of ids it holds, in batches of MaxHasBatch.
func (c *Client) HasShards(ctx context.Context, p peer.ID, ids []cid.Cid) ([]bool, error) {
	out := make([]bool, 0, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), MaxHasBatch)
		has, err := c.hasBatch(ctx, p, ids[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, has...)
		ids = ids[n:]
	}
	return out, nil
}

func (c *Client) hasBatch(ctx context.Context, p peer.ID, ids []cid.Cid) ([]bool, error) {
	if p == c.self {
		out := make([]bool, len(ids))
		for i, id := range ids {
			out[i] = c.st.Has(id)
		}
		return out, nil
	}
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = id.String()
	}
	s, err := c.open(ctx, p, ProtoShardHas)
	if err != nil {
		return nil, err
	}
	var resp HasResp
	err = func() error {
		if err := wire.Write(s, HasReq{CIDs: strs}); err != nil {
			return err
		}
		if err := wire.Read(s, &resp); err != nil {
			return err
		}
		if err := resp.Err(); err != nil {
			return err
		}
		if len(resp.Has) != len(ids) {
			return fmt.Errorf("has: %d answers for %d cids", len(resp.Has), len(ids))
		}
		return nil
	}()
	return resp.Has, finish(s, err)
}

// DeleteShard asks p to drop its reference to id, proven by token.
func (c *Client) DeleteShard(ctx context.Context, p peer.ID, id cid.Cid, token [32]byte) error {
	if p == c.self {
		return c.st.Delete(id, token)
	}
	return c.simple(ctx, p, ProtoShardDelete, DeleteReq{CID: id.String(), Token: hex.EncodeToString(token[:])})
}

// DeleteManifest asks steward p to drop manifest id.
func (c *Client) DeleteManifest(ctx context.Context, p peer.ID, id cid.Cid, token [32]byte) error {
	if p == c.self {
		return c.sw.Delete(id, token)
	}
	return c.simple(ctx, p, ProtoManifestDel, DeleteReq{CID: id.String(), Token: hex.EncodeToString(token[:])})
}

func (c *Client) simple(ctx context.Context, p peer.ID, proto protocol.ID, req any) error {
	s, err := c.open(ctx, p, proto)
	if err != nil {
		return err
	}
	return finish(s, func() error {
		if err := wire.Write(s, req); err != nil {
			return err
		}
		var st Status
		if err := wire.Read(s, &st); err != nil {
			return err
		}
		return st.Err()
	}())
}

// PutManifest hands a manifest and its locations record to steward p.
func (c *Client) PutManifest(ctx context.Context, p peer.ID, id cid.Cid, body, loc []byte) error {
	if p == c.self {
		return c.sw.Accept(Origin{}, id, body, loc).Err()
	}
	s, err := c.open(ctx, p, ProtoManifestPut)
	if err != nil {
		return err
	}
	var res Status
	return finish(s, offer(s, ManifestPutReq{CID: id.String(), Size: len(body), LocationsLen: len(loc)}, &res, body, loc))
}

// GetManifest fetches manifest id and its locations record from p. The caller verifies both.
func (c *Client) GetManifest(ctx context.Context, p peer.ID, id cid.Cid) (body, loc []byte, err error) {
	if p == c.self {
		return c.sw.Load(id)
	}
	s, err := c.open(ctx, p, ProtoManifestGet)
	if err != nil {
		return nil, nil, err
	}
	err = func() error {
		if err := wire.Write(s, ManifestGetReq{CID: id.String()}); err != nil {
			return err
		}
		var resp ManifestGetResp
		if err := wire.Read(s, &resp); err != nil {
			return err
		}
		if err := resp.Err(); err != nil {
			return err
		}
		if resp.Size <= 0 || resp.Size > MaxManifest {
			return fmt.Errorf("manifest size %d out of range", resp.Size)
		}
		if resp.LocationsLen <= 0 || resp.LocationsLen > MaxLocations {
			return fmt.Errorf("locations size %d out of range", resp.LocationsLen)
		}
		if body, err = readExactly(s, resp.Size); err != nil {
			return err
		}
		loc, err = readExactly(s, resp.LocationsLen)
		return err
	}()
	return body, loc, finish(s, err)
}

// Info asks p what it advertises: free capacity and agent version.
func (c *Client) Info(ctx context.Context, p peer.ID) (Info, error) {
	var info Info
	if p == c.self {
		return Info{Status: Status{OK: true}, Free: c.st.Free(), Capacity: c.st.Capacity(), Used: c.st.Used()}, nil
	}
	s, err := c.open(ctx, p, ProtoInfo)
	if err != nil {
		return info, err
	}
	err = func() error {
		if err := wire.Write(s, InfoReq{}); err != nil {
			return err
		}
		if err := wire.Read(s, &info); err != nil {
			return err
		}
		return info.Err()
	}()
	return info, finish(s, err)
}
