package transfer

import (
	"bytes"
	"testing"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// endorseSeed is a request body for the fixed CID fuzzMC: a chain of one set and one entry,
// structurally valid (signatures are not checked by the decoder).
var fuzzMC = codec.BlobCID(codec.CodecCBOR, []byte("fuzz manifest"))

func endorseSeed(t testing.TB) []byte {
	k, _, _ := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	id, _ := peer.IDFromPrivateKey(k)
	set := manifest.StewardSet{Members: []peer.ID{id}}
	if err := set.SignBy(k, fuzzMC); err != nil {
		t.Fatal(err)
	}
	loc := manifest.NewLocations(fuzzMC)
	loc.Stewards = []manifest.StewardSet{set}
	r := manifest.Receipt{Manifest: fuzzMC, Holder: id, Positions: []uint32{1, 5}, Time: 9, Sig: bytes.Repeat([]byte{3}, 64)}
	sig, err := manifest.Endorse(k, &r)
	if err != nil {
		t.Fatal(err)
	}
	loc.Add(manifest.Entry{Receipt: r, Endorsements: []manifest.Signature{sig}})
	b, err := loc.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeEndorseBody: an endorse request body comes from a co-steward, who may be hostile;
// decoding never panics, and what it accepts has the announced entries and is canonical (it
// re-encodes to the same bytes).
func FuzzDecodeEndorseBody(f *testing.F) {
	good := endorseSeed(f)
	empty, _ := manifest.NewLocations(fuzzMC).Encode()
	f.Add(good, 1)
	f.Add(empty, 0)
	f.Add(good[:len(good)/2], 1)
	f.Add(append(append([]byte{}, good...), 0), 1)
	f.Add([]byte{0xa0}, 0)
	f.Fuzz(func(t *testing.T, b []byte, entries int) {
		loc, err := decodeEndorseBody(b, fuzzMC, entries)
		if err != nil {
			return
		}
		if len(loc.Entries) != entries || !loc.Manifest.Equals(fuzzMC) {
			t.Fatalf("accepted a body with %d entries for %s, announced %d for %s", len(loc.Entries), loc.Manifest, entries, fuzzMC)
		}
		again, err := loc.Encode()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted body does not re-encode to itself: %v", err)
		}
	})
}

// FuzzParseEndorseReq: an endorse header comes from any peer; parsing never panics, and what it
// accepts is within the protocol's bounds.
func FuzzParseEndorseReq(f *testing.F) {
	_, id := key(f)
	for _, v := range []endorseReq{
		{Manifest: fuzzMC.String(), Entries: 3, Len: 900},
		{Manifest: fuzzMC.String(), Len: 90, Next: &proposedSet{Epoch: 2, Members: [][]byte{[]byte(id)}}},
		{Manifest: "x", Entries: MaxEndorseEntries + 1, Len: -1},
	} {
		b, err := wire.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req endorseReq
		if wire.Unmarshal(b, &req) != nil {
			return
		}
		_, next, err := parseEndorseReq(&req)
		if err != nil {
			return
		}
		if req.Entries < 0 || req.Entries > MaxEndorseEntries || req.Len <= 0 || req.Len > MaxEndorseBody {
			t.Fatalf("accepted out-of-bounds request %+v", req)
		}
		if next != nil && (len(next.Members) == 0 || len(next.Members) > manifest.MaxStewards) {
			t.Fatalf("accepted a set of %d members", len(next.Members))
		}
	})
}
