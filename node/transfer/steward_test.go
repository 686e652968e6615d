package transfer

import (
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/ipfs/go-cid"
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

// testFile builds a valid manifest of segs 64 KiB segments (k-of-n) with per-shard delete hashes
// derived from tokens, and an owner-endorsed record where copies holders hold each shard.
func testFile(t testing.TB, segs, k, n, copies int) (m *manifest.Manifest, body []byte, mc cid.Cid, rec []byte, token func(s, i int) [32]byte) {
	owner, ownerID := key(t)
	token = func(s, i int) [32]byte { return [32]byte{byte(s), byte(s >> 8), byte(i), 0x70} }
	m = &manifest.Manifest{Version: manifest.Version, Size: int64(segs) * 64 << 10, SegmentSize: 64 << 10,
		K: k, N: n, Cipher: manifest.CipherAES256GCM, Owner: ownerID, Meta: make([]byte, manifest.MinMetaSize)}
	mtok := [32]byte{0x6d}
	m.DeleteHash = codec.DeleteHash(mtok)
	for s := range segs {
		seg := manifest.Segment{Size: 64 << 10, ShardSize: manifest.ShardSizeFor(64<<10, k)}
		for i := range n {
			seg.Shards = append(seg.Shards, codec.ShardCID(fmt.Appendf(nil, "%d/%d", s, i)))
			seg.DeleteHashes = append(seg.DeleteHashes, codec.DeleteHash(token(s, i)))
		}
		m.Segments = append(m.Segments, seg)
	}
	body, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	mc = manifest.CID(body)
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
	if rec, err = loc.Encode(); err != nil {
		t.Fatal(err)
	}
	return m, body, mc, rec, token
}

// A large file's locations record (here a repaired 10,000-segment file with four holders per
// shard: well over the 1 MiB the store used to allow) is accepted, kept and served whole.
func TestStewardKeepsLargeRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 5 MiB manifest")
	}
	m, body, mc, rec, _ := testFile(t, 10_000, 4, 8, 4)
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

// A tombstone needs the manifest's delete token, and may list only the file's own shards with
// their own tokens; once taken, the manifest is served to nobody and refused if offered again.
func TestTombstoneAuthority(t *testing.T) {
	_, body, mc, rec, token := testFile(t, 2, 2, 4, 1)
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sw := NewStewardship(st, nil)
	if status := sw.Accept(Origin{Account: "uploader"}, mc, body, rec); !status.OK {
		t.Fatal(status.Error)
	}
	holder, _ := key(t)
	hid, _ := peer.IDFromPrivateKey(holder)
	shard := codec.ShardCID([]byte("1/3"))
	good := []PendingDelete{{Holder: hid, Shard: shard, Token: token(1, 3)}}
	mtok := [32]byte{0x6d}
	for name, tc := range map[string]struct {
		tok     [32]byte
		pending []PendingDelete
	}{
		"wrong manifest token":  {[32]byte{1}, good},
		"shard of another file": {mtok, []PendingDelete{{Holder: hid, Shard: codec.ShardCID([]byte("other")), Token: token(1, 3)}}},
		"wrong shard token":     {mtok, []PendingDelete{{Holder: hid, Shard: shard, Token: token(0, 0)}}},
	} {
		if err := sw.Tombstone(mc, tc.tok, tc.pending); !errors.Is(err, store.ErrForbidden) {
			t.Fatalf("%s: %v, want forbidden", name, err)
		}
		if _, _, err := sw.Load(mc); err != nil {
			t.Fatalf("%s: a refused tombstone hid the manifest: %v", name, err)
		}
	}
	if err := sw.Tombstone(mc, mtok, good); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sw.Load(mc); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("load after tombstone: %v, want not found", err)
	}
	if status := sw.Accept(Origin{Account: "uploader"}, mc, body, rec); status.OK || status.Code != wire.CodeForbidden {
		t.Fatalf("accept after tombstone: %+v", status)
	}
	var seen []Removal
	_ = sw.Removals(func(r Removal) error { seen = append(seen, r); return nil })
	if len(seen) != 1 || len(seen[0].Pending) != 1 || seen[0].Token != mtok || len(seen[0].Stewards) != 1 {
		t.Fatalf("removals %+v", seen)
	}
	if err := sw.FinishTombstone(mc, nil, true); err != nil {
		t.Fatal(err)
	}
	if st.Has(mc) {
		t.Fatal("finished removal left the manifest")
	}
}
