package dht

import (
	"crypto/rand"
	"testing"

	kb "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func randomPeers(t *testing.T, n int) []peer.ID {
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

func TestClosestIsSortedDedupedAndBounded(t *testing.T) {
	ps := randomPeers(t, 30)
	key := "some key"
	got := Closest(append(ps, ps[:5]...), key, 10)
	if len(got) != 10 {
		t.Fatalf("len %d", len(got))
	}
	seen := map[peer.ID]bool{}
	for i, p := range got {
		if seen[p] {
			t.Fatal("duplicate")
		}
		seen[p] = true
		if i > 0 && !kb.Closer(got[i-1], p, key) {
			t.Fatalf("not sorted at %d", i)
		}
	}
	// Nothing outside the result is closer than its farthest member.
	for _, p := range ps {
		if !seen[p] && kb.Closer(p, got[9], key) {
			t.Fatalf("%s is closer than the 10th result", p)
		}
	}
	if n := len(Closest(ps[:3], key, 10)); n != 3 {
		t.Fatalf("fewer candidates than n: %d", n)
	}
}
