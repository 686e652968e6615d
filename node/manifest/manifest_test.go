package manifest

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
)

func TestManifestRoundTrip(t *testing.T) {
	cases := []*Manifest{
		buildManifest(0, 1<<20, 1, 2, ""),              // empty file: one empty segment
		buildManifest(1<<20, 1<<20, 3, 5, "exact"),     // exact multiple
		buildManifest(5<<20+7, 1<<20, 10, 30, "r.b"),   // remainder
		buildManifest(100, 7, 4, 255, "<&> ünï \"q\""), // escapes, max n
	}
	for _, m := range cases {
		b := mustEncode(t, m)
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b[:60], err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip changed manifest:\n got %+v\nwant %+v", got, m)
		}
		if b2 := mustEncode(t, got); !bytes.Equal(b, b2) {
			t.Fatal("re-encoding is not byte-identical")
		}
	}
}

func TestManifestEncodingShape(t *testing.T) {
	b := mustEncode(t, buildManifest(10, 8, 1, 2, "a"))
	want := `{"version":1,"size":10,"segment_size":8,"k":1,"n":2,"cipher":"aes-256-gcm","name":"a","delete_hash":"00070e`
	if !strings.HasPrefix(string(b), want) {
		t.Fatalf("encoding %s\nwant prefix %s", b, want)
	}
	if !strings.Contains(string(b), `"segments":[{"size":8,"shard_size":24,"shards":["b`) {
		t.Fatalf("segment encoding unexpected: %s", b)
	}
}

func TestValidateRejects(t *testing.T) {
	v1 := shardCID(0, 0)
	otherCodec := cid.NewCidV1(codecJSON, v1.Hash())
	sha := cid.NewCidV1(codecRaw, cid.NewCidV0(mustSHA256(t)).Hash())
	cases := []struct {
		name string
		mut  func(m *Manifest)
		want string
	}{
		{"version", func(m *Manifest) { m.Version = 2 }, "version"},
		{"cipher", func(m *Manifest) { m.Cipher = "chacha20" }, "cipher"},
		{"k zero", func(m *Manifest) { m.K = 0 }, "erasure"},
		{"k equals n", func(m *Manifest) { m.K = m.N }, "erasure"},
		{"n too big", func(m *Manifest) { m.N = 256 }, "erasure"},
		{"negative size", func(m *Manifest) { m.Size = -1 }, "negative size"},
		{"segment size zero", func(m *Manifest) { m.SegmentSize = 0 }, "segment size"},
		{"segment size over gcm", func(m *Manifest) { m.SegmentSize = MaxSegmentSize + 1 }, "segment size"},
		{"name too long", func(m *Manifest) { m.Name = strings.Repeat("x", 256) }, "name"},
		{"name slash", func(m *Manifest) { m.Name = "a/b" }, "name"},
		{"name nul", func(m *Manifest) { m.Name = "a\x00" }, "name"},
		{"name dotdot", func(m *Manifest) { m.Name = ".." }, "name"},
		{"name bad utf8", func(m *Manifest) { m.Name = "\xff" }, "UTF-8"},
		{"too few segments", func(m *Manifest) { m.Segments = m.Segments[:2] }, "segments, want 3"},
		{"too many segments", func(m *Manifest) { m.Segments = append(m.Segments, m.Segments[0]) }, "segments, want 3"},
		{"size implies more segments", func(m *Manifest) { m.Size += m.SegmentSize }, "segments, want 4"},
		{"middle segment size", func(m *Manifest) { m.Segments[1].Size-- }, "segment 1: size"},
		{"last segment size", func(m *Manifest) { m.Segments[2].Size++ }, "segment 2: size"},
		{"shard size", func(m *Manifest) { m.Segments[0].ShardSize++ }, "shard size"},
		{"shard count", func(m *Manifest) { m.Segments[0].Shards = m.Segments[0].Shards[1:] }, "shards, want n"},
		{"undefined shard", func(m *Manifest) { m.Segments[0].Shards[1] = cid.Undef }, "undefined"},
		{"v0 shard", func(m *Manifest) { m.Segments[0].Shards[1] = cid.NewCidV0(mustSHA256(t)) }, "version 0"},
		{"json codec shard", func(m *Manifest) { m.Segments[0].Shards[1] = otherCodec }, "codec"},
		{"sha256 shard", func(m *Manifest) { m.Segments[0].Shards[1] = sha }, "multihash"},
		{"duplicate shard", func(m *Manifest) { m.Segments[1].Shards[3] = m.Segments[1].Shards[0] }, "duplicates shard 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := buildManifest(2*1000+1, 1000, 2, 4, "file.txt")
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

func mustSHA256(t *testing.T) []byte {
	t.Helper()
	// A hand-built sha2-256 multihash (0x12, 32 bytes).
	return append([]byte{0x12, 32}, bytes.Repeat([]byte{0xab}, 32)...)
}

func TestDecodeRejects(t *testing.T) {
	good := string(mustEncode(t, buildManifest(10, 8, 1, 2, "a")))
	shard := shardCID(0, 0).String()
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", "EOF"},
		{"not json", "hello", "invalid"},
		{"null", "null", "version 0"},
		{"unknown field", strings.Replace(good, `"name"`, `"extra":1,"name"`, 1), "unknown field"},
		{"trailing data", good + "{}", "trailing"},
		{"trailing space", good + " ", "canonical"},
		{"leading space", " " + good, "canonical"},
		{"version 2", strings.Replace(good, `"version":1`, `"version":2`, 1), "unsupported version 2"},
		{"case-folded key", strings.Replace(good, `"size":10`, `"SIZE":10`, 1), "canonical"},
		{"duplicate key", strings.Replace(good, `"name":"a"`, `"name":"a","name":"a"`, 1), "canonical"},
		{"escaped name", strings.Replace(good, `"name":"a"`, `"name":"\u0061"`, 1), "canonical"},
		{"uppercase hex", strings.Replace(good, `"delete_hash":"00070e`, `"delete_hash":"00070E`, 1), "lowercase"},
		{"short hex", strings.Replace(good, `"delete_hash":"00070e`, `"delete_hash":"070e`, 1), "delete_hash"},
		{"bad hex", strings.Replace(good, `"delete_hash":"00070e`, `"delete_hash":"zz070e`, 1), "delete_hash"},
		{"float", strings.Replace(good, `"size":10`, `"size":10.0`, 1), "cannot unmarshal"},
		{"string size", strings.Replace(good, `"size":10`, `"size":"10"`, 1), "cannot unmarshal"},
		{"bad cid", strings.Replace(good, shard, "bafyXXX", 1), "bad CID"},
		{"uppercase cid", strings.Replace(good, shard, strings.ToUpper("b"+shard[1:]), 1), "canonical base32"},
		{"invalid rule", strings.Replace(good, `"segment_size":8`, `"segment_size":9`, 1), "segment 0: size 8, want 9"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.in))
			if err == nil {
				t.Fatalf("Decode accepted %q", tc.in)
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
	b := mustEncode(t, buildManifest(100, 30, 2, 3, ""))
	c := CID(b)
	if err := checkCID(c, codecJSON); err != nil {
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
	if Verify(c, append(b, ' ')) == nil || Verify(c, b[:len(b)-1]) == nil {
		t.Fatal("length change verified")
	}
}
