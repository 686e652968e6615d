package manifest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func shardCID(seg, shard int) cid.Cid {
	return codec.BlobCID(codecRaw, fmt.Appendf(nil, "shard %d/%d", seg, shard))
}

// buildManifest returns a valid manifest with the given shape.
func buildManifest(size, segSize int64, k, n int, name string) *Manifest {
	m := &Manifest{
		Version: Version, Size: size, SegmentSize: segSize, K: k, N: n,
		Cipher: CipherAES256GCM, Name: name,
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

// testKey returns a deterministic Ed25519 key so seeds and golden values
// are stable.
func testKey(t testing.TB, seed byte) crypto.PrivKey {
	t.Helper()
	priv, _, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{seed}, 64)))
	if err != nil {
		t.Fatal(err)
	}
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

// signedLocations returns a signed record for m with a few holders set.
func signedLocations(t testing.TB, m *Manifest, signer crypto.PrivKey) *Locations {
	t.Helper()
	l := NewLocations(CID(mustEncode(t, m)), len(m.Segments), m.N)
	l.Seq, l.Time = 3, 1_700_000_000
	for i := range m.Segments {
		for j := 0; j < m.N; j += 2 {
			l.Set(i, j, testPeer(t, byte(10+(i+j)%3)))
		}
	}
	if err := l.Sign(signer); err != nil {
		t.Fatal(err)
	}
	return l
}
