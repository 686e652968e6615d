package payments

import (
	"github.com/fxamacker/cbor/v2"
)

// Amount is money in integer micro-units of Cairn's abstract unit: never a float.
type Amount int64

// Version is the entry format version this code writes and reads.
const Version = 1

// Kind names what an entry says.
type Kind uint8

const (
	KindDownload  Kind = iota + 1 // a downloader's receipt for shard bytes, countersigned by the server
	KindStorage                   // a steward's attestation that a holder kept shard bytes over a span
	KindPrice                     // an operator's prices from an epoch on
	KindPartner                   // an open source partner's registration: payout key and share
	KindStatement                 // a node's signed Merkle root of an epoch's settlement statement
	KindForkProof                 // two validly signed entries of one author at one sequence number
)

// Entry is the signed envelope every ledger entry travels in. Each author's entries form an
// append-only hash chain: Seq counts from 1 and Prev is the ID of the author's entry Seq-1 (zero
// for Seq 1). Body is the canonical CBOR of the Kind's body type. Sig is the author's Ed25519
// signature over SigningBytes (a domain string, then the canonical encoding with Sig empty).
type Entry struct {
	Version uint8           `cbor:"1,keyasint"`
	Kind    Kind            `cbor:"2,keyasint"`
	Author  []byte          `cbor:"3,keyasint"` // libp2p peer ID bytes (Ed25519, identity multihash)
	Seq     uint64          `cbor:"4,keyasint"`
	Prev    []byte          `cbor:"5,keyasint,omitempty"` // 32 bytes, absent for Seq 1
	Time    int64           `cbor:"6,keyasint"`           // unix seconds the author wrote it
	Body    cbor.RawMessage `cbor:"7,keyasint"`
	Sig     []byte          `cbor:"8,keyasint,omitempty"`
}

// ID is an entry's identity: BLAKE3 of its canonical encoding, signature included.
type ID [32]byte

// Download is a downloader's receipt for Bytes of one shard served by Server, like a Storj order:
// the entry's author is the downloader, and ServerSig is the server's countersignature over a
// domain string and the canonical encoding of this body with ServerSig empty (see CounterSign).
// Owner and Partner come from the file's manifest: the owner is charged for egress, the partner
// earns its share.
type Download struct {
	Server    []byte `cbor:"1,keyasint"` // serving node's peer ID bytes
	Manifest  []byte `cbor:"2,keyasint"` // manifest CID bytes
	Shard     []byte `cbor:"3,keyasint"` // shard CID bytes
	Owner     []byte `cbor:"4,keyasint"` // the file owner's peer ID bytes (from the manifest)
	Partner   string `cbor:"5,keyasint,omitempty"`
	Bytes     int64  `cbor:"6,keyasint"` // shard bytes received and verified
	ShardSize int64  `cbor:"7,keyasint"` // the shard's size per the manifest: Bytes <= ShardSize
	Nonce     []byte `cbor:"8,keyasint"` // 16 random bytes: one receipt per download
	ServerSig []byte `cbor:"9,keyasint,omitempty"`
	// Downloader is the downloader's peer ID bytes and must equal the entry's Author: the
	// countersignature covers it, so a receipt (public once gossiped) cannot be reposted by
	// another author to charge the owner twice.
	Downloader []byte `cbor:"10,keyasint"`
}

// Storage is a steward's attestation that Holder kept Bytes of Shard from From to To (unix
// seconds), backed by Audits passed audits in that span (or, with zero audits, by the holder's
// storage receipt at put time: then From is the receipt time).
type Storage struct {
	Holder   []byte `cbor:"1,keyasint"`
	Manifest []byte `cbor:"2,keyasint"`
	Shard    []byte `cbor:"3,keyasint"`
	Owner    []byte `cbor:"4,keyasint"`
	Partner  string `cbor:"5,keyasint,omitempty"`
	Bytes    int64  `cbor:"6,keyasint"`
	From     int64  `cbor:"7,keyasint"`
	To       int64  `cbor:"8,keyasint"`
	Audits   uint32 `cbor:"9,keyasint"`
}

// Price is an operator's (the author's) prices from epoch FromEpoch on, in micro-units.
type Price struct {
	FromEpoch       uint64 `cbor:"1,keyasint"`
	StorageGiBMonth Amount `cbor:"2,keyasint"` // per GiB stored for 30 days
	EgressGiB       Amount `cbor:"3,keyasint"` // per GiB served
}

// Partner registers an open source partner: the author is the partner's key; ID is what
// uploaders tag their files with (manifest.Partner), Payout receives the share.
type Partner struct {
	ID       string `cbor:"1,keyasint"` // 1..64 bytes of [a-z0-9._-]
	Name     string `cbor:"2,keyasint"`
	Payout   []byte `cbor:"3,keyasint"` // payout peer ID bytes
	ShareBPS uint32 `cbor:"4,keyasint"` // basis points of tagged revenue, 0..10000
}

// Statement is a node's (the author's) claim of an epoch's settlement statement root.
type Statement struct {
	Epoch uint64 `cbor:"1,keyasint"`
	Root  []byte `cbor:"2,keyasint"` // 32-byte RFC 6962 Merkle root
	Count uint64 `cbor:"3,keyasint"` // entries settled
}

// ForkProof carries two entries of one author at one Seq, each validly signed, that differ.
// A sorts before B bytewise, so a pair of entries has exactly one proof (NewForkProof).
type ForkProof struct {
	A []byte `cbor:"1,keyasint"` // canonical encoding of one entry
	B []byte `cbor:"2,keyasint"` // and of the other
}
