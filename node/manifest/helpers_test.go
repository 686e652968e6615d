package manifest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func shardCID(seg, shard int) cid.Cid {
	return codec.BlobCID(codecRaw, fmt.Appendf(nil, "shard %d/%d", seg, shard))
}

// Key seeds: the owner is 1, stewards 20.., holders 40.., strangers 90...
const ownerSeed = 1

// buildManifest returns a valid manifest with the given shape, owned by
// testKey(ownerSeed), with deterministic meta and hashes.
func buildManifest(t testing.TB, size, segSize int64, k, n int) *Manifest {
	t.Helper()
	m := &Manifest{
		Version: Version, Size: size, SegmentSize: segSize, K: k, N: n,
		Cipher: CipherAES256GCM, Owner: testPeer(t, ownerSeed), Partner: "acme-1.0",
		Meta: bytes.Repeat([]byte{0x5a}, MinMetaSize+32),
	}
	for i := range m.DeleteHash {
		m.DeleteHash[i] = byte(i * 7)
	}
	count := SegmentCount(size, segSize)
	for i := range count {
		s := segSize
		if i == count-1 {
			s = size - i*segSize
		}
		seg := Segment{Size: s, ShardSize: ShardSizeFor(s, k)}
		for j := range n {
			seg.Shards = append(seg.Shards, shardCID(int(i), j))
			seg.DeleteHashes = append(seg.DeleteHashes, [32]byte{byte(i), byte(j), 0xde})
		}
		m.Segments = append(m.Segments, seg)
	}
	return m
}

func mustEncode(t testing.TB, m *Manifest) []byte {
	t.Helper()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	keyMu    sync.Mutex
	keyCache = map[byte]crypto.PrivKey{}
)

// testKey returns a deterministic Ed25519 key so seeds and golden values
// are stable.
func testKey(t testing.TB, seed byte) crypto.PrivKey {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	if k, ok := keyCache[seed]; ok {
		return k
	}
	priv, _, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{seed}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	keyCache[seed] = priv
	return priv
}

func testPeer(t testing.TB, seed byte) peer.ID {
	t.Helper()
	id, err := peer.IDFromPrivateKey(testKey(t, seed))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func keys(t testing.TB, seeds ...byte) []crypto.PrivKey {
	t.Helper()
	out := make([]crypto.PrivKey, len(seeds))
	for i, s := range seeds {
		out[i] = testKey(t, s)
	}
	return out
}

// fixture is a manifest with an owner and a few steward sets, and helpers
// to sign receipts, endorsements and chains for it.
type fixture struct {
	t  testing.TB
	m  *Manifest
	id cid.Cid
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	m := buildManifest(t, 25, 10, 2, 4) // 3 segments of 4 shards: positions 0..11
	return &fixture{t: t, m: m, id: CID(mustEncode(t, m))}
}

func (f *fixture) receipt(holder byte, time int64, positions ...uint32) Receipt {
	f.t.Helper()
	r := Receipt{Positions: positions, Time: time}
	if err := r.Sign(testKey(f.t, holder), f.m); err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) entry(holder byte, time int64, endorsers []byte, positions ...uint32) Entry {
	f.t.Helper()
	e := Entry{Receipt: f.receipt(holder, time, positions...)}
	f.endorse(&e, endorsers...)
	return e
}

// endorse adds endorsements of e's receipt, keeping them sorted.
func (f *fixture) endorse(e *Entry, endorsers ...byte) {
	f.t.Helper()
	for _, s := range endorsers {
		sig, err := Endorse(testKey(f.t, s), &e.Receipt)
		if err != nil {
			f.t.Fatal(err)
		}
		e.Endorsements = addSignature(e.Endorsements, sig)
	}
}

// set returns steward set epoch of members, signed by signers.
func (f *fixture) set(epoch uint64, members []byte, signers ...byte) StewardSet {
	f.t.Helper()
	s := StewardSet{Epoch: epoch}
	for _, m := range members {
		s.Members = append(s.Members, testPeer(f.t, m))
	}
	for _, k := range signers {
		if err := s.SignBy(testKey(f.t, k), f.id); err != nil {
			f.t.Fatal(err)
		}
	}
	return s
}

var (
	epoch0 = []byte{20, 21, 22}
	epoch1 = []byte{22, 23, 24, 25}
)

// chain is epoch 0 (20, 21, 22) by the owner, then epoch 1 (22..25)
// signed by 20 and 21.
func (f *fixture) chain() []StewardSet {
	return []StewardSet{
		f.set(0, epoch0, ownerSeed),
		f.set(1, epoch1, 20, 21),
	}
}

// record is a valid record: holders 40 (owner endorsed), 41 (epoch 0
// majority), 42 (epoch 1 majority, two positions).
func (f *fixture) record() *Locations {
	f.t.Helper()
	l := NewLocations(f.id)
	l.Stewards = f.chain()
	l.Add(f.entry(40, 100, []byte{ownerSeed}, 0))
	l.Add(f.entry(41, 100, []byte{20, 22}, 1, 5))
	l.Add(f.entry(42, 100, []byte{23, 24, 25}, 2, 7, 11))
	if err := l.Verify(f.m); err != nil {
		f.t.Fatalf("fixture record invalid: %v", err)
	}
	return l
}

func mustEncodeLoc(t testing.TB, l *Locations) []byte {
	t.Helper()
	b, err := l.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
