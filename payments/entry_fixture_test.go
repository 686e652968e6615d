package payments

import (
	"bytes"
	"crypto/ed25519"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// Deterministic fixtures: keys from fixed seeds, so signatures (Ed25519 is deterministic) and
// fuzz seeds are the same on every run.

const fixtureTime = 1_700_000_000 // entries' Time; validators run at fixtureTime + small

// fataler is what fixtures need of a test: *testing.T, *testing.B, *testing.F and *rapid.T.
type fataler interface {
	Helper()
	Fatal(args ...any)
}

type testKey struct {
	priv crypto.PrivKey
	id   []byte // peer ID bytes
}

func newTestKey(t fataler, n byte) *testKey {
	t.Helper()
	seed := bytes.Repeat([]byte{n}, ed25519.SeedSize)
	priv, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	id, err := ed25519ID(priv)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{priv: priv, id: id}
}

// testCID is a Cairn CID of the given codec with every digest byte n.
func testCID(codec, n byte) []byte {
	return append([]byte{0x01, codec, 0x1e, 0x20}, bytes.Repeat([]byte{n}, 32)...)
}

// chain writes one author's entries in order.
type chain struct {
	t       fataler
	key     *testKey
	last    *Entry
	history []*Entry
}

func newChain(t fataler, n byte) *chain { return &chain{t: t, key: newTestKey(t, n)} }

// entry builds, signs and encodes the author's next entry; it does not advance the chain.
func (c *chain) entry(k Kind, body any, time int64) (*Entry, []byte) {
	c.t.Helper()
	raw, err := EncodeBody(body)
	if err != nil {
		c.t.Fatal(err)
	}
	seq, prev := Next(c.last)
	e := &Entry{Kind: k, Seq: seq, Prev: prev, Time: time, Body: raw}
	if err := Sign(c.key.priv, e); err != nil {
		c.t.Fatal(err)
	}
	b, err := Encode(e)
	if err != nil {
		c.t.Fatal(err)
	}
	return e, b
}

// add builds the next entry and advances the chain.
func (c *chain) add(k Kind, body any, time int64) []byte {
	c.t.Helper()
	e, b := c.entry(k, body, time)
	c.last = e
	c.history = append(c.history, e)
	return b
}

func (c *chain) price(time int64) []byte {
	return c.add(KindPrice, &Price{FromEpoch: 1, StorageGiBMonth: 4000, EgressGiB: 7000}, time)
}

// download is a countersigned receipt of the chain's author for a shard served by server.
func (c *chain) download(server *testKey, nonce byte) *Download {
	c.t.Helper()
	owner := newTestKey(c.t, 200)
	d := &Download{
		Manifest: testCID(cidCodecCBOR, 1), Shard: testCID(cidCodecRaw, 2), Owner: owner.id,
		Partner: "debian", Bytes: 1 << 20, ShardSize: 4 << 20,
		Nonce: bytes.Repeat([]byte{nonce}, NonceSize), Downloader: c.key.id,
	}
	if err := CounterSign(server.priv, d); err != nil {
		c.t.Fatal(err)
	}
	return d
}

func (c *chain) storage(holder *testKey, time int64) *Storage {
	return &Storage{
		Holder: holder.id, Manifest: testCID(cidCodecCBOR, 1), Shard: testCID(cidCodecRaw, 2),
		Owner: newTestKey(c.t, 200).id, Bytes: 4 << 20, From: time - 3600, To: time, Audits: 3,
	}
}

func testPartner(payout *testKey) *Partner {
	return &Partner{ID: "debian", Name: "Debian Project", Payout: payout.id, ShareBPS: 1500}
}

func testStatement(epoch uint64) *Statement {
	return &Statement{Epoch: epoch, Root: bytes.Repeat([]byte{9}, 32), Count: 12}
}

// fork returns a second entry of c's author at the Seq of its last entry, chained like it.
func (c *chain) fork() (*Entry, []byte) {
	c.t.Helper()
	saved := c.last
	c.last = nil
	if n := len(c.history); n >= 2 {
		c.last = c.history[n-2]
	}
	e, b := c.entry(KindStatement, testStatement(999), saved.Time)
	c.last = saved
	return e, b
}
