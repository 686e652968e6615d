package transfer

import (
	"bytes"
	"testing"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func tombstoneSeed(t testing.TB) []byte {
	k, _, _ := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	id, _ := peer.IDFromPrivateKey(k)
	b, err := encodeTombstone([32]byte{1}, []PendingDelete{
		{Holder: id, Shard: codec.ShardCID([]byte("a")), Token: [32]byte{2}},
		{Holder: id, Shard: codec.ShardCID([]byte("b")), Token: [32]byte{3}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeTombstone: a tombstone body comes from any peer; decoding never panics and what it
// accepts re-encodes to a value that decodes the same.
func FuzzDecodeTombstone(f *testing.F) {
	good := tombstoneSeed(f)
	empty, _ := encodeTombstone([32]byte{9}, nil)
	f.Add(good)
	f.Add(empty)
	f.Add(good[:len(good)/2])
	f.Add(append(append([]byte{}, good...), 0))
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, pending, err := decodeTombstone(b)
		if err != nil {
			return
		}
		again, err := encodeTombstone(tok, pending)
		if err != nil {
			t.Fatalf("accepted tombstone does not re-encode: %v", err)
		}
		tok2, pending2, err := decodeTombstone(again)
		if err != nil || tok2 != tok || len(pending2) != len(pending) {
			t.Fatalf("re-encoded tombstone decodes differently: %v", err)
		}
	})
}

// FuzzDecodeReceiptItems: receipt requests come from any peer.
func FuzzDecodeReceiptItems(f *testing.F) {
	items := []ReceiptItem{{Position: 3, Shard: codec.ShardCID([]byte("x")), DeleteHash: [32]byte{4}}}
	good, _ := encodeReceiptItems(items)
	f.Add(good)
	f.Add(good[:10])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := decodeReceiptItems(b)
		if err != nil {
			return
		}
		again, err := encodeReceiptItems(items)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("receipt items do not round-trip: %v", err)
		}
	})
}
