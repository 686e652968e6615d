package manifest

import (
	"errors"
	"strings"
	"testing"
)

func testCap(t *testing.T) Capability {
	t.Helper()
	c := Capability{Manifest: CID(mustEncode(t, buildManifest(10, 8, 1, 2, "")))}
	for i := range c.Key {
		c.Key[i] = byte(255 - i)
	}
	return c
}

func TestCapabilityRoundTrip(t *testing.T) {
	c := testCap(t)
	s := c.String()
	if !strings.HasPrefix(s, "cairn:r:b") || strings.ContainsAny(s, "=ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
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
		{"kind only", "cairn:r", ErrMalformedCID},
		{"empty cid", "cairn:r::" + key, ErrMalformedCID},
		{"base58 cid", "cairn:r:zb2rh" + cidStr[5:] + ":" + key, ErrMalformedCID},
		{"uppercase cid", "cairn:r:B" + strings.ToUpper(cidStr[1:]) + ":" + key, ErrMalformedCID},
		{"truncated cid", "cairn:r:" + cidStr[:len(cidStr)-3] + ":" + key, ErrMalformedCID},
		{"garbage cid", "cairn:r:bxyz!:" + key, ErrMalformedCID},
		{"shard cid", "cairn:r:" + shard + ":" + key, ErrNotManifestCID},
		{"missing key", "cairn:r:" + cidStr, ErrMalformedKey},
		{"empty key", "cairn:r:" + cidStr + ":", ErrMalformedKey},
		{"short key", "cairn:r:" + cidStr + ":" + key[1:], ErrMalformedKey},
		{"long key", "cairn:r:" + cidStr + ":" + key + "a", ErrMalformedKey},
		{"uppercase key", "cairn:r:" + cidStr + ":" + strings.ToUpper(key), ErrMalformedKey},
		{"padded key", "cairn:r:" + cidStr + ":" + key[:len(key)-4] + "====", ErrMalformedKey},
		{"bad alphabet", "cairn:r:" + cidStr + ":" + key[:len(key)-1] + "1", ErrMalformedKey},
		{"trailing bits", "cairn:r:" + cidStr + ":" + badTail, ErrMalformedKey},
		{"extra field", "cairn:r:" + cidStr + ":" + key + ":x", ErrMalformedKey},
		{"inner newline", "cairn:r:" + cidStr + ":" + key[:10] + "\n" + key[11:], ErrMalformedKey},
	}
	sentinels := []error{ErrNotCapability, ErrUnsupportedKind, ErrMalformedCID, ErrNotManifestCID, ErrMalformedKey}
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
