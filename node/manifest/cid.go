package manifest

import (
	"errors"
	"fmt"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// Multicodec and multihash codes fixed by docs/contracts.md; node/codec owns them.
const (
	codecRaw  = codec.CodecRaw  // shards
	codecCBOR = codec.CodecCBOR // manifests
	mhBlake3  = mh.BLAKE3
	digestLen = 32
)

// checkCID reports why c is not a CIDv1 with the given codec and a
// blake3-256 multihash.
func checkCID(c cid.Cid, codec uint64) error {
	if !c.Defined() {
		return errors.New("CID is undefined")
	}
	if v := c.Version(); v != 1 {
		return fmt.Errorf("CID %s is version %d, want 1", c, v)
	}
	if t := c.Type(); t != codec {
		return fmt.Errorf("CID %s has codec 0x%x, want 0x%x", c, t, codec)
	}
	dm, err := mh.Decode(c.Hash())
	if err != nil {
		return fmt.Errorf("CID %s has a bad multihash: %w", c, err)
	}
	if dm.Code != mhBlake3 || dm.Length != digestLen {
		return fmt.Errorf("CID %s has multihash 0x%x/%d bytes, want blake3 0x%x/%d", c, dm.Code, dm.Length, mhBlake3, digestLen)
	}
	return nil
}

// parseCanonicalCID parses s and insists it is the default string form, so
// each CID has exactly one textual encoding in our formats.
func parseCanonicalCID(s string) (cid.Cid, error) {
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, fmt.Errorf("bad CID %q: %w", clip(s), err)
	}
	if c.String() != s {
		return cid.Undef, fmt.Errorf("CID %q is not in canonical base32 form (%s)", clip(s), c)
	}
	return c, nil
}

// parseCIDBytes parses the binary form of a CID and insists that it is
// exactly the bytes of one CID of the given kind.
func parseCIDBytes(b []byte, codec uint64) (cid.Cid, error) {
	n, c, err := cid.CidFromBytes(b)
	if err != nil {
		return cid.Undef, fmt.Errorf("bad CID bytes: %w", err)
	}
	if n != len(b) {
		return cid.Undef, fmt.Errorf("CID has %d trailing bytes", len(b)-n)
	}
	if err := checkCID(c, codec); err != nil {
		return cid.Undef, err
	}
	return c, nil
}

// clip bounds attacker-controlled text echoed in error messages.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
