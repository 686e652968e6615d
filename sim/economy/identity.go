package economy

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-storage/cairn/sim"
)

// Key streams: node i's key seed is 32 bytes from stream StreamID(StreamKeys)+i, a partner's
// from the stream named StreamPartnerKeys+ID. Per-node streams make a key independent of when
// (and whether) other keys were derived, so deriving lazily changes nothing.
const (
	StreamKeys        = "economy/keys"
	StreamPartnerKeys = "economy/partner-keys/"
)

// MaxNodes bounds node indices: the cache keeps 4 bytes per index up to the largest derived.
const MaxNodes = 1 << 24

const (
	idSize       = 38 // an Ed25519 peer ID: identity multihash of the protobuf public key
	chunkRecords = 1 << 12
	pubKeyAt     = idSize - ed25519.PublicKeySize
)

// Identities maps simulated node indices to libp2p Ed25519 peer IDs, the ledger's accounts,
// and back. Keys are derived on first use and cached (38 bytes a node in 152 KiB chunks, 4
// bytes an index, about 40 bytes in the reverse map): deriving costs one Ed25519 key
// generation, about 20 µs (BenchmarkDerive), so a run pays only for the nodes that appear in
// its ledger. Private keys are not kept; PrivKey derives one again.
type Identities struct {
	streams sim.Streams
	base    uint64
	slot    []int32  // node → record + 1; 0 = not derived
	chunks  [][]byte // peer ID records, idSize bytes each
	n       int32    // records
	rev     map[uint64]int32
	revAll  map[string]int32 // IDs whose first 8 key bytes another ID already has
}

// NewIdentities returns the identities of streams' seed; none is derived yet.
func NewIdentities(streams sim.Streams) *Identities {
	return &Identities{streams: streams, base: sim.StreamID(StreamKeys), rev: make(map[uint64]int32)}
}

// Peer returns node's peer ID bytes. The slice is shared: do not modify it.
func (ids *Identities) Peer(node int32) ([]byte, error) {
	if node < 0 || node >= MaxNodes {
		return nil, fmt.Errorf("economy: node index %d out of range 0..%d", node, MaxNodes-1)
	}
	if int(node) < len(ids.slot) {
		if r := ids.slot[node]; r > 0 {
			return ids.record(r - 1), nil
		}
	}
	id, err := peerID(ids.seed(node))
	if err != nil {
		return nil, err
	}
	return ids.add(node, id), nil
}

func (ids *Identities) record(r int32) []byte {
	c := ids.chunks[r/chunkRecords]
	at := int(r%chunkRecords) * idSize
	return c[at : at+idSize : at+idSize]
}

func (ids *Identities) add(node int32, id []byte) []byte {
	r := ids.n
	if int(r/chunkRecords) == len(ids.chunks) {
		ids.chunks = append(ids.chunks, make([]byte, 0, chunkRecords*idSize))
	}
	c := &ids.chunks[r/chunkRecords]
	*c = append(*c, id...)
	ids.n++
	if int(node) >= len(ids.slot) {
		ids.slot = append(ids.slot, make([]int32, int(node)+1-len(ids.slot))...)
	}
	ids.slot[node] = r + 1
	k := revKey(id)
	if _, taken := ids.rev[k]; taken {
		if ids.revAll == nil {
			ids.revAll = make(map[string]int32)
		}
		ids.revAll[string(id)] = node
	} else {
		ids.rev[k] = node
	}
	return ids.record(r)
}

// revKey is the first 8 bytes of the public key inside an ID: uniform, so a good map key.
func revKey(id []byte) uint64 { return binary.LittleEndian.Uint64(id[pubKeyAt:]) }

// Node returns the node whose peer ID is id, among those derived so far.
func (ids *Identities) Node(id []byte) (int32, bool) {
	if len(id) != idSize {
		return 0, false
	}
	if n, ok := ids.rev[revKey(id)]; ok && bytes.Equal(ids.record(ids.slot[n]-1), id) {
		return n, true
	}
	n, ok := ids.revAll[string(id)]
	return n, ok
}

// Len is the number of nodes derived so far.
func (ids *Identities) Len() int { return int(ids.n) }

// PrivKey derives node's private key again (for tests that sign what the simulator writes).
func (ids *Identities) PrivKey(node int32) (crypto.PrivKey, error) {
	if node < 0 || node >= MaxNodes {
		return nil, fmt.Errorf("economy: node index %d out of range 0..%d", node, MaxNodes-1)
	}
	s := ids.seed(node)
	return crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(s[:]))
}

// PartnerPeer and PartnerPrivKey are the identity of partner id: its registration's author
// and payout key.
func (ids *Identities) PartnerPeer(id string) ([]byte, error) {
	return peerID(ids.partnerSeed(id))
}

func (ids *Identities) PartnerPrivKey(id string) (crypto.PrivKey, error) {
	s := ids.partnerSeed(id)
	return crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(s[:]))
}

func (ids *Identities) seed(node int32) [ed25519.SeedSize]byte {
	return seedFrom(ids.streams.PCG(ids.base + uint64(node)))
}

func (ids *Identities) partnerSeed(id string) [ed25519.SeedSize]byte {
	return seedFrom(ids.streams.NamedPCG(StreamPartnerKeys + id))
}

func seedFrom(src *rand.PCG) (s [ed25519.SeedSize]byte) {
	for i := 0; i < len(s); i += 8 {
		binary.LittleEndian.PutUint64(s[i:], src.Uint64())
	}
	return s
}

// peerID is the libp2p peer ID bytes of the key with seed s.
func peerID(s [ed25519.SeedSize]byte) ([]byte, error) {
	priv := ed25519.NewKeyFromSeed(s[:])
	pub, err := crypto.UnmarshalEd25519PublicKey(priv[ed25519.SeedSize:])
	if err != nil {
		return nil, fmt.Errorf("economy: derive key: %w", err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("economy: derive peer ID: %w", err)
	}
	if len(id) != idSize {
		return nil, fmt.Errorf("economy: peer ID of %d bytes, want %d", len(id), idSize)
	}
	return []byte(id), nil
}
