package manifest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestLocationsSetHolder(t *testing.T) {
	m := buildManifest(25, 10, 2, 4, "")
	l := NewLocations(CID(mustEncode(t, m)), 3, 4)
	a, b := testPeer(t, 1), testPeer(t, 2)
	if _, ok := l.Holder(0, 0); ok {
		t.Fatal("new record has a holder")
	}
	l.Set(0, 0, a)
	l.Set(1, 3, b)
	l.Set(2, 1, a)
	if len(l.Peers) != 2 {
		t.Fatalf("peers table %v, want 2 distinct", l.Peers)
	}
	if p, ok := l.Holder(2, 1); !ok || p != a {
		t.Fatalf("Holder(2,1) = %v %v", p, ok)
	}
	l.Set(2, 1, "")
	if _, ok := l.Holder(2, 1); ok {
		t.Fatal("cleared holder still set")
	}
	for _, ix := range [][2]int{{-1, 0}, {3, 0}, {0, -1}, {0, 4}} {
		if _, ok := l.Holder(ix[0], ix[1]); ok {
			t.Fatalf("Holder%v out of range reported ok", ix)
		}
	}
	if err := l.CheckAgainst(m); err != nil {
		t.Fatal(err)
	}
}

func TestLocationsSignRoundTrip(t *testing.T) {
	m := buildManifest(25, 10, 2, 4, "")
	key := testKey(t, 7)
	l := signedLocations(t, m, key)
	if !l.Author.MatchesPrivateKey(key) {
		t.Fatal("Sign did not set Author")
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
	b, err := l.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeLocations(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, l) {
		t.Fatalf("round trip changed record:\n got %+v\nwant %+v", got, l)
	}
	if err := got.Verify(); err != nil {
		t.Fatal(err)
	}
	if err := got.CheckAgainst(m); err != nil {
		t.Fatal(err)
	}
}

func TestLocationsTamperFails(t *testing.T) {
	m := buildManifest(25, 10, 2, 4, "")
	other := CID(mustEncode(t, buildManifest(26, 10, 2, 4, "")))
	cases := []struct {
		name string
		mut  func(l *Locations)
	}{
		{"manifest", func(l *Locations) { l.Manifest = other }},
		{"seq", func(l *Locations) { l.Seq++ }},
		{"time", func(l *Locations) { l.Time++ }},
		{"peer replaced", func(l *Locations) { l.Peers[0] = testPeer(t, 99) }},
		{"peers reordered", func(l *Locations) { l.Peers[0], l.Peers[1] = l.Peers[1], l.Peers[0] }},
		{"peer added", func(l *Locations) { l.Peers = append(l.Peers, testPeer(t, 99)) }},
		{"holder changed", func(l *Locations) { l.Holders[1][0] = -1 }},
		{"holder moved", func(l *Locations) { l.Holders[0][1], l.Holders[0][0] = l.Holders[0][0], -1 }},
		{"author replaced", func(l *Locations) { l.Author = testPeer(t, 8) }},
		{"signature flipped", func(l *Locations) { l.Signature[5] ^= 1 }},
		{"signature truncated", func(l *Locations) { l.Signature = l.Signature[:63] }},
		{"signature removed", func(l *Locations) { l.Signature = nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := signedLocations(t, m, testKey(t, 7))
			tc.mut(l)
			if err := l.Verify(); err == nil {
				t.Fatal("tampered record verified")
			} else {
				t.Log(err)
			}
		})
	}
}

func TestLocationsWrongAuthor(t *testing.T) {
	m := buildManifest(25, 10, 2, 4, "")
	l := signedLocations(t, m, testKey(t, 7))
	// Re-sign with another key but claim the first author.
	sig, err := testKey(t, 8).Sign(l.signingBytes())
	if err != nil {
		t.Fatal(err)
	}
	l.Signature = sig
	if err := l.Verify(); err == nil || !strings.Contains(err.Error(), "bad signature") {
		t.Fatalf("signature by wrong key: %v", err)
	}
	// An author whose ID does not embed a key cannot be checked.
	l.Author = peer.ID(append([]byte{0x12, 32}, bytes.Repeat([]byte{1}, 32)...))
	if err := l.Verify(); err == nil || !strings.Contains(err.Error(), "public key") {
		t.Fatalf("sha256 author: %v", err)
	}
}

func TestLocationsSignRejectsHashedIDKeys(t *testing.T) {
	priv, _, err := crypto.GenerateECDSAKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m := buildManifest(25, 10, 2, 4, "")
	l := NewLocations(CID(mustEncode(t, m)), 3, 4)
	if err := l.Sign(priv); err == nil || !strings.Contains(err.Error(), "embed") {
		t.Fatalf("ECDSA key: %v", err)
	}
	if err := l.Sign(nil); err == nil {
		t.Fatal("nil key accepted")
	}
}

func TestLocationsCheckAgainst(t *testing.T) {
	m := buildManifest(25, 10, 2, 4, "")
	c := CID(mustEncode(t, m))
	if err := NewLocations(c, 2, 4).CheckAgainst(m); err == nil {
		t.Fatal("segment count mismatch accepted")
	}
	if err := NewLocations(c, 3, 5).CheckAgainst(m); err == nil {
		t.Fatal("shard count mismatch accepted")
	}
	other := CID(mustEncode(t, buildManifest(26, 10, 2, 4, "")))
	if err := NewLocations(other, 3, 4).CheckAgainst(m); err == nil || !strings.Contains(err.Error(), "for manifest") {
		t.Fatalf("wrong manifest: %v", err)
	}
}

func TestDecodeLocationsRejects(t *testing.T) {
	m := buildManifest(25, 10, 2, 4, "")
	l := signedLocations(t, m, testKey(t, 7))
	good, err := l.Encode()
	if err != nil {
		t.Fatal(err)
	}
	g := string(good)
	p0 := l.Peers[0].String()
	cases := []struct{ name, in, want string }{
		{"empty", "", "EOF"},
		{"unknown field", strings.Replace(g, `"seq"`, `"x":0,"seq"`, 1), "unknown field"},
		{"trailing", g + "[]", "trailing"},
		{"whitespace", strings.Replace(g, `,"seq"`, `, "seq"`, 1), "canonical"},
		{"shard cid as manifest", strings.Replace(g, l.Manifest.String(), shardCID(0, 0).String(), 1), "codec"},
		{"index too big", strings.Replace(g, `"holders":[[0`, `"holders":[[9`, 1), "out of range"},
		{"index -2", strings.Replace(g, `"holders":[[0`, `"holders":[[-2`, 1), "out of range"},
		{"duplicate peer", strings.Replace(g, `"peers":["`+p0+`"`, `"peers":["`+p0+`","`+p0+`"`, 1), "duplicates"},
		{"bad peer", strings.Replace(g, p0, "Qmnotapeer", 1), "bad peer ID"},
		{"cid peer form", strings.Replace(g, p0, peer.ToCid(l.Peers[0]).String(), 1), "canonical base58"},
		{"ragged rows", strings.Replace(g, `"holders":[[0,-1,`, `"holders":[[0,`, 1), "segment 0 has"},
		{"no segments", strings.Replace(g, g[strings.Index(g, `"holders":`):strings.Index(g, `,"author"`)], `"holders":[]`, 1), "no segments"},
		{"unsigned", strings.Replace(g, hex.EncodeToString(l.Signature), "", 1), "not signed"},
		{"uppercase sig", strings.Replace(g, hex.EncodeToString(l.Signature), strings.ToUpper(hex.EncodeToString(l.Signature)), 1), "lowercase"},
		{"empty author", strings.Replace(g, `"author":"`+l.Author.String(), `"author":"`, 1), "author"},
		{"negative seq", strings.Replace(g, `"seq":3`, `"seq":-3`, 1), "cannot unmarshal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeLocations([]byte(tc.in))
			if err == nil {
				t.Fatalf("accepted %s", tc.in)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	if _, err := DecodeLocations(make([]byte, MaxLocationsSize+1)); err == nil {
		t.Fatal("oversize accepted")
	}
}

func TestLocationsRejectsNonPeerMultihash(t *testing.T) {
	l := signedLocations(t, buildManifest(25, 10, 2, 4, ""), testKey(t, 7))
	l.Peers[0] = peer.ID(append([]byte{0x16, 32}, bytes.Repeat([]byte{1}, 32)...)) // sha3-256
	if _, err := l.Encode(); err == nil || !strings.Contains(err.Error(), "want identity or sha2-256") {
		t.Fatalf("sha3 peer ID: %v", err)
	}
}
