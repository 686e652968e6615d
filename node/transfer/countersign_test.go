package transfer

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/cairn-storage/cairn/payments"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// csFixture is a holder that serves shards and countersigns, and a downloader connected to it.
type csFixture struct {
	srv    host.Host
	server *Server
	c      *Client
	owner  peer.ID
	shards map[string][]byte // by CID string
}

func newCSFixture(t *testing.T) *csFixture {
	srv := newHost(t)
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	server := NewServer(srv, st, NewStewardship(st, nil), nil, "test", slog.New(slog.DiscardHandler))
	cs := NewCountersigner(srv, srv.Peerstore().PrivKey(srv.ID()), server.Served(), nil)
	t.Cleanup(cs.Close)
	cl := newHost(t)
	connect(t, cl, srv)
	_, owner := key(t)
	return &csFixture{srv: srv, server: server, c: NewClient(cl, nil, nil), owner: owner, shards: map[string][]byte{}}
}

// put stores a shard of n bytes on the holder (without fetching it) and returns its CID.
func (f *csFixture) put(t *testing.T, n int, seed byte) cid.Cid {
	data := bytes.Repeat([]byte{seed, seed + 1, 3}, n/3+1)[:n]
	id := shardCID(data)
	if err := f.c.PutShard(ctx(t), f.srv.ID(), id, data, [32]byte{seed}); err != nil {
		t.Fatal(err)
	}
	f.shards[id.String()] = data
	return id
}

// get fetches a shard from the holder and waits until the holder has recorded sending it.
func (f *csFixture) get(t *testing.T, id cid.Cid) {
	t.Helper()
	before := f.server.Served().Len()
	if _, err := f.c.GetShard(ctx(t), f.srv.ID(), id, int64(len(f.shards[id.String()])), nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.server.Served().Len() == before {
		if time.Now().After(deadline) {
			t.Fatal("the holder did not record the shard it sent")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// body is the downloader's receipt for all of shard id.
func (f *csFixture) body(id cid.Cid) *payments.Download {
	size := int64(len(f.shards[id.String()]))
	nonce := make([]byte, payments.NonceSize)
	_, _ = rand.Read(nonce)
	return &payments.Download{Server: []byte(f.srv.ID()), Manifest: codec.BlobCID(codec.CodecCBOR, []byte("manifest")).Bytes(),
		Shard: id.Bytes(), Owner: []byte(f.owner), Partner: "kicad", Bytes: size, ShardSize: size, Nonce: nonce,
		Downloader: []byte(f.c.self)}
}

// refusals returns the per-body refusals of a Countersign error, failing on any other error.
func refusals(t *testing.T, err error, n int) CountersignRefusals {
	t.Helper()
	if err == nil {
		return make(CountersignRefusals, n)
	}
	var r CountersignRefusals
	if !errors.As(err, &r) || len(r) != n {
		t.Fatalf("countersign: %v, want per-body refusals of %d bodies", err, n)
	}
	return r
}

func TestCountersignHonestDownload(t *testing.T) {
	f := newCSFixture(t)
	a, b := f.put(t, 100_000, 1), f.put(t, 5000, 2)
	f.get(t, a)
	f.get(t, b)
	f.get(t, b) // fetched twice: two receipts
	bodies := []*payments.Download{f.body(a), f.body(b), f.body(b)}
	bodies[1].Bytes = 4000 // a partial download may claim fewer bytes
	if err := f.c.Countersign(ctx(t), f.srv.ID(), bodies); err != nil {
		t.Fatal(err)
	}
	// Each receipt is what the ledger accepts from the downloader: its own entry, the server's
	// countersignature.
	priv := f.c.h.Peerstore().PrivKey(f.c.self)
	v := payments.NewValidator(payments.ValidatorParams{})
	var prev *payments.Entry
	for i, d := range bodies {
		if err := d.VerifyCounterSig(); err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		raw, err := payments.EncodeBody(d)
		if err != nil {
			t.Fatal(err)
		}
		seq, prevID := payments.Next(prev)
		e := &payments.Entry{Kind: payments.KindDownload, Seq: seq, Prev: prevID, Time: time.Now().Unix(), Body: raw}
		if err := payments.Sign(priv, e); err != nil {
			t.Fatal(err)
		}
		b, _ := payments.Encode(e)
		if _, _, err := v.Add(b, time.Now().Unix()); err != nil {
			t.Fatalf("body %d: the ledger refuses the receipt: %v", i, err)
		}
		prev = e
	}
	if n := f.server.Served().Len(); n != 0 {
		t.Fatalf("%d sendings left after countersigning all", n)
	}
}

func TestCountersignRefusals(t *testing.T) {
	f := newCSFixture(t)
	a, never := f.put(t, 30_000, 1), f.put(t, 20_000, 2)
	f.get(t, a)
	_, stranger := key(t)
	more := f.body(a)
	more.Bytes++ // more than the shard
	bigger := f.body(a)
	bigger.ShardSize++
	bigger.Bytes = bigger.ShardSize // claims a larger shard than was sent
	otherDownloader := f.body(a)
	otherDownloader.Downloader = []byte(stranger)
	otherServer := f.body(a)
	otherServer.Server = []byte(stranger)
	badNonce := f.body(a)
	badNonce.Nonce = badNonce.Nonce[:8]
	notShard := f.body(a)
	notShard.Shard = notShard.Manifest
	bodies := []*payments.Download{f.body(never), more, bigger, otherDownloader, otherServer, badNonce, notShard, f.body(a)}
	want := []string{wire.CodeForbidden, wire.CodeBadInput, wire.CodeForbidden, wire.CodeForbidden, wire.CodeForbidden,
		wire.CodeBadInput, wire.CodeBadInput, ""}
	r := refusals(t, f.c.Countersign(ctx(t), f.srv.ID(), bodies), len(bodies))
	for i, code := range want {
		var re *wire.RemoteError
		switch {
		case code == "" && (r[i] != nil || bodies[i].VerifyCounterSig() != nil):
			t.Errorf("body %d: %v, want countersigned", i, r[i])
		case code != "" && (!errors.As(r[i], &re) || re.Code != code || re.Msg == "" || bodies[i].ServerSig != nil):
			t.Errorf("body %d: %v (sig %x), want a %s refusal", i, r[i], bodies[i].ServerSig, code)
		}
	}
	// The sending backed one receipt (the last body, after the bad ones): a replay is refused,
	// even with a fresh nonce.
	again := []*payments.Download{f.body(a)}
	r = refusals(t, f.c.Countersign(ctx(t), f.srv.ID(), again), 1)
	if !wire.IsCode(r[0], wire.CodeForbidden) || again[0].ServerSig != nil {
		t.Fatalf("second countersign of one sending: %v", r[0])
	}
	if err := f.c.Countersign(ctx(t), f.c.self, again); err == nil {
		t.Fatal("countersigned by itself")
	}
}

// The client batches past MaxCountersign, one exchange per batch.
func TestCountersignBatches(t *testing.T) {
	f := newCSFixture(t)
	a := f.put(t, 1000, 1)
	n := MaxCountersign + 3
	for range n {
		f.get(t, a)
	}
	bodies := make([]*payments.Download, n)
	for i := range bodies {
		bodies[i] = f.body(a)
	}
	if err := f.c.Countersign(ctx(t), f.srv.ID(), bodies); err != nil {
		t.Fatal(err)
	}
	for i, d := range bodies {
		if d.VerifyCounterSig() != nil {
			t.Fatalf("body %d not countersigned", i)
		}
	}
}

// A server that answers with signatures that do not verify earns nothing: the client keeps
// only valid countersignatures, checked against the server's own key.
func TestCountersignClientChecksSignatures(t *testing.T) {
	liar := newHost(t)
	liar.SetStreamHandler(ProtoCountersign, func(s network.Stream) {
		defer s.Close()
		var req countersignReq
		if wire.Read(s, &req) != nil {
			s.Reset()
			return
		}
		resp := countersignResp{Status: Status{OK: true}}
		other, _, _ := crypto.GenerateEd25519Key(rand.Reader)
		for i := range req.Bodies {
			d := req.Bodies[i]
			switch i {
			case 0: // random bytes
				sig := make([]byte, 64)
				_, _ = rand.Read(sig)
				resp.Answers = append(resp.Answers, entryAnswer{Sig: sig})
			case 1: // another key's valid signature
				_ = payments.CounterSign(other, &d)
				resp.Answers = append(resp.Answers, entryAnswer{Sig: d.ServerSig})
			default: // a signature of a different body
				d.Bytes--
				_ = payments.CounterSign(liar.Peerstore().PrivKey(liar.ID()), &d)
				resp.Answers = append(resp.Answers, entryAnswer{Sig: d.ServerSig})
			}
		}
		_ = wire.Write(s, resp)
	})
	f := newCSFixture(t)
	connect(t, f.c.h, liar)
	a := f.put(t, 1000, 1)
	bodies := []*payments.Download{f.body(a), f.body(a), f.body(a)}
	for _, d := range bodies {
		d.Server = []byte(liar.ID())
	}
	r := refusals(t, f.c.Countersign(ctx(t), liar.ID(), bodies), 3)
	for i, d := range bodies {
		if r[i] == nil || d.ServerSig != nil {
			t.Errorf("body %d: bad signature accepted (%v)", i, r[i])
		}
	}
	// An answer with the wrong number of signatures fails the exchange.
	liar.SetStreamHandler(ProtoCountersign, func(s network.Stream) {
		defer s.Close()
		var req countersignReq
		_ = wire.Read(s, &req)
		_ = wire.Write(s, countersignResp{Status: Status{OK: true}})
	})
	err := f.c.Countersign(ctx(t), liar.ID(), bodies)
	var cr CountersignRefusals
	if err == nil || errors.As(err, &cr) {
		t.Fatalf("short answer: %v", err)
	}
}

// Garbage, oversized and malformed requests get bad_input or a reset, never a panic, and
// consume nothing; the server keeps answering.
func TestCountersignMalformedRequests(t *testing.T) {
	f := newCSFixture(t)
	a := f.put(t, 1000, 1)
	f.get(t, a)
	send := func(msg []byte) (countersignResp, error) {
		s, err := f.c.h.NewStream(ctx(t), f.srv.ID(), ProtoCountersign)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_ = s.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := s.Write(msg); err != nil {
			return countersignResp{}, err
		}
		_ = s.CloseWrite()
		var resp countersignResp
		return resp, wire.Read(s, &resp)
	}
	tooMany := make([]payments.Download, MaxCountersign+1)
	for i := range tooMany {
		tooMany[i] = *f.body(a)
	}
	for i, msg := range [][]byte{frame(m{}), frame(m{"bodies": []any{}}), frame(countersignReq{Bodies: tooMany})} {
		resp, err := send(msg)
		if err != nil || resp.OK || resp.Code != wire.CodeBadInput || resp.Error == "" {
			t.Errorf("case %d: %+v %v, want bad_input", i, resp, err)
		}
	}
	huge := binary.BigEndian.AppendUint32(nil, wire.MaxHeader+1)
	huge = append(huge, make([]byte, 1024)...)
	signed := *f.body(a)
	signed.ServerSig = make([]byte, 64)
	junk := [][]byte{
		{0xff, 0xff, 0xff, 0xff},
		huge,
		frame(m{"evil": 1}),
		frame(m{"bodies": []any{"not a body"}}),
		frame(m{"bodies": []any{map[int]any{99: 1}}}),
		frame(m{"bodies": []any{map[int]any{6: "many"}}}),
		append(binary.BigEndian.AppendUint32(nil, 100), 0xa1, 0x66),
	}
	for i, msg := range junk {
		if resp, err := send(msg); err == nil {
			t.Errorf("junk %d answered %+v", i, resp)
		}
	}
	// Well-formed CBOR with bad values: refused body by body, nothing consumed.
	zero := payments.Download{}
	resp, err := send(frame(countersignReq{Bodies: []payments.Download{zero, signed}}))
	if err != nil || !resp.OK || len(resp.Answers) != 2 || resp.Answers[0].Code != wire.CodeBadInput || resp.Answers[1].Code != wire.CodeBadInput {
		t.Fatalf("bad values: %+v %v", resp, err)
	}
	if err := f.c.Countersign(ctx(t), f.srv.ID(), []*payments.Download{f.body(a)}); err != nil {
		t.Fatalf("server stopped countersigning after malformed input: %v", err)
	}
}

// Countersigning holds memory from the node's budget; a peer out of budget is told busy.
func TestCountersignChargesTheBudget(t *testing.T) {
	srv := newHost(t)
	b := NewBudget(BudgetLimits{PerPeer: countersignMemory - 1, PerSubnet: 1 << 30, PerNode: 1 << 30})
	cs := NewCountersigner(srv, srv.Peerstore().PrivKey(srv.ID()), NewServed(), b)
	t.Cleanup(cs.Close)
	cl := newHost(t)
	connect(t, cl, srv)
	c := NewClient(cl, nil, nil)
	d := &payments.Download{Server: []byte(srv.ID()), Downloader: []byte(cl.ID())}
	if err := c.Countersign(ctx(t), srv.ID(), []*payments.Download{d}); !wire.IsCode(err, wire.CodeBusy) {
		t.Fatalf("over budget: %v, want busy", err)
	}
	if b.Held() != 0 {
		t.Fatalf("%d bytes still held", b.Held())
	}
}
