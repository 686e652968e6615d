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
	// Exit hands every shard this node holds to other nodes, chosen by placement, and updates
	// the files' locations; only when nothing is left does it report Complete. It is resumable:
	// the daemon remembers it is exiting and carries on after a restart.
	Exit(ctx context.Context) (*ExitResult, error)
}

// ExitResult reports a graceful exit (or one pass of it).
type ExitResult struct {
	Shards   int    `json:"shards"`   // shards held when this pass began
	Moved    int    `json:"moved"`    // handed over and recorded in their files' locations
	Failed   int    `json:"failed"`   // still here; the next pass retries them
	Files    int    `json:"files"`    // files whose locations were updated
	Complete bool   `json:"complete"` // nothing is left to hand over; the daemon stops
	Error    string `json:"error,omitempty"`
}

// PutOptions tune one put; zero values mean the node's configured defaults.
type PutOptions struct {
	K    int    `json:"k,omitempty"`
	N    int    `json:"n,omitempty"`
	Name string `json:"name,omitempty"`
	// Partner tags the file for an open source partner's revenue share; fixed in the manifest at
	// put time. "" = the node's put.partner (its "connector"), if any.
	Partner string `json:"partner,omitempty"`
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
	// Healthy: a holder answers for it and this node does not hold that holder disqualified.
	Healthy bool   `json:"healthy"`
	Error   string `json:"error,omitempty"`
}

type SegmentStat struct {
	Index     int         `json:"index"`
	Size      int64       `json:"size"`
	ShardSize int64       `json:"shard_size"`
	Healthy   int         `json:"healthy"` // healthy shards (see ShardStat.Healthy)
	Shards    []ShardStat `json:"shards"`
}

type StatResult struct {
	CID         string   `json:"cid"`
	Name        string   `json:"name,omitempty"`
	Size        int64    `json:"size"`
	K           int      `json:"k"`
	N           int      `json:"n"`
	SegmentSize int64    `json:"segment_size"`
	Cipher      string   `json:"cipher"`
	Owner       string   `json:"owner"`             // peer ID of the uploader, named in the manifest
	Partner     string   `json:"partner,omitempty"` // open source partner tag, fixed at put
	Stewards    []string `json:"stewards"`          // peers that served or hold the manifest
	// StewardSet is the latest steward set of the signed record: who may endorse repairs.
	StewardSet []string      `json:"steward_set"`
	Segments   []SegmentStat `json:"segments"`
	// Retrievable is true when every segment has at least K answering shards.
	Retrievable bool `json:"retrievable"`
	// FullHealth is true when every shard of every segment is healthy.
	FullHealth bool `json:"full_health"`
	// LastRepair is the newest receipt a steward majority endorsed after the put (unix seconds,
	// 0 = never repaired), read from the signed locations record.
	LastRepair int64 `json:"last_repair"`
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

// PeerInfo is one peer this node is connected to, has in its routing table, or has scored.
// Scores are this node's own view (its audits and transfers, plus bounded hearsay).
type PeerInfo struct {
	ID      string   `json:"id"`
	PeerID  string   `json:"peer_id"` // same as ID, kept for older scripts
	Address []string `json:"addresses"`
	// InRoutingTable is true when the peer is in this node's Kademlia routing table.
	InRoutingTable bool `json:"in_routing_table"`
	Connected      bool `json:"connected"`

	Score          float64 `json:"score"`      // audit reputation R in [0,1]
	Suspension     float64 `json:"suspension"` // availability S in [0,1]; low = timeouts, not lies
	Hearsay        float64 `json:"hearsay"`    // penalty from other nodes' reports, capped
	Rank           float64 `json:"rank"`       // placement weight R·S·(1−hearsay); 0 = gets no new data
	Status         string  `json:"status"`     // healthy, unvetted, warned, suspended, disqualified
	Vetted         bool    `json:"vetted"`
	Disqualified   bool    `json:"disqualified"`
	AuditsPassed   uint32  `json:"audits_passed"`
	AuditsFailed   uint32  `json:"audits_failed"`
	AuditsTimedOut uint32  `json:"audits_timed_out"`
	Throughput     int64   `json:"throughput,omitempty"` // bytes/s, moving average of transfers
	LastSeen       int64   `json:"last_seen,omitempty"`  // unix seconds of the latest observation
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
