package economy

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
	"lukechampine.com/blake3"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/sim"
)

// TestIdentities: peer IDs are libp2p Ed25519 IDs of the key PrivKey derives, distinct, the
// same whatever order they are derived in, different under another seed, and map back to
// their nodes.
func TestIdentities(t *testing.T) {
	a, b := NewIdentities(sim.NewStreams(7)), NewIdentities(sim.NewStreams(7))
	nodes := []int32{5, 0, 4096, 3, 70000, 1}
	seen := map[string]bool{}
	for _, n := range nodes {
		id, err := a.Peer(n)
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(id)] {
			t.Fatalf("node %d: duplicate ID", n)
		}
		seen[string(id)] = true
		pub, err := peer.ID(id).ExtractPublicKey()
		if err != nil || pub.Type() != pb.KeyType_Ed25519 {
			t.Fatalf("node %d: %v, %v", n, pub, err)
		}
		priv, err := a.PrivKey(n)
		if err != nil {
			t.Fatal(err)
		}
		if !priv.GetPublic().Equals(pub) {
			t.Fatalf("node %d: private key does not match the ID", n)
		}
		if got, ok := a.Node(id); !ok || got != n {
			t.Fatalf("node %d maps back to %d, %v", n, got, ok)
		}
	}
	for i := len(nodes) - 1; i >= 0; i-- { // reverse order
		x, _ := a.Peer(nodes[i])
		y, err := b.Peer(nodes[i])
		if err != nil || !bytes.Equal(x, y) {
			t.Fatalf("node %d: derivation depends on order", nodes[i])
		}
	}
	if a.Len() != len(nodes) {
		t.Errorf("Len %d, want %d", a.Len(), len(nodes))
	}
	other, _ := NewIdentities(sim.NewStreams(8)).Peer(5)
	if mine, _ := a.Peer(5); bytes.Equal(mine, other) {
		t.Error("seeds 7 and 8 give node 5 the same key")
	}
	if _, ok := a.Node(other); ok {
		t.Error("an ID of another run maps to a node")
	}
	if _, ok := a.Node([]byte("short")); ok {
		t.Error("a malformed ID maps to a node")
	}
	for _, n := range []int32{-1, MaxNodes} {
		if _, err := a.Peer(n); err == nil {
			t.Errorf("node %d accepted", n)
		}
		if _, err := a.PrivKey(n); err == nil {
			t.Errorf("node %d private key derived", n)
		}
	}
	p1, err := a.PartnerPeer("debian")
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := a.PartnerPrivKey("debian")
	if id, _ := peer.IDFromPrivateKey(pk); string(id) != string(p1) {
		t.Error("partner key does not match its ID")
	}
	if _, ok := a.Node(p1); ok {
		t.Error("a partner's ID maps to a node")
	}
	var _ crypto.PrivKey = pk
}

// TestReverseCollision forces two IDs to share the reverse map's key: both still map back.
func TestReverseCollision(t *testing.T) {
	ids := NewIdentities(sim.NewStreams(1))
	x, _ := ids.Peer(1)
	fake := bytes.Clone(x)
	fake[len(fake)-1] ^= 0xff // same first 8 key bytes, another ID
	ids.add(2, fake)
	if n, ok := ids.Node(fake); !ok || n != 2 {
		t.Fatalf("colliding ID maps to %d, %v", n, ok)
	}
	if n, ok := ids.Node(x); !ok || n != 1 {
		t.Fatalf("first ID maps to %d, %v", n, ok)
	}
}

// TestCIDsAreCairnCIDs: the synthetic CIDs are what node/codec builds for a BLAKE3 digest,
// parse with go-cid as CIDv1 raw (shards) or CBOR (manifests) with a BLAKE3-256 multihash,
// and differ between a file and a shard of the same number.
func TestCIDsAreCairnCIDs(t *testing.T) {
	digest := func(domain string, a, b uint64) [32]byte {
		buf := []byte(domain)
		buf = binary.LittleEndian.AppendUint64(buf, a)
		buf = binary.LittleEndian.AppendUint64(buf, b)
		return blake3.Sum256(buf)
	}
	for _, id := range []uint64{0, 1, 1 << 40} {
		m, s := ManifestCID(id), ShardCID(id)
		if want := codec.CIDFromDigest(codec.CodecCBOR, digest(manifestDomain, id, 0)).Bytes(); !bytes.Equal(m, want) {
			t.Fatalf("manifest CID %x, node/codec gives %x", m, want)
		}
		if want := codec.CIDFromDigest(codec.CodecRaw, digest(shardDomain, id, 0)).Bytes(); !bytes.Equal(s, want) {
			t.Fatalf("shard CID %x, node/codec gives %x", s, want)
		}
		for _, c := range []struct {
			b     []byte
			codec uint64
		}{{m, codec.CodecCBOR}, {s, codec.CodecRaw}, {servedShardCID(id, 3), codec.CodecRaw}} {
			parsed, err := cid.Cast(c.b)
			if err != nil {
				t.Fatal(err)
			}
			if p := parsed.Prefix(); p.Version != 1 || p.Codec != c.codec || p.MhType != mh.BLAKE3 || p.MhLength != 32 {
				t.Fatalf("CID prefix %+v", p)
			}
		}
		if bytes.Equal(m[4:], s[4:]) {
			t.Fatal("file and shard of one number share a digest")
		}
	}
}
