// Package api is the daemon's local HTTP API (127.0.0.1 only, token-guarded) and its Go client.
// Every CLI command other than init, daemon and devnet goes through it.
package api

import (
	"context"
	"io"
)

// Backend is what the daemon exposes through the API. The node implements it; tests can fake it.
type Backend interface {
	// Put stores size bytes read from r and returns the capability once the file is fully stored.
	Put(ctx context.Context, r io.Reader, size int64, opt PutOptions) (*PutResult, error)
	// Get resolves capability and writes the plaintext to w. start is called once with the file's
	// size before the first byte is written; an error after start means w holds a partial file.
	Get(ctx context.Context, capability string, w io.Writer, start func(size int64)) error
	Stat(ctx context.Context, capability string) (*StatResult, error)
	List(ctx context.Context) ([]ListEntry, error)
	Remove(ctx context.Context, capability string) (*RemoveResult, error)
	ID(ctx context.Context) (*IDResult, error)
	Peers(ctx context.Context) ([]PeerInfo, error)
}

// PutOptions tune one put; zero values mean the node's configured defaults.
type PutOptions struct {
	K    int    `json:"k,omitempty"`
	N    int    `json:"n,omitempty"`
	Name string `json:"name,omitempty"`
}

type PutResult struct {
	Cap      string `json:"cap"`
	CID      string `json:"cid"`
	Size     int64  `json:"size"`
	K        int    `json:"k"`
	N        int    `json:"n"`
	Segments int    `json:"segments"`
	Stewards int    `json:"stewards"` // nodes holding the manifest
}

type ShardStat struct {
	Index   int      `json:"index"`
	CID     string   `json:"cid"`
	Holder  string   `json:"holder"`            // the holder that answered, else the first one known
	Holders []string `json:"holders,omitempty"` // every holder with an endorsed storage receipt
	Answers bool     `json:"answers"`           // a holder answered that it has the shard
	Error   string   `json:"error,omitempty"`
}

type SegmentStat struct {
	Index     int         `json:"index"`
	Size      int64       `json:"size"`
	ShardSize int64       `json:"shard_size"`
	Healthy   int         `json:"healthy"` // shards whose holder answers
	Shards    []ShardStat `json:"shards"`
}

type StatResult struct {
	CID         string        `json:"cid"`
	Name        string        `json:"name,omitempty"`
	Size        int64         `json:"size"`
	K           int           `json:"k"`
	N           int           `json:"n"`
	SegmentSize int64         `json:"segment_size"`
	Cipher      string        `json:"cipher"`
	Owner       string        `json:"owner"`    // peer ID of the uploader, named in the manifest
	Stewards    []string      `json:"stewards"` // peers that served or hold the manifest
	Segments    []SegmentStat `json:"segments"`
	// Retrievable is true when every segment has at least K answering shards.
	Retrievable bool `json:"retrievable"`
}

type ListEntry struct {
	Cap     string `json:"cap"`
	CID     string `json:"cid"`
	Name    string `json:"name,omitempty"`
	Size    int64  `json:"size"`
	Created int64  `json:"created"` // unix seconds
}

type RemoveResult struct {
	CID            string `json:"cid"`
	ShardsDeleted  int    `json:"shards_deleted"`
	ShardsFailed   int    `json:"shards_failed"` // holders did not answer; see Pending
	ManifestCopies int    `json:"manifest_copies_deleted"`
	// Complete is true only when no holder has a shard left: then the manifest is gone too.
	Complete bool `json:"complete"`
	// Pending counts shard deletes the stewards will finish (a tombstone) when holders return.
	Pending    int `json:"pending"`
	Tombstones int `json:"tombstones"` // stewards that took the tombstone
}

type IDResult struct {
	PeerID    string   `json:"peer_id"`
	Addresses []string `json:"addresses"` // full multiaddrs including /p2p/<id>
	Agent     string   `json:"agent"`
	Free      int64    `json:"free"`
	Capacity  int64    `json:"capacity"`
	Used      int64    `json:"used"`
}

type PeerInfo struct {
	PeerID  string   `json:"peer_id"`
	Address []string `json:"addresses"`
	// InRoutingTable is true when the peer is in this node's Kademlia routing table.
	InRoutingTable bool `json:"in_routing_table"`
}

// Error codes let the CLI print precise messages and tests check causes without string matching.
const (
	CodeBadRequest   = "bad_request"
	CodeBadCap       = "bad_capability"
	CodeNotFound     = "not_found"      // manifest cannot be found in the network
	CodeTooFewNodes  = "too_few_nodes"  // put: fewer than n eligible nodes
	CodeTooFewShards = "too_few_shards" // get: fewer than k shards retrievable for a segment
	CodeUnauthorized = "unauthorized"   // missing or wrong API token
	CodeInternal     = "internal"
)

// Error is an API error as sent over the wire and returned by the client.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// CodedError lets the backend attach an API code to an error.
type CodedError interface {
	error
	APICode() string
}
