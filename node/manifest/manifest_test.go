package manifest

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestManifestRoundTrip(t *testing.T) {
	cases := []*Manifest{
		buildManifest(t, 0, 1<<20, 1, 2),         // empty file: one empty segment
		buildManifest(t, 1<<20, 1<<20, 3, 5),     // exact multiple
		buildManifest(t, 5<<20+7, 1<<20, 10, 30), // remainder
		buildManifest(t, 100, 7, 4, 255),         // max n
	}
	cases[0].Partner = ""
	for _, m := range cases {
		b := mustEncode(t, m)
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip changed manifest:\n got %+v\nwant %+v", got, m)
		}
		if b2 := mustEncode(t, got); !bytes.Equal(b, b2) {
			t.Fatal("re-encoding is not byte-identical")
		}
	}
}

// TestManifestEncodingShape pins the wire form: a CBOR map of 11 integer
// keys, version 2 first; shards as bare 32-byte digests.
func TestManifestEncodingShape(t *testing.T) {
	m := buildManifest(t, 10, 8, 1, 2)
	b := mustEncode(t, m)
	if !bytes.HasPrefix(b, []byte{0xab, 0x01, 0x02, 0x02, 0x0a, 0x03, 0x08, 0x04, 0x01, 0x05, 0x02, 0x06, 0x6b}) {
		t.Fatalf("encoding starts % x", b[:16])
	}
	d := m.Segments[1].Shards[1].Hash()[2:]
	if !bytes.Contains(b, append([]byte{0x58, 0x20}, d...)) {
		t.Fatal("shard digest not found as a 32-byte byte string")
	}
	if bytes.Contains(b, m.Segments[1].Shards[1].Bytes()) {
		t.Fatal("full shard CID found: only the digest should be stored")
	}
}

func TestValidateRejects(t *testing.T) {
	v1 := shardCID(0, 0)
	otherCodec := cid.NewCidV1(codecCBOR, v1.Hash())
	sha := cid.NewCidV1(codecRaw, cid.NewCidV0(mustSHA256(t)).Hash())
	hashedID := rsaPeer(t)
	cases := []struct {
		name string
		mut  func(m *Manifest)
		want string
	}{
		{"version 1", func(m *Manifest) { m.Version = 1 }, "version"},
		{"cipher", func(m *Manifest) { m.Cipher = "chacha20" }, "cipher"},
		{"k zero", func(m *Manifest) { m.K = 0 }, "erasure"},
		{"k equals n", func(m *Manifest) { m.K = m.N }, "erasure"},
		{"n too big", func(m *Manifest) { m.N = 256 }, "erasure"},
		{"negative size", func(m *Manifest) { m.Size = -1 }, "negative size"},
		{"segment size zero", func(m *Manifest) { m.SegmentSize = 0 }, "segment size"},
		{"segment size over gcm", func(m *Manifest) { m.SegmentSize = MaxSegmentSize + 1 }, "segment size"},
		{"no owner", func(m *Manifest) { m.Owner = "" }, "owner: empty peer ID"},
		{"owner garbage", func(m *Manifest) { m.Owner = "xyz" }, "owner"},
		{"owner hashed key", func(m *Manifest) { m.Owner = hashedID }, "does not embed"},
		{"owner non-canonical", func(m *Manifest) { m.Owner = nonCanonicalID(t) }, "not the canonical ID"},
		{"partner upper", func(m *Manifest) { m.Partner = "Acme" }, "partner"},
		{"partner space", func(m *Manifest) { m.Partner = "a b" }, "partner"},
		{"partner long", func(m *Manifest) { m.Partner = strings.Repeat("a", 65) }, "partner tag is 65 bytes"},
		{"meta short", func(m *Manifest) { m.Meta = m.Meta[:MinMetaSize-1] }, "metadata is 27 bytes"},
		{"meta empty", func(m *Manifest) { m.Meta = nil }, "metadata"},
		{"meta long", func(m *Manifest) { m.Meta = make([]byte, MaxMetaSize+1) }, "metadata is 4097 bytes"},
		{"too few segments", func(m *Manifest) { m.Segments = m.Segments[:2] }, "segments, want 3"},
		{"too many segments", func(m *Manifest) { m.Segments = append(m.Segments, m.Segments[0]) }, "segments, want 3"},
		{"size implies more segments", func(m *Manifest) { m.Size += m.SegmentSize }, "segments, want 4"},
		{"middle segment size", func(m *Manifest) { m.Segments[1].Size-- }, "segment 1: size"},
		{"last segment size", func(m *Manifest) { m.Segments[2].Size++ }, "segment 2: size"},
		{"shard size", func(m *Manifest) { m.Segments[0].ShardSize++ }, "shard size"},
		{"shard count", func(m *Manifest) { m.Segments[0].Shards = m.Segments[0].Shards[1:] }, "shards, want n"},
		{"delete hash count", func(m *Manifest) { m.Segments[2].DeleteHashes = m.Segments[2].DeleteHashes[1:] }, "segment 2: 3 delete hashes, want n=4"},
		{"undefined shard", func(m *Manifest) { m.Segments[0].Shards[1] = cid.Undef }, "undefined"},
		{"v0 shard", func(m *Manifest) { m.Segments[0].Shards[1] = cid.NewCidV0(mustSHA256(t)) }, "version 0"},
		{"cbor codec shard", func(m *Manifest) { m.Segments[0].Shards[1] = otherCodec }, "codec"},
		{"sha256 shard", func(m *Manifest) { m.Segments[0].Shards[1] = sha }, "multihash"},
		{"duplicate shard", func(m *Manifest) { m.Segments[1].Shards[3] = m.Segments[1].Shards[0] }, "duplicates shard 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := buildManifest(t, 2*1000+1, 1000, 2, 4)
			if err := m.Validate(); err != nil {
				t.Fatalf("base manifest invalid: %v", err)
			}
			tc.mut(m)
			err := m.Validate()
			if err == nil {
				t.Fatal("Validate accepted invalid manifest")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			if _, err := m.Encode(); err == nil {
				t.Fatal("Encode accepted invalid manifest")
			}
		})
	}
	var nilM *Manifest
	if nilM.Validate() == nil {
		t.Fatal("nil manifest validated")
	}
}

func TestValidateAcceptsPartners(t *testing.T) {
	for _, p := range []string{"", "a", "acme.io_2-x", strings.Repeat("z", MaxPartnerLen)} {
		m := buildManifest(t, 10, 8, 1, 2)
		m.Partner = p
		if err := m.Validate(); err != nil {
			t.Fatalf("partner %q: %v", p, err)
		}
	}
}

func mustSHA256(t testing.TB) []byte {
	t.Helper()
	// A hand-built sha2-256 multihash (0x12, 32 bytes).
	return append([]byte{0x12, 32}, bytes.Repeat([]byte{0xab}, 32)...)
}

// rsaPeer is a valid peer ID that does not embed its key (RSA keys are
// hashed).
func rsaPeer(t testing.TB) peer.ID {
	t.Helper()
	id, err := peer.IDFromBytes(append([]byte{0x12, 32}, bytes.Repeat([]byte{7}, 32)...))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// nonCanonicalID inlines a valid Ed25519 key whose protobuf carries an
// extra unknown field: the key extracts fine, but it is not the key's
// canonical ID, so one key would have two identities.
func nonCanonicalID(t testing.TB) peer.ID {
	t.Helper()
	pub := testKey(t, 9).GetPublic()
	kb, err := crypto.MarshalPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	kb = append(kb, 0x18, 0x01)
	return peer.ID(append([]byte{0x00, byte(len(kb))}, kb...))
}

func TestDecodeRejects(t *testing.T) {
	good := mustEncode(t, buildManifest(t, 10, 8, 1, 2))
	// good starts: map(11) 1:2 2:10 3:8 ...
	rep := func(old, new []byte) []byte {
		if !bytes.Contains(good, old) {
			t.Fatalf("test setup: % x not in encoding", old)
		}
		return bytes.Replace(good, old, new, 1)
	}
	withKey12 := append(append([]byte{0xac}, good[1:]...), 0x0c, 0x00)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "EOF"},
		{"json v1", []byte(`{"version":1,"size":10}`), "format version 1"},
		{"not cbor", []byte{0xff}, "cbor"},
		{"array", []byte{0x80}, "cannot unmarshal array"},
		{"null", []byte{0xf6}, "version 0"},
		{"trailing byte", append(bytes.Clone(good), 0x00), "extraneous data"},
		{"version 1", rep([]byte{0xab, 0x01, 0x02}, []byte{0xab, 0x01, 0x01}), "unsupported version 1"},
		{"non-shortest int", rep([]byte{0xab, 0x01, 0x02}, []byte{0xab, 0x01, 0x18, 0x02}), "canonical"},
		{"non-shortest map", rep([]byte{0xab}, []byte{0xb8, 0x0b}), "canonical"},
		{"indefinite map", append(append([]byte{0xbf}, good[1:]...), 0xff), "indefinite"},
		{"tag", append([]byte{0xc1}, good...), "tag"},
		{"duplicate key", rep([]byte{0xab, 0x01, 0x02, 0x02}, []byte{0xab, 0x01, 0x02, 0x01}), "duplicate map key"},
		{"unknown key", withKey12, "unknown field"},
		{"invalid rule", rep([]byte{0x03, 0x08}, []byte{0x03, 0x09}), "segment 0: size 8, want 9"},
		{"short digest", rep([]byte{0x0a, 0x58, 0x20}, []byte{0x0a, 0x58, 0x1f}), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in)
			if err == nil {
				t.Fatalf("Decode accepted % x", tc.in)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	big := make([]byte, MaxManifestSize+1)
	if _, err := Decode(big); err == nil || !strings.Contains(err.Error(), "exceeds limit") {
		t.Fatalf("oversize input: %v", err)
	}
}

func TestCIDAndVerify(t *testing.T) {
	b := mustEncode(t, buildManifest(t, 100, 30, 2, 3))
	c := CID(b)
	if err := checkCID(c, 0x51); err != nil {
		t.Fatal(err)
	}
	if err := Verify(c, b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		tampered := bytes.Clone(b)
		tampered[i] ^= 1
		err := Verify(c, tampered)
		if err == nil {
			t.Fatalf("tampered byte %d verified", i)
		}
		if i == 0 && (!strings.Contains(err.Error(), c.String()) || !strings.Contains(err.Error(), CID(tampered).String())) {
			t.Fatalf("error %q should name both CIDs", err)
		}
	}
	if Verify(c, append(b, 0)) == nil || Verify(c, b[:len(b)-1]) == nil {
		t.Fatal("length change verified")
	}
}

// TestMaxManifestSizeCapacity checks the MaxManifestSize comment: a 4-of-8
// file of 30,000 segments of 16 MiB with the largest metadata fits, one of
// 31,000 does not.
func TestMaxManifestSizeCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 16 MiB manifest")
	}
	const seg = 16 << 20
	m := buildManifest(t, 30_000*seg, seg, 4, 8)
	m.Meta = make([]byte, MaxMetaSize)
	m.Partner = strings.Repeat("p", MaxPartnerLen)
	b := mustEncode(t, m)
	one := buildManifest(t, seg, seg, 4, 8)
	one.Meta, one.Partner = m.Meta, m.Partner
	if perSeg := (len(b) - len(mustEncode(t, one))) / (30_000 - 1); perSeg != 557 {
		t.Fatalf("a segment takes %d bytes, comment says 557", perSeg)
	}
	if _, err := Decode(b); err != nil {
		t.Fatal(err)
	}
	big := buildManifest(t, 31_000*seg, seg, 4, 8)
	if _, err := big.Encode(); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("31,000 segments: %v", err)
	}
}
