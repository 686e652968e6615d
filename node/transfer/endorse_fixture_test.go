package transfer

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/store"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// stewardNode is one steward on loopback: host, store, stewardship, endorser and client.
type stewardNode struct {
	h    host.Host
	priv crypto.PrivKey
	st   *store.Store
	sw   *Stewardship
	e    *Endorser
	c    *Client

	mu      sync.Mutex
	refuse  map[peer.ID]bool // holders whose entries Vet refuses
	noSets  bool             // VetSet refuses every set
	vetSeen int
}

func (n *stewardNode) id() peer.ID { return n.h.ID() }

// refuseHolder makes this node's Vet refuse entries of holder p.
func (n *stewardNode) refuseHolder(p peer.ID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.refuse[p] = true
}

func (n *stewardNode) refuseSets() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.noSets = true
}

// newStewardNode starts a host with its own Ed25519 key and answers ProtoEndorse. The hooks are
// set here, before any peer knows the host; tests steer them through refuse and noSets.
func newStewardNode(t *testing.T) *stewardNode {
	priv, _ := key(t)
	h, err := libp2p.New(libp2p.Identity(priv), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n := &stewardNode{h: h, priv: priv, st: st, sw: NewStewardship(st, nil), refuse: map[peer.ID]bool{}}
	srv := NewServer(h, st, n.sw, nil, "test", slog.New(slog.DiscardHandler))
	t.Cleanup(srv.Close)
	n.e = NewEndorser(h, n.sw, priv, nil)
	t.Cleanup(n.e.Close)
	n.e.Vet = func(_ context.Context, _ *manifest.Manifest, _ cid.Cid, e manifest.Entry) error {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.vetSeen++
		if n.refuse[e.Receipt.Holder] {
			return fmt.Errorf("audit of %s failed", e.Receipt.Holder.ShortString())
		}
		return nil
	}
	n.e.VetSet = func(_ context.Context, _ *manifest.Manifest, _ cid.Cid, cur, next manifest.StewardSet) error {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.noSets {
			return fmt.Errorf("handover from epoch %d not agreed", cur.Epoch)
		}
		return nil
	}
	n.c = NewClient(h, st, n.sw)
	return n
}

// endorseFixture is a file whose owner appointed the stewards as epoch 0 and is gone.
type endorseFixture struct {
	m     *manifest.Manifest
	body  []byte
	mc    cid.Cid
	mtok  [32]byte
	chain []manifest.StewardSet
	nodes []*stewardNode
}

const (
	fixSegs = 2
	fixK    = 2
	fixN    = 4
)

// newEndorseFixture starts n connected stewards and gives each the manifest of a 2-segment
// 2-of-4 file with an owner-endorsed record: one original holder per shard.
func newEndorseFixture(t *testing.T, n int) *endorseFixture {
	f := &endorseFixture{}
	for range n {
		f.nodes = append(f.nodes, newStewardNode(t))
	}
	for i, a := range f.nodes {
		for _, b := range f.nodes[i+1:] {
			connect(t, a.h, b.h)
		}
	}
	owner, ownerID := key(t)
	f.mtok = [32]byte{0x6d}
	m := &manifest.Manifest{Version: manifest.Version, Size: fixSegs * 64 << 10, SegmentSize: 64 << 10,
		K: fixK, N: fixN, Cipher: manifest.CipherAES256GCM, Owner: ownerID,
		Meta: make([]byte, manifest.MinMetaSize), DeleteHash: codec.DeleteHash(f.mtok)}
	for s := range fixSegs {
		seg := manifest.Segment{Size: 64 << 10, ShardSize: manifest.ShardSizeFor(64<<10, fixK)}
		for i := range fixN {
			seg.Shards = append(seg.Shards, codec.ShardCID(fmt.Appendf(nil, "endorse %d/%d", s, i)))
			seg.DeleteHashes = append(seg.DeleteHashes, codec.DeleteHash([32]byte{byte(s), byte(i)}))
		}
		m.Segments = append(m.Segments, seg)
	}
	body, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	f.m, f.body, f.mc = m, body, manifest.CID(body)
	set := manifest.StewardSet{}
	for _, nd := range f.nodes {
		set.Members = append(set.Members, nd.id())
	}
	if err := set.SignBy(owner, f.mc); err != nil {
		t.Fatal(err)
	}
	f.chain = []manifest.StewardSet{set}
	loc := manifest.NewLocations(f.mc)
	loc.Stewards = f.chain
	for p := range fixSegs * fixN {
		e := f.receipt(t, uint32(p))
		sig, err := manifest.Endorse(owner, &e.Receipt)
		if err != nil {
			t.Fatal(err)
		}
		e.Endorsements = []manifest.Signature{sig}
		loc.Add(e)
	}
	rec, err := loc.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range f.nodes {
		if s := nd.sw.Accept(Origin{Account: "uploader"}, f.mc, body, rec); !s.OK {
			t.Fatal(s.Error)
		}
	}
	return f
}

// receipt is a fresh holder's signed receipt for positions, not yet endorsed by anyone.
func (f *endorseFixture) receipt(t *testing.T, positions ...uint32) manifest.Entry {
	hk, _ := key(t)
	r := manifest.Receipt{Positions: slices.Clone(positions), Time: 100}
	if err := r.Sign(hk, f.m); err != nil {
		t.Fatal(err)
	}
	return manifest.Entry{Receipt: r}
}

// holds tells whether node n's verified record lists holder at flat position p.
func (f *endorseFixture) holds(t *testing.T, n *stewardNode, holder peer.ID, p int) bool {
	t.Helper()
	_, loc, err := n.sw.Record(f.mc)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(loc.Holders(p/fixN, p%fixN, fixN), holder)
}

func connect(t *testing.T, a, b host.Host) {
	t.Helper()
	if err := a.Connect(context.Background(), peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
}
