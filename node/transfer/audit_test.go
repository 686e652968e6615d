package transfer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/audit"
	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"lukechampine.com/blake3"
	"lukechampine.com/blake3/bao"
)

// auditNonce is fixed so tests are deterministic; real challengers draw it from crypto/rand.
var auditNonce = [32]byte{0xa0, 1, 2, 3}

// auditData returns n deterministic bytes that do not compress or repeat by group.
func auditData(seed string, n int) []byte {
	b := make([]byte, n)
	h := blake3.New(32, nil)
	h.Write([]byte(seed))
	h.XOF().Read(b)
	return b
}

// auditSetup is a client, and a holder with an Auditor (budget b) storing shards of sizes.
func auditSetup(t *testing.T, b *Budget, sizes ...int) (*Client, host.Host, *store.Store, []AuditItem, [][]byte) {
	t.Helper()
	c, srv, st := pair(t)
	NewAuditor(srv, st, b)
	items := make([]AuditItem, len(sizes))
	datas := make([][]byte, len(sizes))
	for i, n := range sizes {
		datas[i] = auditData(fmt.Sprint("shard ", i), n)
		items[i] = AuditItem{Shard: shardCID(datas[i]), Size: int64(n)}
		if err := c.PutShard(ctx(t), srv.ID(), items[i].Shard, datas[i], [32]byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	return c, srv, st, items, datas
}

func wantAuditVerdicts(t *testing.T, got []AuditVerdict, err error, want ...AuditVerdict) {
	t.Helper()
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("verdicts %v, want %v", got, want)
	}
}

func TestAuditHonestHolderPasses(t *testing.T) {
	b := NewBudget(DefaultBudget())
	c, srv, _, items, _ := auditSetup(t, b, 1, audit.GroupSize, audit.GroupSize+1, 40<<10, 1<<20+5)
	for _, ranges := range []int{1, audit.DefaultRangesPerShard, MaxAuditRanges} {
		for n := range uint8(3) {
			nonce := auditNonce
			nonce[31] = n
			got, err := c.Audit(ctx(t), srv.ID(), nonce, ranges, items)
			wantAuditVerdicts(t, got, err, AuditPassed, AuditPassed, AuditPassed, AuditPassed, AuditPassed)
		}
	}
	waitHeld(t, b, 0)
}

// A holder whose file was overwritten or truncated, or that never had the shard or has it at
// another size, fails that item only.
func TestAuditFailsDamagedAndMissingShards(t *testing.T) {
	c, srv, st, items, datas := auditSetup(t, nil, 200<<10, 200<<10, 100<<10, 64<<10)
	overwritten, err := st.BlobPath(items[1].Shard)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(overwritten, auditData("garbage", len(datas[1])), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated, _ := st.BlobPath(items[2].Shard)
	if err := os.Truncate(truncated, 10<<10); err != nil {
		t.Fatal(err)
	}
	missing := AuditItem{Shard: shardCID([]byte("never stored")), Size: 12}
	wrongSize := AuditItem{Shard: items[3].Shard, Size: items[3].Size + 1}
	got, err := c.Audit(ctx(t), srv.ID(), auditNonce, audit.DefaultRangesPerShard, append(items, missing, wrongSize))
	wantAuditVerdicts(t, got, err, AuditPassed, AuditFailed, AuditFailed, AuditPassed, AuditFailed, AuditFailed)
}

// The client refuses questions out of bounds before sending them, and the holder refuses them
// with bad_input when a peer sends them anyway.
func TestAuditRequestBounds(t *testing.T) {
	c, srv, _, items, _ := auditSetup(t, nil, 100)
	many := make([]AuditItem, MaxAuditItems+1)
	for i := range many {
		many[i] = items[0]
	}
	bad := map[string]struct {
		ranges int
		items  []AuditItem
	}{
		"too many items":  {2, many},
		"no items":        {2, nil},
		"no ranges":       {0, items},
		"too many ranges": {MaxAuditRanges + 1, items},
		"empty shard":     {2, []AuditItem{{Shard: items[0].Shard, Size: 0}}},
		"huge shard":      {2, []AuditItem{{Shard: items[0].Shard, Size: MaxShard + 1}}},
		"undefined cid":   {2, []AuditItem{{Size: 5}}},
	}
	for name, tc := range bad {
		var re *wire.RemoteError
		if _, err := c.Audit(ctx(t), srv.ID(), auditNonce, tc.ranges, tc.items); err == nil || errors.As(err, &re) {
			t.Errorf("%s: client sent it (%v)", name, err)
		}
	}
	if _, err := c.Audit(ctx(t), srv.ID(), auditNonce, 2, many[:MaxAuditItems]); err != nil {
		t.Fatalf("a full batch of %d items: %v", MaxAuditItems, err)
	}
	full := newAuditReqFrame(t, auditNonce[:], 2, many[:MaxAuditItems])
	if len(full) > 16<<10 {
		t.Errorf("a full audit header is %d bytes, over the 16 KiB it is documented to fit", len(full))
	}
	shard := items[0].Shard.Bytes()
	for name, msg := range map[string][]byte{
		"too many items": newAuditReqFrame(t, auditNonce[:], 2, many),
		"ranges 9":       newAuditReqFrame(t, auditNonce[:], 9, items),
		"short nonce":    newAuditReqFrame(t, auditNonce[:31], 2, items),
		"bad cid":        frame(m{"nonce": auditNonce[:], "ranges": 2, "items": []m{{"shard": []byte{1, 2, 3}, "size": 5}}}),
		"sha256 cid":     frame(m{"nonce": auditNonce[:], "ranges": 2, "items": []m{{"shard": cid.NewCidV1(cid.Raw, auditSHA256Multihash()).Bytes(), "size": 5}}}),
		"negative size":  frame(m{"nonce": auditNonce[:], "ranges": 2, "items": []m{{"shard": shard, "size": -5}}}),
	} {
		st, err := raw(t, c, srv.ID(), ProtoAudit, msg)
		if err != nil || st.OK || st.Code != wire.CodeBadInput || st.Error == "" {
			t.Errorf("%s: status %+v err %v, want bad_input with a reason", name, st, err)
		}
	}
}

// auditSHA256Multihash is a well-formed multihash that is not BLAKE3: sha2-256 (0x12), 32 bytes.
func auditSHA256Multihash() []byte {
	return append([]byte{0x12, 0x20}, make([]byte, 32)...)
}

func newAuditReqFrame(t *testing.T, nonce []byte, ranges int, items []AuditItem) []byte {
	t.Helper()
	h := auditReq{Nonce: nonce, Ranges: ranges}
	for _, it := range items {
		h.Items = append(h.Items, auditReqItem{Shard: it.Shard.Bytes(), Size: it.Size})
	}
	return frame(h)
}

// A holder over its memory budget says busy: no usable answer, an error.
func TestAuditChargesTheBudget(t *testing.T) {
	b := NewBudget(BudgetLimits{PerPeer: 16 << 10, PerSubnet: 1 << 20, PerNode: 1 << 20})
	c, srv, _, items, _ := auditSetup(t, b, 1<<20)
	if _, err := c.Audit(ctx(t), srv.ID(), auditNonce, 2, items); !wire.IsCode(err, wire.CodeBusy) {
		t.Fatalf("audit past the budget: %v, want busy", err)
	}
	waitHeld(t, b, 0)
}

func TestAuditOfSelf(t *testing.T) {
	c, _, _ := pair(t)
	data := auditData("mine", 70<<10)
	id := shardCID(data)
	if err := c.PutShard(ctx(t), c.self, id, data, [32]byte{}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Audit(ctx(t), c.self, auditNonce, 2, []AuditItem{{id, int64(len(data))}, {shardCID([]byte("x")), 1}})
	wantAuditVerdicts(t, got, err, AuditPassed, AuditFailed)
}

// auditLiar answers audits on a host of its own with behave, given the decoded request and the
// honest answer (header and proofs) it could have sent.
func auditLiar(t *testing.T, c *Client, items []AuditItem, datas [][]byte, behave func(s network.Stream, honest []byte)) peer.ID {
	t.Helper()
	h := newHost(t)
	h.SetStreamHandler(ProtoAudit, func(s network.Stream) {
		defer s.Reset()
		_ = s.SetDeadline(time.Now().Add(20 * time.Second))
		var hdr auditReq
		if err := wire.Read(s, &hdr); err != nil {
			return
		}
		req, err := decodeAuditRequest(hdr)
		if err != nil {
			return
		}
		var honest bytes.Buffer
		has := make([]bool, len(req.items))
		for i := range has {
			has[i] = true
		}
		_ = wire.Write(&honest, auditResp{Status: Status{OK: true}, Has: has})
		for i := range req.items {
			b := auditShardData(items, datas, req.items[i].Shard)
			ob, _ := bao.EncodeBuf(b, codec.BaoGroup, true)
			if audit.Prove(&honest, bytes.NewReader(b), ob, int64(len(b)), req.rangesOf(i)) != nil {
				return // the challenger sees a reset, and the test case fails
			}
		}
		behave(s, honest.Bytes())
	})
	if err := c.h.Connect(context.Background(), peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}); err != nil {
		t.Fatal(err)
	}
	return h.ID()
}

// auditShardData is the bytes of shard id among items (nil if it is not one of them).
func auditShardData(items []AuditItem, datas [][]byte, id cid.Cid) []byte {
	for i, it := range items {
		if it.Shard.Equals(id) {
			return datas[i]
		}
	}
	return nil
}

// A misbehaving holder gets an error (no usable answer) or AuditFailed, never a panic or a hang.
func TestAuditMisbehavingHolders(t *testing.T) {
	old := auditGrace
	auditGrace = time.Second
	t.Cleanup(func() { auditGrace = old })
	c, _, _ := pair(t)
	datas := [][]byte{auditData("a", 50<<10), auditData("b", 20<<10)}
	items := []AuditItem{{shardCID(datas[0]), 50 << 10}, {shardCID(datas[1]), 20 << 10}}
	headerLen := func(honest []byte) int { return 4 + int(binary.BigEndian.Uint32(honest)) }

	cases := []struct {
		name    string
		behave  func(s network.Stream, honest []byte)
		wantErr string // "" means an answer with the verdicts below
		want    []AuditVerdict
	}{
		{"honest", func(s network.Stream, h []byte) { s.Write(h); s.Close() }, "", []AuditVerdict{AuditPassed, AuditPassed}},
		{"garbage proof", func(s network.Stream, h []byte) {
			n := headerLen(h)
			s.Write(h[:n])
			s.Write(auditData("junk", len(h)-n))
			s.Close()
		}, "", []AuditVerdict{AuditFailed, AuditFailed}},
		{"second proof wrong", func(s network.Stream, h []byte) {
			h[len(h)-1] ^= 1
			s.Write(h)
			s.Close()
		}, "", []AuditVerdict{AuditPassed, AuditFailed}},
		{"garbage", func(s network.Stream, h []byte) { s.Write(auditData("junk", 5000)); s.Close() }, "wire", nil},
		{"huge header", func(s network.Stream, h []byte) { s.Write([]byte{0xff, 0xff, 0xff, 0xff}); s.Close() }, "exceeds", nil},
		{"too many bytes", func(s network.Stream, h []byte) { s.Write(append(h, 0)); s.Close() }, "after the last proof", nil},
		{"too short", func(s network.Stream, h []byte) { s.Write(h[:len(h)-1]); s.Close() }, "proof of shard 1", nil},
		{"flags miscounted", func(s network.Stream, h []byte) {
			wire.Write(s, auditResp{Status: Status{OK: true}, Has: []bool{true}})
			s.Close()
		}, "1 flags for 2 shards", nil},
		{"refuses", func(s network.Stream, h []byte) {
			wire.Write(s, auditResp{Status: busy(errors.New("later"))})
			s.Close()
		}, "busy", nil},
		{"reset", func(s network.Stream, h []byte) { s.Reset() }, "reset", nil},
		{"stalls after the header", func(s network.Stream, h []byte) {
			s.Write(h[:headerLen(h)])
			s.Read(make([]byte, 1)) // until the challenger gives up
		}, "proof of shard 0", nil},
		{"stalls before the last byte", func(s network.Stream, h []byte) {
			s.Write(h[:len(h)-1])
			s.Read(make([]byte, 1))
		}, "proof of shard 1", nil},
		{"never closes", func(s network.Stream, h []byte) {
			s.Write(h)
			s.Read(make([]byte, 1))
		}, "after the last proof", nil},
		{"dribbles", func(s network.Stream, h []byte) {
			n := headerLen(h)
			s.Write(h[:n])
			for i := n; i < len(h); i += 512 {
				if _, err := s.Write(h[i:min(i+512, len(h))]); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}, "proof of shard", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := auditLiar(t, c, items, datas, tc.behave)
			start := time.Now()
			got, err := c.Audit(context.Background(), p, auditNonce, 2, items)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("audit took %v", d)
			}
			if tc.wantErr == "" {
				wantAuditVerdicts(t, got, err, tc.want...)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || got != nil {
				t.Fatalf("got %v, %v; want an error mentioning %q", got, err, tc.wantErr)
			}
		})
	}
}
