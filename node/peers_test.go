package node

import (
	"crypto/rand"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"pgregory.net/rapid"
)

func testPeerIDs(t testing.TB, n int) []peer.ID {
	out := make([]peer.ID, n)
	for i := range out {
		_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		out[i], _ = peer.IDFromPublicKey(pub)
	}
	return out
}

func TestMergeKnownProperties(t *testing.T) {
	ids := testPeerIDs(t, 12)
	base := time.Unix(1_700_000_000, 0)
	genPeer := rapid.Custom(func(t *rapid.T) knownPeer {
		return knownPeer{
			ID:    ids[rapid.IntRange(0, len(ids)-1).Draw(t, "id")],
			Addrs: []string{fmt.Sprintf("/ip4/127.0.%d.1/tcp/%d", rapid.IntRange(1, 9).Draw(t, "ip"), rapid.IntRange(1, 65535).Draw(t, "port"))},
			Seen:  base.Add(time.Duration(rapid.IntRange(0, 100).Draw(t, "seen")) * time.Second),
		}
	})
	rapid.Check(t, func(t *rapid.T) {
		old := rapid.SliceOf(genPeer).Draw(t, "old")
		fresh := rapid.SliceOf(genPeer).Draw(t, "fresh")
		limit := rapid.IntRange(0, 15).Draw(t, "limit")
		got := mergeKnown(old, fresh, limit)
		all := append(append([]knownPeer{}, old...), fresh...)
		newest := map[peer.ID]time.Time{}
		for _, p := range all {
			if p.Seen.After(newest[p.ID]) || newest[p.ID].IsZero() {
				newest[p.ID] = p.Seen
			}
		}
		if len(got) != min(limit, len(newest)) {
			t.Fatalf("kept %d of %d distinct peers with limit %d", len(got), len(newest), limit)
		}
		seen := map[peer.ID]bool{}
		for i, p := range got {
			if seen[p.ID] {
				t.Fatalf("peer %s twice", p.ID)
			}
			seen[p.ID] = true
			if !p.Seen.Equal(newest[p.ID]) {
				t.Fatalf("peer %s kept an older entry (%s, newest %s)", p.ID, p.Seen, newest[p.ID])
			}
			if i > 0 && got[i-1].Seen.Before(p.Seen) {
				t.Fatalf("not most recent first at %d", i)
			}
		}
		// Whatever was dropped is no more recent than what was kept.
		if len(got) > 0 {
			last := got[len(got)-1].Seen
			for id, s := range newest {
				if !seen[id] && s.After(last) {
					t.Fatalf("dropped %s seen %s, kept one seen %s", id, s, last)
				}
			}
		}
	})
}

func TestDecodeKnownPeersSurvivesBadInput(t *testing.T) {
	ids := testPeerIDs(t, 2)
	good := fmt.Sprintf(`{"peers":[{"id":%q,"addrs":["/ip4/127.0.2.1/tcp/5/p2p/%s","/ip4/127.0.2.1/tcp/5","bogus"],"seen":"2026-01-02T03:04:05Z"},
		{"id":%q,"addrs":["nonsense"]}]}`, ids[0], ids[0], ids[1])
	ps, err := decodeKnownPeers([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	// The second peer has no usable address; the first one's /p2p suffix and duplicate go.
	if len(ps) != 1 || ps[0].ID != ids[0] || !slices.Equal(ps[0].Addrs, []string{"/ip4/127.0.2.1/tcp/5"}) {
		t.Fatalf("decoded %+v", ps)
	}
	for _, bad := range []string{`{`, `[]`, `{"peers":[{"id":"not a peer id","addrs":["/ip4/1.2.3.4/tcp/1"]}]}`, `{"peers":7}`} {
		ps, err := decodeKnownPeers([]byte(bad))
		if err == nil && len(ps) != 0 {
			t.Errorf("%s: decoded %+v", bad, ps)
		}
	}
	if ps, err := decodeKnownPeers(nil); err != nil || ps != nil {
		t.Fatalf("empty file: %v %v", ps, err)
	}
}

func TestKnownPeersRoundTripIsBounded(t *testing.T) {
	ids := testPeerIDs(t, maxKnownPeers+10)
	var ps []knownPeer
	for i, id := range ids {
		var addrs []string
		for j := range maxPeerAddrs + 3 {
			addrs = append(addrs, fmt.Sprintf("/ip4/10.0.%d.%d/tcp/4101", i, j))
		}
		ps = append(ps, knownPeer{ID: id, Addrs: addrs, Seen: time.Unix(int64(i), 0).UTC()})
	}
	b, err := encodeKnownPeers(mergeKnown(nil, ps, maxKnownPeers))
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeKnownPeers(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != maxKnownPeers || got[0].ID != ids[len(ids)-1] || len(got[0].Addrs) != maxPeerAddrs {
		t.Fatalf("got %d peers, first %s with %d addrs", len(got), got[0].ID, len(got[0].Addrs))
	}
	ais := addrInfos(got, got[0].ID)
	if len(ais) != maxKnownPeers-1 || ais[0].ID != got[1].ID {
		t.Fatalf("addrInfos did not skip self: %d", len(ais))
	}
}

func TestJoinCandidatesMergesAndSkipsSelf(t *testing.T) {
	ids := testPeerIDs(t, 3)
	a := func(s string) ma.Multiaddr { return ma.StringCast(s) }
	boot := []peer.AddrInfo{{ID: ids[0], Addrs: []ma.Multiaddr{a("/ip4/127.0.1.1/tcp/1")}}, {ID: ids[2], Addrs: []ma.Multiaddr{a("/ip4/127.0.3.1/tcp/3")}}}
	known := []peer.AddrInfo{{ID: ids[1], Addrs: []ma.Multiaddr{a("/ip4/127.0.2.1/tcp/2")}}, {ID: ids[0], Addrs: []ma.Multiaddr{a("/ip4/127.0.1.1/udp/1/quic-v1")}}}
	got := joinCandidates(boot, known, ids[2])
	if len(got) != 2 || got[0].ID != ids[0] || got[1].ID != ids[1] || len(got[0].Addrs) != 2 {
		t.Fatalf("candidates %v", got)
	}
	if len(boot[0].Addrs) != 1 {
		t.Fatal("joinCandidates changed its input")
	}
}

func TestIsManifestCID(t *testing.T) {
	for _, tc := range []struct {
		codec uint64
		want  bool
	}{{codec.CodecJSON, true}, {codec.CodecCBOR, true}, {codec.CodecRaw, false}, {0x71, false}} {
		if got := isManifestCID(codec.BlobCID(tc.codec, []byte("x"))); got != tc.want {
			t.Errorf("codec %#x: %v, want %v", tc.codec, got, tc.want)
		}
	}
}
