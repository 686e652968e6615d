package manifest

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"github.com/ipfs/go-cid"
)

// Capability is a read capability: whoever holds it can fetch the manifest
// and decrypt the file. Its text form is a secret; errors never echo the key.
type Capability struct {
	Manifest cid.Cid
	Key      [32]byte
}

const (
	capPrefix = "cairn:"
	capRead   = "r2"
	capReadV1 = "r" // format 1: JSON manifests, no longer read
)

// keyEncoding is RFC 4648 base32 in lowercase without padding, matching the
// alphabet of the CID's multibase 'b' form.
var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Errors returned (wrapped) by ParseCapability; test with errors.Is.
var (
	ErrNotCapability   = errors.New("not a cairn capability")
	ErrUnsupportedKind = errors.New("unsupported capability kind")
	ErrMalformedCID    = errors.New("malformed manifest CID in capability")
	ErrNotManifestCID  = errors.New("capability CID is not a manifest CID")
	ErrMalformedKey    = errors.New("malformed key in capability")
	ErrOldCapability   = errors.New("capability format 1 is no longer read; the file must be stored again")
)

// String returns "cairn:r2:<manifest CID>:<key>".
func (c Capability) String() string {
	return capPrefix + capRead + ":" + c.Manifest.String() + ":" + keyEncoding.EncodeToString(c.Key[:])
}

// ParseCapability parses the text form, ignoring surrounding whitespace.
// Only the exact form String produces is accepted.
func ParseCapability(s string) (Capability, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, capPrefix)
	if !ok {
		// Do not echo s: it may be some other secret pasted by mistake.
		return Capability{}, fmt.Errorf("%w (want prefix %q)", ErrNotCapability, capPrefix)
	}
	kind, rest, ok := strings.Cut(rest, ":")
	if kind == capReadV1 {
		return Capability{}, ErrOldCapability
	}
	if kind != capRead {
		// Echo only short kinds: a long one is probably a pasted secret.
		shown := fmt.Sprintf("%q", kind)
		if len(kind) > 8 {
			shown = fmt.Sprintf("of %d bytes", len(kind))
		}
		return Capability{}, fmt.Errorf("%w %s (only %q, read, exists)", ErrUnsupportedKind, shown, capRead)
	}
	if !ok {
		return Capability{}, fmt.Errorf("%w: missing", ErrMalformedCID)
	}
	cidStr, keyStr, ok := strings.Cut(rest, ":")
	c, err := parseCapCID(cidStr)
	if err != nil {
		return Capability{}, err
	}
	if !ok {
		return Capability{}, fmt.Errorf("%w: missing", ErrMalformedKey)
	}
	var capa Capability
	capa.Manifest = c
	if err := decodeKey(keyStr, &capa.Key); err != nil {
		return Capability{}, err
	}
	return capa, nil
}

func parseCapCID(s string) (cid.Cid, error) {
	if s == "" {
		return cid.Undef, fmt.Errorf("%w: missing", ErrMalformedCID)
	}
	if s[0] != 'b' {
		return cid.Undef, fmt.Errorf("%w: %q is not lowercase base32 (want multibase prefix 'b')", ErrMalformedCID, clip(s))
	}
	c, err := parseCanonicalCID(s)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: %w", ErrMalformedCID, err)
	}
	if err := checkCID(c, codecCBOR); err != nil {
		return cid.Undef, fmt.Errorf("%w: %w", ErrNotManifestCID, err)
	}
	return c, nil
}

func decodeKey(s string, key *[32]byte) error {
	if want := keyEncoding.EncodedLen(len(key)); len(s) != want {
		return fmt.Errorf("%w: %d characters, want %d", ErrMalformedKey, len(s), want)
	}
	n, err := keyEncoding.Decode(key[:], []byte(s))
	if err != nil || n != len(key) {
		return fmt.Errorf("%w: not lowercase base32 (a-z, 2-7)", ErrMalformedKey)
	}
	// The 52nd character carries 4 unused bits; demand they be zero so each
	// key has one spelling. This also rejects newlines, which Decode skips.
	if keyEncoding.EncodeToString(key[:]) != s {
		*key = [32]byte{}
		return fmt.Errorf("%w: non-canonical base32 (unused trailing bits set)", ErrMalformedKey)
	}
	return nil
}
