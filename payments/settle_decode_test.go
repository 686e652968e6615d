package payments

import (
	"bytes"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"pgregory.net/rapid"
)

// TestSettleViewsMatchTypes decodes random bodies both into the body types and into
// settlement's views, reusing one view across bodies, and compares the fields.
func TestSettleViewsMatchTypes(t *testing.T) {
	var dv downloadView
	var sv storageView
	blob := rapid.SliceOfN(rapid.Byte(), 0, 40)
	tag := rapid.SampledFrom([]string{"", "p", "partner-with-a-long-name"})
	rapid.Check(t, func(t *rapid.T) {
		for range rapid.IntRange(1, 4).Draw(t, "bodies") {
			d := Download{Server: blob.Draw(t, "server"), Manifest: blob.Draw(t, "manifest"), Shard: blob.Draw(t, "shard"),
				Owner: blob.Draw(t, "owner"), Partner: tag.Draw(t, "tag"), Bytes: rapid.Int64().Draw(t, "bytes"),
				ShardSize: rapid.Int64().Draw(t, "size"), Nonce: blob.Draw(t, "nonce"), ServerSig: blob.Draw(t, "sig"),
				Downloader: blob.Draw(t, "downloader")}
			var want Download
			if err := cbor.Unmarshal(testBody(d), &want); err != nil {
				t.Fatal(err)
			}
			if err := dv.decode(testBody(d)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dv.Server, want.Server) || !bytes.Equal(dv.Owner, want.Owner) || string(dv.Partner) != want.Partner || dv.Bytes != want.Bytes {
				t.Fatalf("download view %+v, want %+v", dv, want)
			}
			st := Storage{Holder: blob.Draw(t, "holder"), Manifest: blob.Draw(t, "manifest"), Shard: blob.Draw(t, "shard"),
				Owner: blob.Draw(t, "owner"), Partner: tag.Draw(t, "tag"), Bytes: rapid.Int64().Draw(t, "bytes"),
				From: rapid.Int64().Draw(t, "from"), To: rapid.Int64().Draw(t, "to"), Audits: rapid.Uint32().Draw(t, "audits")}
			var wantS Storage
			if err := cbor.Unmarshal(testBody(st), &wantS); err != nil {
				t.Fatal(err)
			}
			if err := sv.decode(testBody(st)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sv.Holder, wantS.Holder) || !bytes.Equal(sv.Shard, wantS.Shard) || !bytes.Equal(sv.Owner, wantS.Owner) ||
				string(sv.Partner) != wantS.Partner || sv.Bytes != wantS.Bytes || sv.From != wantS.From || sv.To != wantS.To {
				t.Fatalf("storage view %+v, want %+v", sv, wantS)
			}
		}
	})
}
