package codec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	"lukechampine.com/blake3"
	"lukechampine.com/blake3/bao"
)

func TestParamsValidate(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatalf("default params: %v", err)
	}
	if p := DefaultParams(); p.K != 4 || p.N != 8 || p.SegmentSize != DefaultSegmentSize {
		t.Fatalf("DefaultParams = %+v", p)
	}
	ok := []Params{
		{K: 2, N: 3, SegmentSize: MinSegmentSize},
		{K: 254, N: 255, SegmentSize: MaxSegmentSize},
	}
	for _, p := range ok {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: unexpected error %v", p, err)
		}
	}
	bad := []struct {
		p    Params
		want string // the bad value must be named
	}{
		{Params{K: 0, N: 8, SegmentSize: DefaultSegmentSize}, "K=0"},
		{Params{K: 1, N: 3, SegmentSize: DefaultSegmentSize}, "K=1"},
		{Params{K: -1, N: 8, SegmentSize: DefaultSegmentSize}, "K=-1"},
		{Params{K: 4, N: 4, SegmentSize: DefaultSegmentSize}, "N=4"},
		{Params{K: 5, N: 4, SegmentSize: DefaultSegmentSize}, "N=4"},
		{Params{K: 4, N: 256, SegmentSize: DefaultSegmentSize}, "N=256"},
		{Params{K: 4, N: 8, SegmentSize: MinSegmentSize - 1}, "SegmentSize=65535"},
		{Params{K: 4, N: 8, SegmentSize: MaxSegmentSize + 1}, "SegmentSize=268435457"},
	}
	for _, c := range bad {
		err := c.p.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %q", c.p, err, c.want)
		}
		if _, err := NewEncoder(c.p, Key{}); err == nil {
			t.Errorf("NewEncoder(%+v) accepted bad params", c.p)
		}
		if _, err := NewDecoder(c.p, Key{}); err == nil {
			t.Errorf("NewDecoder(%+v) accepted bad params", c.p)
		}
	}
}

func TestSegmentMath(t *testing.T) {
	const s = 100
	cases := []struct {
		size  int64
		count int
		last  int
	}{{0, 1, 0}, {1, 1, 1}, {99, 1, 99}, {100, 1, 100}, {101, 2, 1}, {250, 3, 50}, {300, 3, 100}}
	for _, c := range cases {
		if got := SegmentCount(c.size, s); got != c.count {
			t.Errorf("SegmentCount(%d) = %d, want %d", c.size, got, c.count)
		}
		if got := SegmentPlainSize(c.size, s, c.count-1); got != c.last {
			t.Errorf("SegmentPlainSize(%d, last) = %d, want %d", c.size, got, c.last)
		}
		if got := SegmentPlainSize(c.size, s, c.count); got != -1 {
			t.Errorf("SegmentPlainSize(%d, past end) = %d, want -1", c.size, got)
		}
	}
	if SegmentCount(-1, s) != 0 || SegmentCount(1, 0) != 0 {
		t.Error("SegmentCount accepts invalid input")
	}
	for _, c := range []struct{ plain, k, want int }{{0, 4, 4}, {1, 4, 5}, {48, 4, 16}, {49, 4, 17}, {16 << 20, 4, 4<<20 + 4}, {0, 1, 16}} {
		if got := ShardSize(c.plain, c.k); got != c.want {
			t.Errorf("ShardSize(%d,%d) = %d, want %d", c.plain, c.k, got, c.want)
		}
	}
}

func TestNewKey(t *testing.T) {
	a, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if a == b || a == (Key{}) {
		t.Fatal("NewKey is not random")
	}
}

func TestShardCIDIsBaoRoot(t *testing.T) {
	// Sizes around chunk (1 KiB) and chunk-group (16 KiB) boundaries.
	for _, n := range []int{0, 1, 1023, 1024, 1025, 16<<10 - 1, 16 << 10, 16<<10 + 1, 100000, 1 << 20} {
		data := bytes.Repeat([]byte{byte(n), 0x5a, 0x17}, n/3+1)[:n]
		c := ShardCID(data)
		if c.Version() != 1 || c.Type() != cid.Raw || c.Type() != CodecRaw {
			t.Fatalf("n=%d: CID %s: version %d codec 0x%x", n, c, c.Version(), c.Type())
		}
		dm, err := mh.Decode(c.Hash())
		if err != nil || dm.Code != mh.BLAKE3 || dm.Length != 32 {
			t.Fatalf("n=%d: multihash %+v, %v", n, dm, err)
		}
		d, err := Digest(c)
		if err != nil {
			t.Fatal(err)
		}
		_, root := bao.EncodeBuf(data, BaoGroup, true)
		if d != root {
			t.Fatalf("n=%d: digest %x != bao root %x", n, d, root)
		}
		if CIDFromDigest(CodecRaw, d) != c {
			t.Fatalf("n=%d: CIDFromDigest mismatch", n)
		}
	}
}

func TestBlobCIDAndDigestErrors(t *testing.T) {
	data := []byte(`{"v":1}`)
	c := BlobCID(CodecJSON, data)
	if c.Type() != 0x0200 || c.Version() != 1 {
		t.Fatalf("manifest CID %s: codec 0x%x", c, c.Type())
	}
	if d, err := Digest(c); err != nil || d != blake3.Sum256(data) {
		t.Fatalf("Digest = %x, %v", d, err)
	}
	if _, err := Digest(cid.Undef); err == nil {
		t.Error("Digest(Undef) succeeded")
	}
	sha, _ := mh.Sum(data, mh.SHA2_256, -1)
	if _, err := Digest(cid.NewCidV1(cid.Raw, sha)); err == nil {
		t.Error("Digest accepted a sha2-256 CID")
	}
	sum := sha256.Sum256(data)
	short, _ := mh.Encode(sum[:16], mh.BLAKE3)
	if _, err := Digest(cid.NewCidV1(cid.Raw, short)); err == nil {
		t.Error("Digest accepted a 16-byte blake3 CID")
	}
}

func TestDeleteAuthority(t *testing.T) {
	var key Key
	for i := range key {
		key[i] = byte(i)
	}
	kdel := DeleteKey(key)
	var want [32]byte
	blake3.DeriveKey(want[:], "cairn v1 delete", key[:])
	if kdel != want {
		t.Fatalf("DeleteKey = %x, want %x", kdel, want)
	}
	if kdel == DeleteKey(Key{}) {
		t.Fatal("DeleteKey ignores the file key")
	}
	c1, c2 := ShardCID([]byte("a")), ShardCID([]byte("b"))
	tok := DeleteToken(kdel, c1)
	h := blake3.New(32, kdel[:])
	h.Write(c1.Bytes())
	if !bytes.Equal(tok[:], h.Sum(nil)) {
		t.Fatal("DeleteToken is not the keyed hash of the CID bytes")
	}
	if tok == DeleteToken(kdel, c2) || tok == DeleteToken(DeleteKey(Key{}), c1) {
		t.Fatal("DeleteToken does not depend on both CID and key")
	}
	if DeleteHash(tok) != blake3.Sum256(tok[:]) {
		t.Fatal("DeleteHash is not blake3(token)")
	}
	// Pin the wire values so an accidental format change is caught.
	golden := []struct{ got, want string }{
		{c1.String(), "bafkr4iaxoyx53wljurjzexlfof5mh3vccmqlm22ugqx54fisrvwk6ijbl4"},
		{hex.EncodeToString(kdel[:]), "4e48732f2b63110e5ab6a857aa45c7e0d1a907c0a5d5988b65e5bf62d62e2a7b"},
		{hex.EncodeToString(tok[:]), "9b861c6a0fdd2be77b7a620ca9056be0850fa85803e083b6857230fe748cdb00"},
	}
	for _, g := range golden {
		if g.got != g.want {
			t.Errorf("got %s, want %s", g.got, g.want)
		}
	}
}
