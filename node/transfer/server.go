package transfer

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// headerTimeout bounds how long a peer may take to send a request header; bodies get bodyTimeout.
const (
	headerTimeout = 30 * time.Second
	bodyTimeout   = 5 * time.Minute
)

// Server answers the transfer protocols from a node's store.
type Server struct {
	h        host.Host
	st       *store.Store
	stewards *Stewardship
	agent    string
	log      *slog.Logger
}

// NewServer registers the handlers on h. Close removes them.
func NewServer(h host.Host, st *store.Store, sw *Stewardship, agent string, log *slog.Logger) *Server {
	s := &Server{h: h, st: st, stewards: sw, agent: agent, log: log}
	for id, fn := range s.handlers() {
		h.SetStreamHandler(id, s.wrap(id, fn))
	}
	return s
}

func (s *Server) handlers() map[protocol.ID]func(network.Stream) error {
	return map[protocol.ID]func(network.Stream) error{
		ProtoShardPut:    s.handlePut,
		ProtoShardGet:    s.handleGet,
		ProtoShardHas:    s.handleHas,
		ProtoShardDelete: s.handleDelete,
		ProtoManifestPut: s.handleManifestPut,
		ProtoManifestGet: s.handleManifestGet,
		ProtoManifestDel: s.handleManifestDelete,
		ProtoInfo:        s.handleInfo,
	}
}

// Close stops answering.
func (s *Server) Close() {
	for id := range s.handlers() {
		s.h.RemoveStreamHandler(id)
	}
}

// wrap gives every handler the same deadline, logging and clean close; a handler's error is
// logged at debug level because remote misbehaviour must not flood a node's log.
func (s *Server) wrap(id protocol.ID, fn func(network.Stream) error) network.StreamHandler {
	return func(st network.Stream) {
		_ = st.SetDeadline(time.Now().Add(headerTimeout))
		if err := fn(st); err != nil {
			s.log.Debug("stream handler failed", "protocol", id, "peer", st.Conn().RemotePeer(), "err", err)
			_ = st.Reset()
			return
		}
		_ = st.Close()
	}
}

func parseCID(s string) (cid.Cid, error) {
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, fmt.Errorf("malformed cid %q: %w", s, err)
	}
	return c, nil
}

func parse32(s string) ([32]byte, error) {
	var out [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return out, fmt.Errorf("want 64 hex characters")
	}
	copy(out[:], b)
	return out, nil
}

func (s *Server) handlePut(st network.Stream) error {
	var req putReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	c, err := parseCID(req.CID)
	if err == nil && (req.Size < 0 || req.Size > MaxShard) {
		err = fmt.Errorf("shard size %d out of range [0, %d]", req.Size, MaxShard)
	}
	var dh [32]byte
	if err == nil {
		dh, err = parse32(req.DeleteHash)
	}
	if err != nil {
		return wire.Write(st, wire.Fail(wire.CodeBadInput, err))
	}
	if free := s.st.Free(); !s.st.Has(c) && free < req.Size {
		return wire.Write(st, wire.Fail(wire.CodeFull, fmt.Errorf("%d bytes free, shard needs %d", free, req.Size)))
	}
	// Go-ahead: the uploader sends the body only once we agreed to take it.
	if err := wire.Write(st, Status{OK: true}); err != nil {
		return err
	}
	_ = st.SetDeadline(time.Now().Add(bodyTimeout))
	existed, err := s.st.Put(c, req.Size, io.LimitReader(st, req.Size), dh)
	if existed {
		// The store did not read the body; drain it so the uploader's write completes.
		_, _ = io.CopyN(io.Discard, st, req.Size)
	}
	return wire.Write(st, putResult{Status: statusOf(err), Existed: existed})
}

func (s *Server) handleGet(st network.Stream) error {
	var req getReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	c, err := parseCID(req.CID)
	if err != nil {
		return wire.Write(st, getResp{Status: wire.Fail(wire.CodeBadInput, err)})
	}
	f, blob, err := s.st.Open(c)
	if err != nil {
		return wire.Write(st, getResp{Status: statusOf(err)})
	}
	defer f.Close()
	_ = st.SetDeadline(time.Now().Add(bodyTimeout))
	if err := wire.Write(st, getResp{Status: Status{OK: true}, Size: blob.Size, OutboardLen: len(blob.Outboard)}); err != nil {
		return err
	}
	if _, err := st.Write(blob.Outboard); err != nil {
		return err
	}
	// Served as stored, unverified: the fetcher verifies against the CID chunk by chunk.
	_, err = io.CopyN(st, f, blob.Size)
	return err
}

func (s *Server) handleHas(st network.Stream) error {
	var req hasReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	if len(req.CIDs) > MaxHasBatch {
		return wire.Write(st, hasResp{Status: wire.Fail(wire.CodeBadInput, fmt.Errorf("%d cids exceed batch limit %d", len(req.CIDs), MaxHasBatch))})
	}
	out := make([]bool, len(req.CIDs))
	for i, cs := range req.CIDs {
		c, err := parseCID(cs)
		if err != nil {
			return wire.Write(st, hasResp{Status: wire.Fail(wire.CodeBadInput, err)})
		}
		out[i] = s.st.Has(c)
	}
	return wire.Write(st, hasResp{Status: Status{OK: true}, Has: out})
}

func (s *Server) handleDelete(st network.Stream) error {
	var req deleteReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	c, err := parseCID(req.CID)
	var tok [32]byte
	if err == nil {
		tok, err = parse32(req.Token)
	}
	if err != nil {
		return wire.Write(st, wire.Fail(wire.CodeBadInput, err))
	}
	return wire.Write(st, statusOf(s.st.Delete(c, tok)))
}

func (s *Server) handleManifestPut(st network.Stream) error {
	var req manifestPutReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	c, err := parseCID(req.CID)
	if err == nil && (req.Size <= 0 || req.Size > MaxManifest) {
		err = fmt.Errorf("manifest size %d out of range (0, %d]", req.Size, MaxManifest)
	}
	if err == nil && (req.LocationsLen <= 0 || req.LocationsLen > MaxLocations) {
		err = fmt.Errorf("locations size %d out of range (0, %d]", req.LocationsLen, MaxLocations)
	}
	if err != nil {
		return wire.Write(st, wire.Fail(wire.CodeBadInput, err))
	}
	if err := wire.Write(st, Status{OK: true}); err != nil {
		return err
	}
	_ = st.SetDeadline(time.Now().Add(bodyTimeout))
	body, err := readExactly(st, req.Size)
	if err != nil {
		return err
	}
	loc, err := readExactly(st, req.LocationsLen)
	if err != nil {
		return err
	}
	return wire.Write(st, s.stewards.Accept(c, body, loc))
}

func (s *Server) handleManifestGet(st network.Stream) error {
	var req manifestGetReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	c, err := parseCID(req.CID)
	if err != nil {
		return wire.Write(st, manifestGetResp{Status: wire.Fail(wire.CodeBadInput, err)})
	}
	body, loc, err := s.stewards.Load(c)
	if err != nil {
		return wire.Write(st, manifestGetResp{Status: statusOf(err)})
	}
	_ = st.SetDeadline(time.Now().Add(bodyTimeout))
	if err := wire.Write(st, manifestGetResp{Status: Status{OK: true}, Size: len(body), LocationsLen: len(loc)}); err != nil {
		return err
	}
	_, err = io.Copy(st, io.MultiReader(bytes.NewReader(body), bytes.NewReader(loc)))
	return err
}

func (s *Server) handleManifestDelete(st network.Stream) error {
	var req deleteReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	c, err := parseCID(req.CID)
	var tok [32]byte
	if err == nil {
		tok, err = parse32(req.Token)
	}
	if err != nil {
		return wire.Write(st, wire.Fail(wire.CodeBadInput, err))
	}
	return wire.Write(st, statusOf(s.stewards.Delete(c, tok)))
}

func (s *Server) handleInfo(st network.Stream) error {
	var req infoReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	return wire.Write(st, Info{Status: Status{OK: true}, Free: s.st.Free(), Capacity: s.st.Capacity(), Used: s.st.Used(), Agent: s.agent})
}

// readExactly reads n bytes, growing the buffer as bytes arrive rather than trusting a peer's
// announced size up front, so a lying header cannot make us allocate before sending anything.
func readExactly(r io.Reader, n int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, err
	}
	if len(b) != n {
		return nil, fmt.Errorf("short body: %d of %d bytes", len(b), n)
	}
	return b, nil
}
