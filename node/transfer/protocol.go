// Package transfer holds Cairn's stream protocols between nodes: storing, fetching, checking and
// deleting shards, keeping manifests on their stewards, and asking a node about its capacity.
// Each exchange is a framed CBOR header (node/wire) plus a raw body; shards are verified against
// their CID (a BLAKE3 bao root) on both ends, so neither side trusts the other's bytes.
package transfer

import (
	"time"

	"github.com/libp2p/go-libp2p/core/protocol"
)

// Protocol IDs. Version 2 frames headers as strict CBOR (version 1 used JSON).
const (
	ProtoShardPut    protocol.ID = "/cairn/shard/put/2.0.0"
	ProtoShardGet    protocol.ID = "/cairn/shard/get/2.0.0"
	ProtoShardHas    protocol.ID = "/cairn/shard/has/2.0.0"
	ProtoShardDelete protocol.ID = "/cairn/shard/delete/2.0.0"
	ProtoManifestPut protocol.ID = "/cairn/manifest/put/2.0.0"
	ProtoManifestGet protocol.ID = "/cairn/manifest/get/2.0.0"
	ProtoManifestDel protocol.ID = "/cairn/manifest/delete/2.0.0"
	ProtoInfo        protocol.ID = "/cairn/info/2.0.0"
)

// Protocols lists every protocol a node answers, for resource-manager limits and for tests
// that must cover them all.
func Protocols() []protocol.ID {
	return []protocol.ID{
		ProtoShardPut, ProtoShardGet, ProtoShardHas, ProtoShardDelete,
		ProtoManifestPut, ProtoManifestGet, ProtoManifestDel, ProtoInfo,
		ProtoShardReceipt, ProtoManifestTombstone, ProtoAudit, ProtoEndorse, ProtoCountersign,
	}
}

// MaxShard bounds a shard a node accepts or a client will read.
const MaxShard = 256 << 20

// MaxHasBatch bounds how many CIDs one has-request may ask about: 1024 Cairn CIDs (~61 bytes
// each as CBOR text) fit in one wire.MaxHeader. Clients split larger questions into batches.
const MaxHasBatch = 1024

// Time limits on a stream. A peer gets headerTimeout to send its request header; a body must
// then arrive (or be taken) at minRate or better, after a grace period, so a stalled or
// trickling stream loses its memory reservation within bodyGrace rather than minutes.
const (
	headerTimeout = 10 * time.Second
	minRate       = 256 << 10 // bytes per second
)

// bodyGrace is a variable only so tests can shorten it.
var bodyGrace = 30 * time.Second

// bodyTimeout is how long moving n bytes may take at the slowest acceptable rate.
func bodyTimeout(n int64) time.Duration {
	return bodyGrace + time.Duration(n)*time.Second/minRate
}

// ShardPutReq offers a shard; the body (Size bytes) follows once the holder says OK.
type ShardPutReq struct {
	CID        string `json:"cid"`
	Size       int64  `json:"size"`
	DeleteHash string `json:"delete_hash"` // hex of blake3(delete token)
}

// ShardPutResp ends a shard put.
type ShardPutResp struct {
	Status
	Existed bool `json:"existed,omitempty"`
}

// ShardGetReq asks for a shard.
type ShardGetReq struct {
	CID string `json:"cid"`
}

// ShardGetResp precedes the outboard (OutboardLen bytes) and the shard (Size bytes).
type ShardGetResp struct {
	Status
	Size        int64 `json:"size,omitempty"`
	OutboardLen int   `json:"outboard_len,omitempty"`
}

// HasReq asks which of up to MaxHasBatch shards a node holds.
type HasReq struct {
	CIDs []string `json:"cids"`
}

// HasResp answers HasReq, one flag per CID in order.
type HasResp struct {
	Status
	Has []bool `json:"has,omitempty"`
}

// DeleteReq drops a reference to a shard or manifest, proven by its delete token.
type DeleteReq struct {
	CID   string `json:"cid"`
	Token string `json:"token"` // hex
}

// ManifestPutReq offers a manifest and its locations record. They travel as bodies (Size then
// LocationsLen bytes, once the steward says OK), not in the header: for a multi-TiB file the
// record outgrows any sensible header limit.
type ManifestPutReq struct {
	CID          string `json:"cid"`
	Size         int    `json:"size"`
	LocationsLen int    `json:"locations_len"`
}

// ManifestGetReq asks a steward for a manifest.
type ManifestGetReq struct {
	CID string `json:"cid"`
}

// ManifestGetResp precedes the manifest (Size bytes) and its locations record.
type ManifestGetResp struct {
	Status
	Size         int `json:"size,omitempty"`
	LocationsLen int `json:"locations_len,omitempty"`
}

// InfoReq asks a node what it advertises.
type InfoReq struct{}

// Info is what a node advertises about itself to a prospective uploader.
type Info struct {
	Status
	Free     int64  `json:"free"`
	Capacity int64  `json:"capacity"`
	Used     int64  `json:"used"`
	Agent    string `json:"agent"`
}
