package manifest

import (
	"bytes"
	"strings"
	"testing"
)

func TestMetaSealOpen(t *testing.T) {
	key := [32]byte{1, 2, 3}
	for _, name := range []string{"", "a", "file.txt", "ünï \"q\" <&>", strings.Repeat("x", MaxNameLen)} {
		sealed, err := SealMeta(key, Meta{Name: name})
		if err != nil {
			t.Fatalf("seal %q: %v", name, err)
		}
		if n := len(sealed) - MinMetaSize; n <= 0 || n%32 != 0 {
			t.Fatalf("name of %d bytes: plaintext %d bytes, want a positive multiple of 32", len(name), n)
		}
		if len(sealed) > MaxMetaSize {
			t.Fatalf("sealed %d bytes", len(sealed))
		}
		if len(name) >= 4 && bytes.Contains(sealed, []byte(name)) { // shorter ones occur by chance
			t.Fatal("name visible in sealed metadata")
		}
		got, err := OpenMeta(key, sealed)
		if err != nil || got.Name != name {
			t.Fatalf("open: %q, %v", got.Name, err)
		}
		other := key
		other[31] ^= 1
		if _, err := OpenMeta(other, sealed); err == nil || !strings.Contains(err.Error(), "cannot decrypt") {
			t.Fatalf("wrong key: %v", err)
		}
		tampered := bytes.Clone(sealed)
		tampered[len(tampered)-1] ^= 1
		if _, err := OpenMeta(key, tampered); err == nil {
			t.Fatal("tampered metadata opened")
		}
	}
}

// TestMetaPaddingHidesLength: names of 1 and 20 bytes seal to the same size.
func TestMetaPaddingHidesLength(t *testing.T) {
	var key [32]byte
	a, _ := SealMeta(key, Meta{Name: "a"})
	b, _ := SealMeta(key, Meta{Name: strings.Repeat("b", 20)})
	if len(a) != len(b) || len(a) != MinMetaSize+32 {
		t.Fatalf("sealed sizes %d and %d, want %d", len(a), len(b), MinMetaSize+32)
	}
	c, _ := SealMeta(key, Meta{Name: "c"})
	if bytes.Equal(a[:metaNonceSize], c[:metaNonceSize]) {
		t.Fatal("nonce repeated")
	}
}

func TestMetaSealRejectsBadNames(t *testing.T) {
	for _, name := range []string{"a/b", "a\x00", ".", "..", "\xff", strings.Repeat("x", MaxNameLen+1)} {
		if _, err := SealMeta([32]byte{}, Meta{Name: name}); err == nil {
			t.Fatalf("sealed bad name %q", name)
		}
	}
}

// TestMetaOpenRejects seals hand-made plaintexts with the real key, so
// only the plaintext rules can reject them.
func TestMetaOpenRejects(t *testing.T) {
	key := [32]byte{9}
	seal := func(plain []byte) []byte {
		aead, err := metaAEAD(key)
		if err != nil {
			t.Fatal(err)
		}
		nonce := make([]byte, metaNonceSize)
		return aead.Seal(nonce, nonce, plain, nil)
	}
	body := func(name string) []byte {
		b, err := marshal(&wireMeta{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pad := func(b []byte, n int) []byte { return append(b, make([]byte, n-len(b))...) }
	cases := []struct {
		name  string
		plain []byte
		want  string
	}{
		{"empty", nil, "EOF"},
		{"unpadded", body("a"), "padded to 4 bytes, want 32"},
		{"over-padded", pad(body("a"), 64), "padded to 64 bytes, want 32"},
		{"non-zero padding", append(body("a"), append(make([]byte, 27), 1)...), "non-zero padding"},
		{"bad name", pad(body("a/b"), 32), "contains '/'"},
		{"unknown key", pad([]byte{0xa2, 0x01, 0x61, 'a', 0x02, 0x00}, 32), "unknown field"},
		{"non-canonical", pad([]byte{0xb8, 0x01, 0x01, 0x61, 'a'}, 32), "canonical"},
		{"json", pad([]byte(`{"name":"a"}`), 32), "EOF"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenMeta(key, seal(tc.plain))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := OpenMeta(key, make([]byte, MinMetaSize-1)); err == nil {
		t.Fatal("short input opened")
	}
	if _, err := OpenMeta(key, make([]byte, MaxMetaSize+1)); err == nil {
		t.Fatal("long input opened")
	}
}
