package transfer

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
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

// shardPutBuffers is what storing a shard holds in memory besides the outboard: the store's
// write buffer and bao's group buffer.
const shardPutBuffers = 256<<10 + 16<<10

// shardGetBuffers is the copy buffer a served shard passes through, besides its outboard.
const shardGetBuffers = 32 << 10

// Server answers the transfer protocols from a node's store.
type Server struct {
	h        host.Host
	st       *store.Store
	stewards *Stewardship
	budget   *Budget
	agent    string
	log      *slog.Logger
	// OrphanLease is how long a newly stored shard is kept before the garbage collector checks
	// that a published manifest references it; 0 keeps shards for good at once.
	OrphanLease time.Duration
	// Draining is set while the node hands its shards away (graceful exit): it advertises no
	// free space and takes no new shards, so placement looks elsewhere.
	Draining atomic.Bool
	// Admit decides whether uploader may store shards here (e.g. its unsettled charges); nil
	// admits everyone. Set before peers can connect.
	Admit func(uploader peer.ID) error
	// served records the shards sent whole, for countersigning download receipts.
	served *Served
}

// lease is the lease a shard stored now gets.
func (s *Server) lease() int64 {
	if s.OrphanLease <= 0 {
		return 0
	}
	return time.Now().Add(s.OrphanLease).Unix()
}

// NewServer registers the handlers on h. Close removes them. Bodies held in memory are charged
// to b (nil: NewBudget(DefaultBudget())).
func NewServer(h host.Host, st *store.Store, sw *Stewardship, b *Budget, agent string, log *slog.Logger) *Server {
	if b == nil {
		b = NewBudget(DefaultBudget())
	}
	s := &Server{h: h, st: st, stewards: sw, budget: b, agent: agent, log: log, served: NewServed()}
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

// Served is the book of shards this server sent whole, per peer (see Countersigner).
func (s *Server) Served() *Served { return s.served }

// Close stops answering.
func (s *Server) Close() {
	for id := range s.handlers() {
		s.h.RemoveStreamHandler(id)
	}
}

// wrap gives every handler the same deadline, logging and clean close (see handler).
func (s *Server) wrap(id protocol.ID, fn func(network.Stream) error) network.StreamHandler {
	return handler(id, s.log, fn)
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

// origin names the peer at the other end of st, for quotas.
func origin(st network.Stream) Origin {
	return Origin{Account: st.Conn().RemotePeer().String(), Subnet: SubnetOf(st.Conn().RemoteMultiaddr())}
}

// ErrUnsettled is why a put is refused when Admit says no.
var ErrUnsettled = errors.New("unsettled charges above threshold")

// busy answers a refused reservation; the peer may retry later.
func busy(err error) Status { return wire.Fail(wire.CodeBusy, err) }

func (s *Server) handlePut(st network.Stream) error {
	var req ShardPutReq
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
	if err == nil && s.Draining.Load() {
		return wire.Write(st, wire.Fail(wire.CodeFull, errors.New("this node is exiting and takes no new shards")))
	}
	if err != nil {
		return wire.Write(st, wire.Fail(wire.CodeBadInput, err))
	}
	from := origin(st)
	if s.Admit != nil {
		if err := s.Admit(st.Conn().RemotePeer()); err != nil {
			if !errors.Is(err, ErrUnsettled) {
				err = fmt.Errorf("%w: %v", ErrUnsettled, err)
			}
			return wire.Write(st, wire.Fail(wire.CodePaymentRequired, err))
		}
	}
	// Quotas, capacity and disk are checked before the go-ahead, so a refusal costs one round trip.
	if err := s.st.Admit(c, req.Size, from.Account, from.Subnet); err != nil {
		return wire.Write(st, statusOf(err))
	}
	// The body streams to disk; what stays in memory is the outboard and fixed buffers.
	release, err := s.budget.Acquire(st, shardPutBuffers+bao.EncodedSize(int(req.Size), codec.BaoGroup, true))
	if err != nil {
		return wire.Write(st, busy(err))
	}
	defer release()
	// Go-ahead: the uploader sends the body only once we agreed to take it.
	if err := wire.Write(st, Status{OK: true}); err != nil {
		return err
	}
	body := paced(st, req.Size)
	_ = st.SetWriteDeadline(time.Now().Add(bodyTimeout(req.Size) + headerTimeout))
	// The store reads the body even for a blob it has: the uploader proves possession.
	existed, err := s.st.Put(c, req.Size, body, store.Ref{DeleteHash: dh, Account: from.Account, Subnet: from.Subnet, Lease: s.lease()})
	return wire.Write(st, ShardPutResp{Status: statusOf(err), Existed: existed})
}

func (s *Server) handleGet(st network.Stream) error {
	var req ShardGetReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	c, err := parseCID(req.CID)
	if err != nil {
		return wire.Write(st, ShardGetResp{Status: wire.Fail(wire.CodeBadInput, err)})
	}
	f, blob, err := s.st.Open(c)
	if err != nil {
		return wire.Write(st, ShardGetResp{Status: statusOf(err)})
	}
	defer f.Close()
	// The outboard is already loaded (at most MaxShard/256 bytes, from our own disk); charging it
	// now still bounds how many a peer can keep loaded by not reading.
	release, err := s.budget.Acquire(st, len(blob.Outboard)+shardGetBuffers)
	if err != nil {
		return wire.Write(st, ShardGetResp{Status: busy(err)})
	}
	defer release()
	_ = st.SetDeadline(time.Now().Add(bodyTimeout(blob.Size + int64(len(blob.Outboard)))))
	if err := wire.Write(st, ShardGetResp{Status: Status{OK: true}, Size: blob.Size, OutboardLen: len(blob.Outboard)}); err != nil {
		return err
	}
	if _, err := st.Write(blob.Outboard); err != nil {
		return err
	}
	// Served as stored, unverified: the fetcher verifies against the CID chunk by chunk.
	n, err := io.CopyBuffer(st, io.LimitReader(f, blob.Size), make([]byte, shardGetBuffers))
	if err == nil && n == blob.Size {
		s.served.Record(st.Conn().RemotePeer(), c, blob.Size)
	}
	return err
}

func (s *Server) handleHas(st network.Stream) error {
	var req HasReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	if len(req.CIDs) > MaxHasBatch {
		return wire.Write(st, HasResp{Status: wire.Fail(wire.CodeBadInput, fmt.Errorf("%d cids exceed batch limit %d", len(req.CIDs), MaxHasBatch))})
	}
	out := make([]bool, len(req.CIDs))
	for i, cs := range req.CIDs {
		c, err := parseCID(cs)
		if err != nil {
			return wire.Write(st, HasResp{Status: wire.Fail(wire.CodeBadInput, err)})
		}
		out[i] = s.st.Has(c)
	}
	return wire.Write(st, HasResp{Status: Status{OK: true}, Has: out})
}

func (s *Server) handleDelete(st network.Stream) error {
	var req DeleteReq
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
	var req ManifestPutReq
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
	// Both bodies are held until the steward has checked them: reserve them before the go-ahead.
	release, err := s.budget.Acquire(st, req.Size+req.LocationsLen)
	if err != nil {
		return wire.Write(st, busy(err))
	}
	defer release()
	if err := wire.Write(st, Status{OK: true}); err != nil {
		return err
	}
	r := paced(st, int64(req.Size+req.LocationsLen))
	_ = st.SetWriteDeadline(time.Now().Add(bodyTimeout(int64(req.Size+req.LocationsLen)) + headerTimeout))
	body, err := readExactly(r, req.Size)
	if err != nil {
		return err
	}
	loc, err := readExactly(r, req.LocationsLen)
	if err != nil {
		return err
	}
	return wire.Write(st, s.stewards.Accept(origin(st), c, body, loc))
}

func (s *Server) handleManifestGet(st network.Stream) error {
	var req ManifestGetReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	c, err := parseCID(req.CID)
	if err != nil {
		return wire.Write(st, ManifestGetResp{Status: wire.Fail(wire.CodeBadInput, err)})
	}
	body, loc, err := s.stewards.Load(c)
	if err != nil {
		return wire.Write(st, ManifestGetResp{Status: statusOf(err)})
	}
	// Loaded from our own store (at most MaxManifest + MaxLocations); charged while it is sent,
	// so a peer that does not read cannot keep many copies alive.
	release, err := s.budget.Acquire(st, len(body)+len(loc))
	if err != nil {
		return wire.Write(st, ManifestGetResp{Status: busy(err)})
	}
	defer release()
	_ = st.SetDeadline(time.Now().Add(bodyTimeout(int64(len(body) + len(loc)))))
	if err := wire.Write(st, ManifestGetResp{Status: Status{OK: true}, Size: len(body), LocationsLen: len(loc)}); err != nil {
		return err
	}
	_, err = io.Copy(st, io.MultiReader(bytes.NewReader(body), bytes.NewReader(loc)))
	return err
}

func (s *Server) handleManifestDelete(st network.Stream) error {
	var req DeleteReq
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
	var req InfoReq
	if err := wire.Read(st, &req); err != nil {
		return err
	}
	// Free is what this asker may still store here (its quotas included), so its placement skips a
	// node where it has used up its share instead of being refused shard by shard.
	from := origin(st)
	free := s.st.FreeFor(from.Account, from.Subnet)
	if s.Draining.Load() {
		free = 0
	}
	return wire.Write(st, Info{Status: Status{OK: true}, Free: free,
		Capacity: s.st.Capacity(), Used: s.st.Used(), Agent: s.agent})
}

// readChunk is the first allocation of readExactly and the least it grows by.
const readChunk = 64 << 10

// readExactly reads n bytes, growing the buffer only as bytes arrive (never past n, and never
// to more than twice what has arrived plus readChunk), so a lying header cannot make us
// allocate what the peer never sends.
func readExactly(r io.Reader, n int) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("negative body size %d", n)
	}
	b := make([]byte, 0, min(n, readChunk))
	for len(b) < n {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(n, max(2*cap(b), readChunk)))
			copy(nb, b)
			b = nb
		}
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err != nil {
			if errors.Is(err, io.EOF) && len(b) < n {
				return nil, fmt.Errorf("short body: %d of %d bytes", len(b), n)
			}
			if len(b) < n {
				return nil, fmt.Errorf("body after %d of %d bytes: %w", len(b), n, err)
			}
		}
	}
	return b, nil
}

// pacedReader makes a body arrive at minRate or better: byte i must be in by
// start + bodyGrace + i/minRate, and no read may wait longer than bodyGrace, so a stalled or
// trickling sender is cut off about bodyGrace after it falls behind or goes silent, whatever
// size it claimed.
type pacedReader struct {
	st    network.Stream
	start time.Time
	got   int64
	left  int64
}

// paced reads at most n bytes of st's body under the minimum-rate schedule.
func paced(st network.Stream, n int64) io.Reader {
	return &pacedReader{st: st, start: time.Now(), left: n}
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	// Small reads keep the schedule tight: a deadline is never more than readChunk ahead.
	b = b[:min(int64(len(b)), p.left, readChunk)]
	due := p.start.Add(bodyGrace + time.Duration(p.got+int64(len(b)))*time.Second/minRate)
	// A sender that got ahead of the schedule still may not go silent for longer than bodyGrace.
	if idle := time.Now().Add(bodyGrace); idle.Before(due) {
		due = idle
	}
	_ = p.st.SetReadDeadline(due)
	n, err := p.st.Read(b)
	p.got += int64(n)
	p.left -= int64(n)
	return n, err
}
