package transfer

import (
	"testing"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/wire"
)

// FuzzDecodeAuditRequest: an audit challenge comes from any peer. Decoding never panics, and a
// challenge it accepts re-encodes to one that decodes the same.
func FuzzDecodeAuditRequest(f *testing.F) {
	items := []AuditItem{{Shard: codec.ShardCID([]byte("a")), Size: 1}, {Shard: codec.ShardCID([]byte("b")), Size: MaxShard}}
	good, err := newAuditRequest([32]byte{1}, 2, items)
	if err != nil {
		f.Fatal(err)
	}
	enc, err := wire.Marshal(good.header())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add(enc[:len(enc)/2])
	f.Add(append(append([]byte{}, enc...), 0))
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h auditReq
		if wire.Unmarshal(b, &h) != nil {
			return
		}
		req, err := decodeAuditRequest(h)
		if err != nil {
			return
		}
		if len(req.items) == 0 || len(req.items) > MaxAuditItems || req.ranges < 1 || req.ranges > MaxAuditRanges {
			t.Fatalf("accepted a request out of bounds: %d items, %d ranges", len(req.items), req.ranges)
		}
		again, err := wire.Marshal(req.header())
		if err != nil {
			t.Fatalf("accepted request does not re-encode: %v", err)
		}
		var h2 auditReq
		if err := wire.Unmarshal(again, &h2); err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		req2, err := decodeAuditRequest(h2)
		if err != nil || req2.nonce != req.nonce || req2.ranges != req.ranges || len(req2.items) != len(req.items) {
			t.Fatalf("re-encoded request decodes differently: %v", err)
		}
		for i := range req.items {
			if !req2.items[i].Shard.Equals(req.items[i].Shard) || req2.items[i].Size != req.items[i].Size {
				t.Fatalf("item %d changed: %+v != %+v", i, req2.items[i], req.items[i])
			}
		}
		if maxProof, _ := req.proofSizes(); maxProof <= 0 {
			t.Fatal("accepted request has no proof to read")
		}
	})
}
