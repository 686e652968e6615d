package transfer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mh "github.com/multiformats/go-multihash"
	"lukechampine.com/blake3"
)

func newHost(t *testing.T) host.Host {
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// pair returns a client host connected to a server host that answers from its own store.
func pair(t *testing.T) (*Client, host.Host, *store.Store) {
	srv := newHost(t)
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	NewServer(srv, st, NewStewardship(st, nil), nil, "test", slog.New(slog.DiscardHandler))
	cl := newHost(t)
	if err := cl.Connect(context.Background(), peer.AddrInfo{ID: srv.ID(), Addrs: srv.Addrs()}); err != nil {
		t.Fatal(err)
	}
	own, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { own.Close() })
	return NewClient(cl, own, NewStewardship(own, nil)), srv, st
}

func shardCID(b []byte) cid.Cid {
	d := blake3.Sum256(b)
	m, _ := mh.Encode(d[:], mh.BLAKE3)
	return cid.NewCidV1(cid.Raw, m)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestShardRoundTripAndDelete(t *testing.T) {
	c, srv, st := pair(t)
	data := bytes.Repeat([]byte("cairn"), 50_000)
	id := shardCID(data)
	tok := [32]byte{7}
	if err := c.PutShard(ctx(t), srv.ID(), id, data, blake3.Sum256(tok[:])); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetShard(ctx(t), srv.ID(), id, int64(len(data)), nil)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %v", err)
	}
	has, err := c.HasShards(ctx(t), srv.ID(), []cid.Cid{id, shardCID([]byte("other"))})
	if err != nil || !has[0] || has[1] {
		t.Fatalf("has: %v %v", has, err)
	}
	if err := c.DeleteShard(ctx(t), srv.ID(), id, [32]byte{8}); err == nil {
		t.Fatal("delete with a wrong token succeeded")
	}
	if err := c.DeleteShard(ctx(t), srv.ID(), id, tok); err != nil || st.Has(id) {
		t.Fatalf("delete: %v, still there: %v", err, st.Has(id))
	}
	if _, err := c.GetShard(ctx(t), srv.ID(), id, int64(len(data)), nil); !IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
	info, err := c.Info(ctx(t), srv.ID())
	if err != nil || info.Agent != "test" || info.Free <= 0 {
		t.Fatalf("info: %+v %v", info, err)
	}
}

func TestHolderRefusesBytesThatDoNotMatch(t *testing.T) {
	c, srv, st := pair(t)
	id := shardCID([]byte("the real shard"))
	err := c.PutShard(ctx(t), srv.ID(), id, []byte("something else!"), [32]byte{})
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != wire.CodeMismatch || st.Has(id) {
		t.Fatalf("put of wrong bytes: %v (kept: %v)", err, st.Has(id))
	}
}

func TestLyingHolderIsCaught(t *testing.T) {
	c, srv, st := pair(t)
	data := bytes.Repeat([]byte{1, 2, 3}, 100_000)
	id := shardCID(data)
	if err := c.PutShard(ctx(t), srv.ID(), id, data, [32]byte{}); err != nil {
		t.Fatal(err)
	}
	f, _, err := st.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	p, _ := st.BlobPath(id)
	flipByte(t, p, 200_000)
	if _, err := c.GetShard(ctx(t), srv.ID(), id, int64(len(data)), nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt holder: %v, want ErrCorrupt", err)
	}
	// Asking for a different size than the holder has is a lie too.
	if _, err := c.GetShard(ctx(t), srv.ID(), id, int64(len(data))-1, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("size mismatch: %v, want ErrCorrupt", err)
	}
}

// raw sends bytes on a fresh stream and returns the server's framed answer, if any.
func raw(t *testing.T, c *Client, p peer.ID, proto protocol.ID, msg []byte) (Status, error) {
	s, err := c.h.NewStream(ctx(t), p, proto)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := s.Write(msg); err != nil {
		return Status{}, err
	}
	_ = s.CloseWrite()
	var st Status
	return st, wire.Read(s, &st)
}

// frame is one CBOR header, as wire.Write would send it.
func frame(v any) []byte {
	b, err := wire.Marshal(v)
	if err != nil {
		panic(err)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

type m = map[string]any

func TestMalformedRequestsAreRefusedWithAReason(t *testing.T) {
	c, srv, _ := pair(t)
	cases := []struct {
		proto protocol.ID
		msg   []byte
	}{
		{ProtoShardPut, frame(m{"cid": "not-a-cid", "size": 3, "delete_hash": "00"})},
		{ProtoShardPut, frame(m{"cid": "bafkr4ie5rsnyyxfmdnvbtw26pgq6tdn7cjgtaxo6xsqjwsh6kxm2g6gvb4", "size": -1, "delete_hash": "00"})},
		{ProtoShardPut, frame(m{"cid": "bafkr4ie5rsnyyxfmdnvbtw26pgq6tdn7cjgtaxo6xsqjwsh6kxm2g6gvb4", "size": 3, "delete_hash": "zz"})},
		{ProtoShardGet, frame(m{"cid": "x"})},
		{ProtoShardDelete, frame(m{"cid": "x", "token": "00"})},
		{ProtoManifestPut, frame(m{"cid": "x", "size": 10, "locations_len": 5})},
		{ProtoManifestGet, frame(m{"cid": ""})},
		{ProtoShardHas, frame(m{"cids": make([]string, MaxHasBatch+1)})},
	}
	for i, tc := range cases {
		st, err := raw(t, c, srv.ID(), tc.proto, tc.msg)
		if err != nil || st.OK || st.Code != wire.CodeBadInput || st.Error == "" {
			t.Errorf("case %d (%s): status %+v err %v, want bad_input with a reason", i, tc.proto, st, err)
		}
	}
	// Garbage framing gets the stream reset, not a panic; the server keeps serving.
	json := append(binary.BigEndian.AppendUint32(nil, 11), `{"cid":"x"}`...)
	for _, junk := range [][]byte{{0xff, 0xff, 0xff, 0xff}, json, frame(m{"evil": 1}), frame(m{"CID": "x"})} {
		if _, err := raw(t, c, srv.ID(), ProtoShardGet, junk); err == nil {
			t.Errorf("junk %q answered as if valid", junk)
		}
	}
	if _, err := c.Info(ctx(t), srv.ID()); err != nil {
		t.Fatalf("server stopped answering after malformed input: %v", err)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// Stat of a file with many shards on one holder asks in batches: every one is found.
func TestHasShardsBatchesPastTheLimit(t *testing.T) {
	c, srv, st := pair(t)
	const n = 2*MaxHasBatch + 7
	ids := make([]cid.Cid, n)
	for i := range ids {
		ids[i] = shardCID(binary.BigEndian.AppendUint32(nil, uint32(i)))
	}
	// Store every third one on the holder.
	for i := 0; i < n; i += 3 {
		data := binary.BigEndian.AppendUint32(nil, uint32(i))
		if err := c.PutShard(ctx(t), srv.ID(), ids[i], data, [32]byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	has, err := c.HasShards(ctx(t), srv.ID(), ids)
	if err != nil || len(has) != n {
		t.Fatalf("has: %d answers, %v", len(has), err)
	}
	for i, h := range has {
		if h != (i%3 == 0) || h != st.Has(ids[i]) {
			t.Fatalf("cid %d: has=%v, stored=%v", i, h, st.Has(ids[i]))
		}
	}
	// A full batch of Cairn CIDs fits in one header.
	strs := make([]string, MaxHasBatch)
	for i := range strs {
		strs[i] = ids[i].String()
	}
	if b, err := wire.Marshal(HasReq{CIDs: strs}); err != nil || len(b) > wire.MaxHeader {
		t.Fatalf("a batch of %d cids is %d bytes (max %d): %v", MaxHasBatch, len(b), wire.MaxHeader, err)
	}
}
