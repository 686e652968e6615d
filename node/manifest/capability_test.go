package manifest

import (
	"errors"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
)

var capabilitySentinels = []error{ErrNotCapability, ErrUnsupportedKind, ErrOldCapability, ErrMalformedCID, ErrNotManifestCID, ErrMalformedKey}

func testCap(t *testing.T) Capability {
	t.Helper()
	c := Capability{Manifest: CID(mustEncode(t, buildManifest(t, 10, 8, 1, 2)))}
	for i := range c.Key {
		c.Key[i] = byte(255 - i)
	}
	return c
}

func TestCapabilityRoundTrip(t *testing.T) {
	c := testCap(t)
	s := c.String()
	if !strings.HasPrefix(s, "cairn:r2:b") || strings.ContainsAny(s, "=ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		t.Fatalf("unexpected text form %q", s)
	}
	for _, in := range []string{s, "  " + s + "\n", "\t" + s} {
		got, err := ParseCapability(in)
		if err != nil {
			t.Fatalf("parse %q: %v", in, err)
		}
		if got != c {
			t.Fatalf("round trip changed capability")
		}
	}
}

func TestParseCapabilityErrors(t *testing.T) {
	c := testCap(t)
	cidStr := c.Manifest.String()
	key := keyEncoding.EncodeToString(c.Key[:])
	shard := shardCID(0, 0).String()
	jsonCID := cid.NewCidV1(0x0200, c.Manifest.Hash()).String()
	lastKeyChar := key[len(key)-1:]
	// The final character encodes 1 used bit; flipping an unused bit keeps
	// the decoded bytes but changes the spelling.
	badTail := key[:len(key)-1] + string(keyEncoding.EncodeToString([]byte{0})[0]+1)
	if lastKeyChar == badTail[len(badTail)-1:] {
		t.Fatal("test setup: tail unchanged")
	}
	cases := []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrNotCapability},
		{"other scheme", "tahoe:r:" + cidStr + ":" + key, ErrNotCapability},
		{"uppercase scheme", "CAIRN:r:" + cidStr + ":" + key, ErrNotCapability},
		{"write cap", "cairn:w:" + cidStr + ":" + key, ErrUnsupportedKind},
		{"no kind", "cairn:", ErrUnsupportedKind},
		{"v1", "cairn:r:" + cidStr + ":" + key, ErrOldCapability},
		{"v1 json cid", "cairn:r:" + jsonCID + ":" + key, ErrOldCapability},
		{"v1 bare", "cairn:r", ErrOldCapability},
		{"r3", "cairn:r3:" + cidStr + ":" + key, ErrUnsupportedKind},
		{"kind only", "cairn:r2", ErrMalformedCID},
		{"empty cid", "cairn:r2::" + key, ErrMalformedCID},
		{"base58 cid", "cairn:r2:zb2rh" + cidStr[5:] + ":" + key, ErrMalformedCID},
		{"uppercase cid", "cairn:r2:B" + strings.ToUpper(cidStr[1:]) + ":" + key, ErrMalformedCID},
		{"truncated cid", "cairn:r2:" + cidStr[:len(cidStr)-3] + ":" + key, ErrMalformedCID},
		{"garbage cid", "cairn:r2:bxyz!:" + key, ErrMalformedCID},
		{"shard cid", "cairn:r2:" + shard + ":" + key, ErrNotManifestCID},
		{"json manifest cid", "cairn:r2:" + jsonCID + ":" + key, ErrNotManifestCID},
		{"missing key", "cairn:r2:" + cidStr, ErrMalformedKey},
		{"empty key", "cairn:r2:" + cidStr + ":", ErrMalformedKey},
		{"short key", "cairn:r2:" + cidStr + ":" + key[1:], ErrMalformedKey},
		{"long key", "cairn:r2:" + cidStr + ":" + key + "a", ErrMalformedKey},
		{"uppercase key", "cairn:r2:" + cidStr + ":" + strings.ToUpper(key), ErrMalformedKey},
		{"padded key", "cairn:r2:" + cidStr + ":" + key[:len(key)-4] + "====", ErrMalformedKey},
		{"bad alphabet", "cairn:r2:" + cidStr + ":" + key[:len(key)-1] + "1", ErrMalformedKey},
		{"trailing bits", "cairn:r2:" + cidStr + ":" + badTail, ErrMalformedKey},
		{"extra field", "cairn:r2:" + cidStr + ":" + key + ":x", ErrMalformedKey},
		{"inner newline", "cairn:r2:" + cidStr + ":" + key[:10] + "\n" + key[11:], ErrMalformedKey},
	}
	sentinels := capabilitySentinels
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCapability(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			for _, s := range sentinels {
				if s != tc.want && errors.Is(err, s) {
					t.Fatalf("error %v also matches %v", err, s)
				}
			}
			if strings.Contains(err.Error(), key) {
				t.Fatalf("error leaks the key: %v", err)
			}
			t.Log(err)
		})
	}
}

func TestOldCapabilityMessage(t *testing.T) {
	_, err := ParseCapability("cairn:r:bagaaihrajfdizys642c7diejp5rxe5yqpwvnnlua3zth76f745i7ks2oyylq:aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	if !errors.Is(err, ErrOldCapability) {
		t.Fatalf("got %v, want ErrOldCapability", err)
	}
	for _, want := range []string{"format 1", "no longer read", "stored again"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
}
