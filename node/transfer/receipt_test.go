package transfer

import (
	"context"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"lukechampine.com/blake3"
)

// A holder signs receipts, and takes confirmations, only for shards it stores for the asker: a
// stranger cannot tie someone else's shard to another manifest (which would also redirect the
// garbage collector's check) nor make it permanent.
func TestReceiptsOnlyForTheAsker(t *testing.T) {
	owner, srv, st := pair(t)
	priv, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	NewReceipts(srv, st, priv, time.Hour, nil)

	data := []byte("a shard the owner stored")
	c := shardCID(data)
	tok := [32]byte{5}
	dh := blake3.Sum256(tok[:])
	if err := owner.PutShard(ctx(t), srv.ID(), c, data, dh); err != nil {
		t.Fatal(err)
	}
	mc := codec.BlobCID(codec.CodecCBOR, []byte("manifest"))
	items := []ReceiptItem{{Position: 2, Shard: c, DeleteHash: dh}}

	strangerHost := newHost(t)
	if err := strangerHost.Connect(context.Background(), peer.AddrInfo{ID: srv.ID(), Addrs: srv.Addrs()}); err != nil {
		t.Fatal(err)
	}
	stranger := NewClient(strangerHost, nil, nil)
	for _, confirm := range []bool{false, true} {
		if _, err := stranger.RequestReceipt(ctx(t), srv.ID(), mc, items, confirm); !wire.IsCode(err, wire.CodeForbidden) {
			t.Fatalf("stranger (confirm=%v): %v, want forbidden", confirm, err)
		}
	}
	rec, err := owner.RequestReceipt(ctx(t), srv.ID(), mc, items, false)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Holder != srv.ID() || len(rec.Sig) == 0 || rec.Positions[0] != 2 {
		t.Fatalf("receipt %+v", rec)
	}
	refs, _ := st.Refs(c)
	if len(refs) != 1 || string(refs[0].Manifest) != string(mc.Bytes()) || refs[0].Lease == 0 {
		t.Fatalf("after the receipt the ref is %+v, want claimed for the manifest, still leased", refs)
	}
	if _, err := owner.RequestReceipt(ctx(t), srv.ID(), mc, items, true); err != nil {
		t.Fatal(err)
	}
	if refs, _ := st.Refs(c); refs[0].Lease != 0 {
		t.Fatal("confirmation left the shard leased")
	}

	// A replacement receipt (a repair or a handover added a position) is dated after the one it
	// replaces, even within the same second, so merges keep it; a date far ahead is refused.
	later, err := owner.RequestReceiptAfter(ctx(t), srv.ID(), mc, items, false, rec.Time)
	if err != nil {
		t.Fatal(err)
	}
	if later.Time <= rec.Time {
		t.Fatalf("replacement receipt dated %d, not after %d", later.Time, rec.Time)
	}
	if _, err := owner.RequestReceiptAfter(ctx(t), srv.ID(), mc, items, false, time.Now().Unix()+3600); !wire.IsCode(err, wire.CodeBadInput) {
		t.Fatalf("receipt an hour ahead: %v, want bad_input", err)
	}
}
