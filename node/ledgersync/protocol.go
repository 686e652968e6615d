package ledgersync

import (
	"time"

	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/cairn-storage/cairn/node/wire"
)

// Defaults for Config's zero values.
const (
	DefaultTopic                    = "/cairn/ledger/1"
	DefaultSyncProtocol protocol.ID = "/cairn/ledger/sync/1.0.0"
	DefaultSyncInterval             = time.Minute
)

// A sync round is one stream: the client sends requests (node/wire frames: a 4-byte length and
// a strict CBOR header of at most wire.MaxHeader), the server answers each in turn. A heads
// request pages through the server's frontiers in author order; a range request asks, for up to
// maxWants authors, the entries from a Seq on, and the answer's header lists per author how
// many entries follow and each one's size, then the entries follow as raw bytes.
const (
	opHeads = "heads"
	opRange = "range"
)

// Bounds, checked by both ends before anything they announce is read or allocated.
const (
	// MaxHeadsPage is the most heads one answer carries: 1024 heads of a 38-byte author and a
	// Seq take at most 1024 × 50 bytes of CBOR, inside one wire.MaxHeader (64 KiB).
	MaxHeadsPage = 1024
	// MaxRangeLimit is the most entries one range answer carries.
	MaxRangeLimit = 512
	// maxRangeBytes bounds one range answer's entry bytes; the server stops early to fit (at
	// least one entry always goes: an entry is at most payments.MaxForkProofSize).
	maxRangeBytes = 1 << 20
	// maxWants bounds the authors one range request names (64 × ~50 bytes of CBOR).
	maxWants = 64
	// maxAuthorLen bounds an author key in a request (Ed25519 peer IDs are 38 bytes).
	maxAuthorLen = 64
	// maxRequests bounds the requests one stream may carry; a longer round starts a new stream
	// next time, and already matching authors cost nothing then.
	maxRequests = 4096
	// requestTimeout bounds one request and its answer, on both ends, and how long a server
	// waits for the next request (the client stores a batch between two).
	requestTimeout = 30 * time.Second
	// roundTimeout bounds a whole round; a node far behind catches up over several.
	roundTimeout = 5 * time.Minute
	// openTimeout bounds opening the stream (dial included, if the peer is not connected).
	openTimeout = 10 * time.Second
	// serviceName is the resource manager's service for sync streams.
	serviceName = "cairn.ledgersync"
)

// request is any client frame.
type request struct {
	Op string `json:"op"`
	// heads: authors strictly after After (byte order; nil: from the first), at most Limit.
	After []byte `json:"after,omitempty"`
	// range: entries of each want's author from its From on, at most Limit in all.
	Wants []want `json:"wants,omitempty"`
	Limit int    `json:"limit"`
}

// want asks for author's entries from Seq From on.
type want struct {
	_      struct{} `cbor:",toarray"`
	Author []byte
	From   uint64
}

// headWire is a Head on the wire: a two-element array, to keep a page small.
type headWire struct {
	_      struct{} `cbor:",toarray"`
	Author []byte
	Seq    uint64
}

// headsResp answers a heads request: heads sorted by author, all after the request's After;
// More says whether authors follow this page.
type headsResp struct {
	wire.Status
	Heads []headWire `json:"heads,omitempty"`
	More  bool       `json:"more,omitempty"`
}

// rangeResp answers a range request. Counts[i] entries of Wants[i] follow, for the first
// len(Counts) wants (the rest were not reached within the limits: ask again); Sizes gives each
// entry's length in the order they follow.
type rangeResp struct {
	wire.Status
	Counts []int `json:"counts,omitempty"`
	Sizes  []int `json:"sizes,omitempty"`
}
