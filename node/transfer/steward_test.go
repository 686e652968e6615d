package transfer

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/store"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func key(t testing.TB) (crypto.PrivKey, peer.ID) {
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(k)
	return k, id
}

// A large file's locations record (here a repaired 10,000-segment file with four holders per
// shard: well over the 1 MiB the store used to allow) is accepted, kept and served whole.
func TestStewardKeepsLargeRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 5 MiB manifest")
	}
	const segs, k, n, copies = 10_000, 4, 8, 4
	owner, ownerID := key(t)
	m := &manifest.Manifest{Version: manifest.Version, Size: segs * 64 << 10, SegmentSize: 64 << 10,
		K: k, N: n, Cipher: manifest.CipherAES256GCM, Owner: ownerID, Meta: make([]byte, manifest.MinMetaSize)}
	for s := range segs {
		seg := manifest.Segment{Size: 64 << 10, ShardSize: manifest.ShardSizeFor(64<<10, k)}
		for i := range n {
			seg.Shards = append(seg.Shards, codec.ShardCID(fmt.Appendf(nil, "%d/%d", s, i)))
			seg.DeleteHashes = append(seg.DeleteHashes, [32]byte{byte(s), byte(i)})
		}
		m.Segments = append(m.Segments, seg)
	}
	body, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	mc := manifest.CID(body)
	loc := manifest.NewLocations(mc)
	set := manifest.StewardSet{Members: []peer.ID{ownerID}}
	if err := set.SignBy(owner, mc); err != nil {
		t.Fatal(err)
	}
	loc.Stewards = []manifest.StewardSet{set}
	// Holder h of copy c holds shard (h + c) mod n of every segment.
	for c := range copies {
		for h := range n {
			hk, _ := key(t)
			r := manifest.Receipt{Time: 1}
			for s := range segs {
				r.Positions = append(r.Positions, uint32(s*n+(h+c)%n))
			}
			if err := r.Sign(hk, m); err != nil {
				t.Fatal(err)
			}
			sig, err := manifest.Endorse(owner, &r)
			if err != nil {
				t.Fatal(err)
			}
			loc.Add(manifest.Entry{Receipt: r, Endorsements: []manifest.Signature{sig}})
		}
	}
	rec, err := loc.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if len(rec) <= 1<<20 {
		t.Fatalf("record of %d bytes: the test needs one over 1 MiB", len(rec))
	}
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sw := NewStewardship(st, nil)
	if status := sw.Accept(Origin{Account: "uploader"}, mc, body, rec); !status.OK {
		t.Fatalf("steward refused a %d-byte record: %s", len(rec), status.Error)
	}
	_, got, err := sw.Load(mc)
	if err != nil || len(got) != len(rec) {
		t.Fatalf("load: %d bytes, %v; want %d", len(got), err, len(rec))
	}
	t.Logf("manifest %d bytes, record %d bytes (bound %d)", len(body), len(rec), manifest.MaxLocationsSize(m))
}
