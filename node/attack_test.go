package node_test

// Attacks by a hostile peer on the real libp2p stack (node/testnet.Adversary: its own host and
// keys, speaking Cairn's protocols directly). Each test fails if its defence breaks, and checks
// that honest puts and gets still work while the attack runs.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node"
	"github.com/cairn-storage/cairn/node/codec"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/node/testnet"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

func addrOf(n *node.Node) peer.AddrInfo {
	return peer.AddrInfo{ID: n.Host().ID(), Addrs: n.Host().Addrs()}
}

// fetchRaw gets manifest c and its record from p as any peer can.
func fetchRaw(t *testing.T, a *testnet.Adversary, p peer.ID, c cid.Cid) (body, rec []byte) {
	t.Helper()
	s, err := a.Stream(ctxT(t), p, transfer.ProtoManifestGet)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := wire.Write(s, transfer.ManifestGetReq{CID: c.String()}); err != nil {
		t.Fatal(err)
	}
	var resp transfer.ManifestGetResp
	if err := wire.Read(s, &resp); err != nil || resp.Err() != nil {
		t.Fatalf("manifest get: %v %v", err, resp.Err())
	}
	body = make([]byte, resp.Size)
	rec = make([]byte, resp.LocationsLen)
	if _, err := io.ReadFull(s, body); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(s, rec); err != nil {
		t.Fatal(err)
	}
	return body, rec
}

// forge builds the records a lying steward would serve: Sybil holders that signed receipts for
// every shard, endorsed by the attacker and by a steward set (epoch 1) the attacker signed
// itself; and the real record with all but one holder withheld.
func forge(t *testing.T, m *manifest.Manifest, real *manifest.Locations, attacker crypto.PrivKey) (forged, partial []byte) {
	t.Helper()
	c := real.Manifest
	var sybils []crypto.PrivKey
	var ids []peer.ID
	for range 3 {
		k, _, _ := crypto.GenerateEd25519Key(rand.Reader)
		id, _ := peer.IDFromPrivateKey(k)
		sybils, ids = append(sybils, k), append(ids, id)
	}
	loc := manifest.NewLocations(c)
	loc.Stewards = append(loc.Stewards, real.Stewards...)
	rogue := manifest.StewardSet{Epoch: uint64(len(real.Stewards)), Members: ids}
	for _, k := range append(sybils, attacker) {
		_ = rogue.SignBy(k, c)
	}
	loc.Stewards = append(loc.Stewards, rogue)
	var all []uint32
	for p := range len(m.Segments) * m.N {
		all = append(all, uint32(p))
	}
	for _, k := range append(sybils, attacker) {
		r := manifest.Receipt{Positions: all, Time: time.Now().Unix() + 1000}
		if err := r.Sign(k, m); err != nil {
			t.Fatal(err)
		}
		e := manifest.Entry{Receipt: r}
		for _, signer := range append(sybils, attacker) {
			sig, _ := manifest.Endorse(signer, &r)
			e.Endorsements = append(e.Endorsements, sig)
		}
		loc.Add(e)
	}
	var err error
	if forged, err = loc.Encode(); err != nil {
		t.Fatal(err)
	}
	hidden := manifest.NewLocations(c)
	hidden.Stewards = real.Stewards
	hidden.Add(real.Entries[0])
	if partial, err = hidden.Encode(); err != nil {
		t.Fatal(err)
	}
	return forged, partial
}

// A peer answering for a real file with forged or withheld locations cannot make get, stat or rm
// use holders it chose, nor hide the real ones.
func TestForgedLocationsAreIgnored(t *testing.T) {
	net := testnet.Start(t, 6, nil)
	ctx := ctxT(t)
	data, res := putRandom(t, net.Nodes[0], 2<<20+99, 21)
	cp, _ := manifest.ParseCapability(res.Cap)
	st, realHolders := holdersOf(t, net.Nodes[0], res.Cap)
	isReal := map[string]bool{}
	for _, h := range realHolders {
		isReal[h] = true
	}

	for _, variant := range []string{"partial", "forged"} {
		t.Run(variant, func(t *testing.T) {
			adv := testnet.NewAdversary(t, "127.0.66.1")
			connectAll(t, adv, net)
			body, recBytes := fetchRaw(t, adv, peer.ID(mustDecodePeer(t, st.Stewards[0])), cp.Manifest)
			m, err := manifest.Decode(body)
			if err != nil {
				t.Fatal(err)
			}
			real, err := manifest.DecodeLocations(recBytes)
			if err != nil {
				t.Fatal(err)
			}
			forged, partial := forge(t, m, real, adv.Host.Peerstore().PrivKey(adv.ID()))
			serve := map[string][]byte{"forged": forged, "partial": partial}[variant]
			var served, deletes atomic.Int64
			adv.Host.SetStreamHandler(transfer.ProtoManifestGet, func(s network.Stream) {
				defer s.Close()
				var req transfer.ManifestGetReq
				if wire.Read(s, &req) != nil {
					return
				}
				served.Add(1)
				_ = wire.Write(s, transfer.ManifestGetResp{Status: wire.Status{OK: true}, Size: len(body), LocationsLen: len(serve)})
				_, _ = s.Write(append(append([]byte{}, body...), serve...))
			})
			adv.Host.SetStreamHandler(transfer.ProtoShardDelete, func(s network.Stream) {
				deletes.Add(1)
				_ = s.Reset()
			})
			d, err := adv.JoinDHT(ctx, "/cairn", addrOf(net.Nodes[0]))
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "the attacker to join routing", func() bool { return d.RoutingTable().Size() >= 3 })
			if err := d.Provide(ctx, cp.Manifest, true); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)

			// stat: every holder listed is real, every shard answers.
			got, err := net.Nodes[4].Stat(ctx, res.Cap)
			if err != nil {
				t.Fatal(err)
			}
			if served.Load() == 0 {
				t.Fatal("the attacker was never asked: the test proves nothing")
			}
			for _, s := range got.Segments {
				for _, sh := range s.Shards {
					for _, h := range sh.Holders {
						if !isReal[h] {
							t.Fatalf("stat lists %s, a holder the attacker chose", h)
						}
					}
					if !sh.Answers {
						t.Fatalf("segment %d shard %d hidden: %+v", s.Index, sh.Index, sh)
					}
				}
			}
			// get from a node that never held anything of the file still returns identical bytes.
			var out bytes.Buffer
			if err := net.Nodes[5].Get(ctx, res.Cap, &out, nil); err != nil || !bytes.Equal(out.Bytes(), data) {
				t.Fatalf("get during the attack: %v", err)
			}
			if variant != "forged" {
				return
			}
			// rm, with the attacker still serving its record, deletes every real shard and hands
			// no token to the holders the attacker named (itself among them).
			rm, err := net.Nodes[3].Remove(ctx, res.Cap)
			if err != nil {
				t.Fatal(err)
			}
			if !rm.Complete || rm.Pending != 0 {
				t.Fatalf("rm incomplete (it tried holders the attacker named?): %+v", rm)
			}
			for _, seg := range st.Segments {
				for _, sh := range seg.Shards {
					c, _ := cid.Decode(sh.CID)
					for _, n := range net.Nodes {
						if n.Store().Has(c) {
							t.Fatalf("%s still holds shard %s after rm", n.Host().ID(), c)
						}
					}
				}
			}
			if deletes.Load() != 0 {
				t.Fatal("rm sent delete tokens to the attacker")
			}
		})
	}
}

func connectAll(t *testing.T, a *testnet.Adversary, net *testnet.Net) {
	t.Helper()
	for _, n := range net.Nodes {
		if err := a.Connect(ctxT(t), addrOf(n)); err != nil {
			t.Fatal(err)
		}
	}
}

func mustDecodePeer(t *testing.T, s string) peer.ID {
	t.Helper()
	p, err := peer.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// putRaw offers one shard to p as the adversary, sending body (which may lie) after the go-ahead.
func putRaw(ctx context.Context, a *testnet.Adversary, p peer.ID, c cid.Cid, size int64, dh [32]byte, body []byte) error {
	s, err := a.Stream(ctx, p, transfer.ProtoShardPut)
	if err != nil {
		return err
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(20 * time.Second))
	if err := wire.Write(s, transfer.ShardPutReq{CID: c.String(), Size: size, DeleteHash: hex.EncodeToString(dh[:])}); err != nil {
		return err
	}
	var ok wire.Status
	if err := wire.Read(s, &ok); err != nil {
		return err
	}
	if err := ok.Err(); err != nil {
		return err
	}
	if _, err := s.Write(body); err != nil {
		return err
	}
	if len(body) < int(size) {
		_ = s.CloseWrite()
	}
	var res transfer.ShardPutResp
	if err := wire.Read(s, &res); err != nil {
		return err
	}
	return res.Err()
}

// One identity, or many identities from one /24, cannot fill a node's disk: quotas refuse them
// at their share of capacity while honest puts keep working.
func TestDiskFillingStopsAtQuota(t *testing.T) {
	const capacity = 64 << 20 // peer share 10%: 6.4 MiB; subnet share 25%: 16 MiB
	net := testnet.Start(t, 5, func(i int, c *config.Config) { c.Storage.Capacity = capacity })
	ctx := ctxT(t)
	victim := net.Nodes[1]
	fill := func(a *testnet.Adversary) (stored int64, lastErr error) {
		for i := range 40 {
			b := randomBytes(1<<20, uint64(1000+i)+uint64(a.ID()[len(a.ID())-1])<<8)
			err := putRaw(ctx, a, victim.Host().ID(), codec.ShardCID(b), int64(len(b)), [32]byte{1}, b)
			if err != nil {
				return stored, err
			}
			stored += int64(len(b))
		}
		return stored, nil
	}
	var subnet int64
	for i := range 5 {
		a := testnet.NewAdversary(t, "127.0.77.1")
		if err := a.Connect(ctx, addrOf(victim)); err != nil {
			t.Fatal(err)
		}
		stored, err := fill(a)
		if !wire.IsCode(err, wire.CodeQuota) {
			t.Fatalf("sybil %d stored %d bytes and then got %v, want a quota refusal", i, stored, err)
		}
		if stored > capacity/10 {
			t.Fatalf("sybil %d stored %d bytes, over its 10%% share of %d", i, stored, capacity)
		}
		subnet += stored
	}
	if subnet > capacity/4 {
		t.Fatalf("one /24 stored %d bytes, over its 25%% share of %d", subnet, capacity)
	}
	if subnet < capacity/10 {
		t.Fatalf("quotas refused too early: the subnet stored only %d bytes", subnet)
	}
	// Honest users are unaffected.
	data, res := putRandom(t, net.Nodes[0], 3<<20+5, 22)
	var out bytes.Buffer
	if err := net.Nodes[4].Get(ctx, res.Cap, &out, nil); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("get: %v", err)
	}
}

// A peer that knows a shard's CID and size cannot add its own delete reference without sending
// the bytes, so it cannot keep the shard alive against the owner's rm.
func TestDeleteReferenceNeedsTheBytes(t *testing.T) {
	net := testnet.Start(t, 5, nil)
	ctx := ctxT(t)
	data, res := putRandom(t, net.Nodes[0], 1<<20+3, 23)
	st, _ := holdersOf(t, net.Nodes[0], res.Cap)
	adv := testnet.NewAdversary(t, "127.0.88.1")
	var targets int
	for _, seg := range st.Segments {
		for _, sh := range seg.Shards {
			h := mustDecodePeer(t, sh.Holder)
			if h == net.Nodes[0].Host().ID() {
				continue
			}
			if err := adv.Connect(ctx, addrOf(byID(net, sh.Holder))); err != nil {
				t.Fatal(err)
			}
			c, _ := cid.Decode(sh.CID)
			size := seg.ShardSize
			for name, body := range map[string][]byte{
				"garbage": bytes.Repeat([]byte{0xAB}, int(size)),
				"short":   bytes.Repeat([]byte{0xAB}, int(size/2)),
			} {
				err := putRaw(ctx, adv, h, c, size, [32]byte{0xEE}, body)
				if err == nil {
					t.Fatalf("%s body for %s was accepted as a reference", name, c)
				}
			}
			refs, err := byID(net, sh.Holder).Store().Refs(c)
			if err != nil || len(refs) != 1 {
				t.Fatalf("holder has refs %v (%v), want only the owner's", refs, err)
			}
			targets++
		}
	}
	if targets == 0 {
		t.Fatal("no remote holder to attack")
	}
	var out bytes.Buffer
	if err := net.Nodes[4].Get(ctx, res.Cap, &out, nil); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("get after the attack: %v", err)
	}
	rm, err := net.Nodes[2].Remove(ctx, res.Cap)
	if err != nil || !rm.Complete {
		t.Fatalf("rm: %+v %v", rm, err)
	}
	for _, seg := range st.Segments {
		for _, sh := range seg.Shards {
			c, _ := cid.Decode(sh.CID)
			if byID(net, sh.Holder).Store().Has(c) {
				t.Fatalf("shard %s survived rm", c)
			}
		}
	}
}

// A manifest offered with a record far bigger than what it references is refused before it is
// decoded, and nothing is stored; an honest put meanwhile works.
func TestOversizedRecordIsRefused(t *testing.T) {
	net := testnet.Start(t, 5, func(i int, c *config.Config) { c.Put.ManifestReplicas = 3 })
	ctx := ctxT(t)
	data, res := putRandom(t, net.Nodes[0], 100_000, 24)
	cp, _ := manifest.ParseCapability(res.Cap)
	st, _ := holdersOf(t, net.Nodes[0], res.Cap)
	adv := testnet.NewAdversary(t, "127.0.99.1")
	connectAll(t, adv, net)
	body, _ := fetchRaw(t, adv, mustDecodePeer(t, st.Stewards[0]), cp.Manifest)
	m, _ := manifest.Decode(body)
	// Target a node that is not a steward of this manifest, so a stored copy would show.
	stewards := map[string]bool{}
	for _, s := range st.Stewards {
		stewards[s] = true
	}
	var victim *node.Node
	for _, n := range net.Nodes {
		if !stewards[n.Host().ID().String()] {
			victim = n
		}
	}
	if victim == nil {
		t.Fatal("every node is a steward")
	}
	if err := adv.Connect(ctx, addrOf(victim)); err != nil {
		t.Fatal(err)
	}
	junk := bytes.Repeat([]byte{0xA0}, manifest.MaxLocationsSize(m)+1)
	before := victim.Store().Used()
	s, err := adv.Stream(ctx, victim.Host().ID(), transfer.ProtoManifestPut)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := wire.Write(s, transfer.ManifestPutReq{CID: cp.Manifest.String(), Size: len(body), LocationsLen: len(junk)}); err != nil {
		t.Fatal(err)
	}
	var first wire.Status
	if err := wire.Read(s, &first); err != nil {
		t.Fatal(err)
	}
	if first.OK {
		// Sizes were admitted; the verdict must come after the bodies.
		_, _ = s.Write(append(append([]byte{}, body...), junk...))
		if err := wire.Read(s, &first); err != nil {
			t.Fatal(err)
		}
	}
	if first.OK || first.Code != wire.CodeBadInput {
		t.Fatalf("oversized record: got %+v, want bad_input", first)
	}
	if victim.Store().Has(cp.Manifest) || victim.Store().Used() != before {
		t.Fatal("the refused manifest was stored")
	}
	// Honest traffic continues.
	var out bytes.Buffer
	if err := victim.Get(ctx, res.Cap, &out, nil); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("get: %v", err)
	}
}
