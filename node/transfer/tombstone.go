package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/fxamacker/cbor/v2"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"lukechampine.com/blake3"
)

// ProtoManifestTombstone hands the stewards an unfinished removal: the manifest's delete token
// (the proof of authority) and the per-shard delete tokens of the shards whose holders did not
// answer. From then on the stewards serve the manifest to nobody and keep retrying the deletes,
// dropping the manifest only when every holder has confirmed.
const ProtoManifestTombstone = "/cairn/manifest/tombstone/2.0.0"

// PendingDelete is one shard a removal still has to delete.
type PendingDelete struct {
	Holder peer.ID
	Shard  cid.Cid
	Token  [32]byte
}

// tombstone is the record a steward keeps under tombKey; also the wire body.
type tombstone struct {
	Token   []byte        `cbor:"1,keyasint"`
	Pending []pendingWire `cbor:"2,keyasint"`
}

type pendingWire struct {
	Holder []byte `cbor:"1,keyasint"`
	Shard  []byte `cbor:"2,keyasint"` // 32-byte digest of a raw shard CID
	Token  []byte `cbor:"3,keyasint"`
}

type tombstoneReq struct {
	CID string `json:"cid"`
	Len int    `json:"len"`
}

func tombKey(c cid.Cid) string { return "tomb/" + c.String() }

var (
	tombEnc, _ = cbor.CoreDetEncOptions().EncMode()
	tombDec, _ = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		MaxArrayElements:  1 << 20,
		MaxNestedLevels:   8,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
	}.DecMode()
)

func encodeTombstone(token [32]byte, pending []PendingDelete) ([]byte, error) {
	t := tombstone{Token: token[:], Pending: make([]pendingWire, len(pending))}
	for i, p := range pending {
		d, err := codec.Digest(p.Shard)
		if err != nil {
			return nil, err
		}
		t.Pending[i] = pendingWire{Holder: []byte(p.Holder), Shard: d[:], Token: p.Token[:]}
	}
	return tombEnc.Marshal(&t)
}

func decodeTombstone(b []byte) (token [32]byte, pending []PendingDelete, err error) {
	var t tombstone
	if err := tombDec.Unmarshal(b, &t); err != nil {
		return token, nil, fmt.Errorf("tombstone: %w", err)
	}
	if len(t.Token) != 32 {
		return token, nil, errors.New("tombstone: token is not 32 bytes")
	}
	copy(token[:], t.Token)
	pending = make([]PendingDelete, len(t.Pending))
	for i, p := range t.Pending {
		if len(p.Shard) != 32 || len(p.Token) != 32 {
			return token, nil, fmt.Errorf("tombstone: item %d: shard and token must be 32 bytes", i)
		}
		h, err := peer.IDFromBytes(p.Holder)
		if err != nil {
			return token, nil, fmt.Errorf("tombstone: item %d: holder: %w", i, err)
		}
		pending[i] = PendingDelete{Holder: h, Shard: codec.CIDFromDigest(codec.CodecRaw, [32]byte(p.Shard)), Token: [32]byte(p.Token)}
	}
	return token, pending, nil
}

// Tombstone records an unfinished removal of manifest c: token must be the manifest's delete
// token, and every pending item a shard of c with its valid delete token. A removed manifest is
// no longer served or accepted.
func (s *Stewardship) Tombstone(c cid.Cid, token [32]byte, pending []PendingDelete) error {
	m, err := s.manifest(c)
	if err != nil {
		return err
	}
	if blake3.Sum256(token[:]) != m.DeleteHash {
		return fmt.Errorf("%w: not the manifest's delete token", store.ErrForbidden)
	}
	if err := checkPending(m, pending); err != nil {
		return err
	}
	b, err := encodeTombstone(token, pending)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.PutRecord(tombKey(c), b)
}

// checkPending accepts only shards of m with their own delete tokens, at most a few holders each.
func checkPending(m *manifest.Manifest, pending []PendingDelete) error {
	hashes := map[cid.Cid][32]byte{}
	for _, seg := range m.Segments {
		for i, sc := range seg.Shards {
			hashes[sc] = seg.DeleteHashes[i]
		}
	}
	if len(pending) > 4*len(hashes) {
		return fmt.Errorf("%w: %d pending deletes for %d shards", store.ErrForbidden, len(pending), len(hashes))
	}
	for i, p := range pending {
		h, ok := hashes[p.Shard]
		if !ok {
			return fmt.Errorf("%w: pending item %d: %s is not a shard of this file", store.ErrForbidden, i, p.Shard)
		}
		if blake3.Sum256(p.Token[:]) != h {
			return fmt.Errorf("%w: pending item %d: wrong delete token for %s", store.ErrForbidden, i, p.Shard)
		}
	}
	return nil
}

// removed reports whether c has a tombstone.
func (s *Stewardship) removed(c cid.Cid) bool {
	_, err := s.st.GetRecord(tombKey(c))
	return err == nil
}

// Removal is an unfinished removal this node stewards: the manifest token (the proof of
// authority), the shard deletes still pending, and the file's stewards (the latest appointed set),
// whose manifest copies go once no shard is left.
type Removal struct {
	Manifest cid.Cid
	Token    [32]byte
	Pending  []PendingDelete
	Stewards []peer.ID
}

// Removals calls fn for every unfinished removal this node stewards.
func (s *Stewardship) Removals(fn func(Removal) error) error {
	return s.st.ListRecords("tomb/", func(key string, val []byte) error {
		c, err := cid.Decode(strings.TrimPrefix(key, "tomb/"))
		if err != nil {
			return nil // not ours to interpret; leave it
		}
		token, pending, err := decodeTombstone(val)
		if err != nil {
			return nil
		}
		return fn(Removal{Manifest: c, Token: token, Pending: pending, Stewards: s.stewardsOf(c)})
	})
}

// RemovalOf returns c's unfinished removal, if this node holds its tombstone.
func (s *Stewardship) RemovalOf(c cid.Cid) (Removal, bool) {
	val, err := s.st.GetRecord(tombKey(c))
	if err != nil {
		return Removal{}, false
	}
	token, pending, err := decodeTombstone(val)
	if err != nil {
		return Removal{}, false
	}
	return Removal{Manifest: c, Token: token, Pending: pending, Stewards: s.stewardsOf(c)}, true
}

// stewardsOf is the latest steward set of c's record, if it has one.
func (s *Stewardship) stewardsOf(c cid.Cid) []peer.ID {
	b, err := s.st.GetRecord(locKey(c))
	if err != nil {
		return nil
	}
	loc, err := manifest.DecodeLocations(b)
	if err != nil || len(loc.Stewards) == 0 {
		return nil
	}
	return loc.Stewards[len(loc.Stewards)-1].Members
}

// FinishTombstone records which shard deletes of c are still pending. With done (no shard left
// and every other steward's copy gone) the manifest, its record and the tombstone are dropped.
func (s *Stewardship) FinishTombstone(c cid.Cid, remaining []PendingDelete, done bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	val, err := s.st.GetRecord(tombKey(c))
	if err != nil {
		return err
	}
	token, _, err := decodeTombstone(val)
	if err != nil {
		return err
	}
	if done {
		return s.deleteLocked(c, token)
	}
	b, err := encodeTombstone(token, remaining)
	if err != nil {
		return err
	}
	return s.st.PutRecord(tombKey(c), b)
}

// TombstoneServer answers ProtoManifestTombstone.
type TombstoneServer struct {
	h      host.Host
	sw     *Stewardship
	budget *Budget
}

// NewTombstoneServer registers the handler on h; a nil b means NewBudget(DefaultBudget()).
func NewTombstoneServer(h host.Host, sw *Stewardship, b *Budget) *TombstoneServer {
	if b == nil {
		b = NewBudget(DefaultBudget())
	}
	t := &TombstoneServer{h: h, sw: sw, budget: b}
	h.SetStreamHandler(ProtoManifestTombstone, handler(ProtoManifestTombstone, nil, t.serve))
	return t
}

// Close stops answering.
func (t *TombstoneServer) Close() { t.h.RemoveStreamHandler(ProtoManifestTombstone) }

func (t *TombstoneServer) serve(st network.Stream) error {
	var req tombstoneReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	c, err := parseCID(req.CID)
	if err == nil && (req.Len <= 0 || req.Len > MaxLocations) {
		err = fmt.Errorf("tombstone of %d bytes, want 1..%d", req.Len, MaxLocations)
	}
	if err != nil {
		return wire.Write(st, wire.Fail(wire.CodeBadInput, err))
	}
	release, err := t.budget.Acquire(st, req.Len)
	if err != nil {
		return wire.Write(st, wire.Fail(wire.CodeBusy, err))
	}
	defer release()
	if err := wire.Write(st, Status{OK: true}); err != nil {
		return err
	}
	_ = st.SetWriteDeadline(time.Now().Add(bodyTimeout(int64(req.Len)) + headerTimeout))
	body, err := readExactly(paced(st, int64(req.Len)), req.Len)
	if err != nil {
		return err
	}
	token, pending, err := decodeTombstone(body)
	if err != nil {
		return wire.Write(st, wire.Fail(wire.CodeBadInput, err))
	}
	return wire.Write(st, statusOf(t.sw.Tombstone(c, token, pending)))
}

// Tombstone hands steward p an unfinished removal of manifest c.
func (c *Client) Tombstone(ctx context.Context, p peer.ID, mc cid.Cid, token [32]byte, pending []PendingDelete) error {
	if p == c.self {
		return c.sw.Tombstone(mc, token, pending)
	}
	body, err := encodeTombstone(token, pending)
	if err != nil {
		return err
	}
	s, err := c.open(ctx, p, ProtoManifestTombstone)
	if err != nil {
		return err
	}
	var res Status
	return finish(s, offer(s, tombstoneReq{CID: mc.String(), Len: len(body)}, &res, body))
}
