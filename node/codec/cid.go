package codec

import (
	"fmt"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	"lukechampine.com/blake3"
)

// Multicodec codes used for Cairn CIDs (contracts.md).
const (
	CodecRaw  uint64 = 0x55   // shards
	CodecJSON uint64 = 0x0200 // manifests
	CodecCBOR uint64 = 0x51   // manifests, format 2 (json ones are format 1)
)

// deleteKeyContext is the blake3.DeriveKey context for Kdel.
const deleteKeyContext = "cairn v1 delete"

// ShardCID is the CIDv1 (raw, blake3-256) of a shard. The digest equals the
// bao root of data, so holders can serve verified ranges.
func ShardCID(data []byte) cid.Cid { return BlobCID(CodecRaw, data) }

// BlobCID is the CIDv1 with the given codec of data's blake3-256 digest.
func BlobCID(codec uint64, data []byte) cid.Cid {
	return CIDFromDigest(codec, sum256(data))
}

// CIDFromDigest builds the CIDv1 for a blake3-256 digest.
func CIDFromDigest(codec uint64, d [32]byte) cid.Cid {
	// Hand-built multihash: code 0x1e and length 32 are single-byte varints,
	// and this avoids mh.Encode's error path that cannot fail here.
	buf := make([]byte, 2+len(d))
	buf[0], buf[1] = byte(mh.BLAKE3), byte(len(d))
	copy(buf[2:], d[:])
	return cid.NewCidV1(codec, mh.Multihash(buf))
}

// Digest returns the blake3-256 digest inside c, or an error if c is not
// hashed with 32-byte blake3.
func Digest(c cid.Cid) ([32]byte, error) {
	var d [32]byte
	if !c.Defined() {
		return d, fmt.Errorf("codec: undefined CID")
	}
	dm, err := mh.Decode(c.Hash())
	if err != nil {
		return d, fmt.Errorf("codec: CID %s: %w", c, err)
	}
	if dm.Code != mh.BLAKE3 || dm.Length != 32 || len(dm.Digest) != 32 {
		return d, fmt.Errorf("codec: CID %s: multihash code 0x%x length %d, want blake3 (0x1e) length 32",
			c, dm.Code, dm.Length)
	}
	copy(d[:], dm.Digest)
	return d, nil
}

// DeleteKey derives Kdel, the file's delete authority, from the file key.
func DeleteKey(k Key) [32]byte {
	var kdel [32]byte
	blake3.DeriveKey(kdel[:], deleteKeyContext, k[:])
	return kdel
}

// DeleteToken is the token that authorizes deleting blob c: the blake3 keyed
// hash (key kdel) of c's binary form.
func DeleteToken(kdel [32]byte, c cid.Cid) [32]byte {
	h := blake3.New(32, kdel[:])
	h.Write(c.Bytes())
	var t [32]byte
	h.Sum(t[:0])
	return t
}

// ManifestDeleteToken authorizes deleting the file's manifest: the blake3 keyed hash (key kdel)
// of a fixed string, since the manifest's own CID depends on its hash and cannot be an input.
func ManifestDeleteToken(kdel [32]byte) [32]byte {
	h := blake3.New(32, kdel[:])
	h.Write([]byte("cairn v1 manifest delete"))
	var t [32]byte
	h.Sum(t[:0])
	return t
}

// DeleteHash is what a holder stores next to a blob: it can check a
// presented token without being able to forge one.
func DeleteHash(token [32]byte) [32]byte { return blake3.Sum256(token[:]) }
