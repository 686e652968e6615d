// Package transfer holds Cairn's stream protocols between nodes: storing, fetching, checking and
// deleting shards, keeping manifests on their stewards, and asking a node about its capacity.
// Each exchange is a framed JSON header (node/wire) plus a raw body; shards are verified against
// their CID (a BLAKE3 bao root) on both ends, so neither side trusts the other's bytes.
package transfer

import "github.com/libp2p/go-libp2p/core/protocol"

// Protocol IDs. Versioned so later changes can be negotiated by multistream-select.
const (
	ProtoShardPut    protocol.ID = "/cairn/shard/put/1.0.0"
	ProtoShardGet    protocol.ID = "/cairn/shard/get/1.0.0"
	ProtoShardHas    protocol.ID = "/cairn/shard/has/1.0.0"
	ProtoShardDelete protocol.ID = "/cairn/shard/delete/1.0.0"
	ProtoManifestPut protocol.ID = "/cairn/manifest/put/1.0.0"
	ProtoManifestGet protocol.ID = "/cairn/manifest/get/1.0.0"
	ProtoManifestDel protocol.ID = "/cairn/manifest/delete/1.0.0"
	ProtoInfo        protocol.ID = "/cairn/info/1.0.0"
)

// MaxLocations bounds a locations record (a 1 TiB file's record is ~1.5 MiB).
const MaxLocations = 64 << 20

// MaxShard bounds a shard a node accepts or a client will read.
const MaxShard = 256 << 20

// MaxHasBatch bounds how many CIDs one has-request may ask about.
const MaxHasBatch = 4096

type putReq struct {
	CID        string `json:"cid"`
	Size       int64  `json:"size"`
	DeleteHash string `json:"delete_hash"` // hex of blake3(delete token)
}

type putResult struct {
	Status
	Existed bool `json:"existed,omitempty"`
}

type getReq struct {
	CID string `json:"cid"`
}

type getResp struct {
	Status
	Size        int64 `json:"size,omitempty"`
	OutboardLen int   `json:"outboard_len,omitempty"`
}

type hasReq struct {
	CIDs []string `json:"cids"`
}

type hasResp struct {
	Status
	Has []bool `json:"has,omitempty"`
}

type deleteReq struct {
	CID   string `json:"cid"`
	Token string `json:"token"` // hex
}

// Manifest and locations record travel as bodies, not in the header: for a multi-TiB file the
// record outgrows any sensible header limit.
type manifestPutReq struct {
	CID          string `json:"cid"`
	Size         int    `json:"size"`
	LocationsLen int    `json:"locations_len"`
}

type manifestGetReq struct {
	CID string `json:"cid"`
}

type manifestGetResp struct {
	Status
	Size         int `json:"size,omitempty"`
	LocationsLen int `json:"locations_len,omitempty"`
}

type infoReq struct{}

// Info is what a node advertises about itself to a prospective uploader.
type Info struct {
	Status
	Free     int64  `json:"free"`
	Capacity int64  `json:"capacity"`
	Used     int64  `json:"used"`
	Agent    string `json:"agent"`
}
