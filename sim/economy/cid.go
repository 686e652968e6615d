package economy

import (
	"encoding/binary"

	"github.com/cairn-storage/cairn/node/codec"
	"lukechampine.com/blake3"
)

// Synthetic content IDs: the ledger wants Cairn CIDs (CIDv1, BLAKE3-256 multihash; raw codec
// for shards, CBOR for manifests) and never reads what they name, so a run's file and shard
// numbers are hashed into them. The domain strings keep a file and a shard of the same number
// apart even under one codec.
const (
	cidSize        = 36 // 0x01, codec, 0x1e, 0x20, 32 digest bytes
	manifestDomain = "cairn-sim/manifest\x00"
	shardDomain    = "cairn-sim/shard\x00"
	servedDomain   = "cairn-sim/served-shard\x00"
)

// appendCID appends the binary CID of (domain, a, b) under codec c: the bytes
// codec.CIDFromDigest(c, digest).Bytes() gives (TestCIDsAreCairnCIDs), without its two
// allocations, as a run builds one per shard per epoch.
func appendCID(dst []byte, c uint64, domain string, a, b uint64) []byte {
	var buf [48]byte
	n := copy(buf[:], domain)
	binary.LittleEndian.PutUint64(buf[n:], a)
	binary.LittleEndian.PutUint64(buf[n+8:], b)
	d := blake3.Sum256(buf[:n+16])
	dst = append(dst, 0x01, byte(c), 0x1e, 0x20)
	return append(dst, d[:]...)
}

// ManifestCID is the synthetic manifest CID of file.
func ManifestCID(file uint64) []byte { return appendCID(nil, codec.CodecCBOR, manifestDomain, file, 0) }

// ShardCID is the synthetic shard CID of shard.
func ShardCID(shard uint64) []byte { return appendCID(nil, codec.CodecRaw, shardDomain, shard, 0) }

// servedShardCID is the shard a download receipt names: Download takes no shard number, so
// the shard of file held by server stands in for it. Settlement never reads it.
func servedShardCID(file uint64, server int32) []byte {
	return appendCID(nil, codec.CodecRaw, servedDomain, file, uint64(server))
}
