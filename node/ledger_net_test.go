package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node"
	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/ledgersync"
	"github.com/cairn-storage/cairn/node/testnet"
	"github.com/cairn-storage/cairn/payments"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Ledger timing of TestLedgerNetwork: long enough for an epoch's puts, gets, an outage and a
// partition, and for the epoch's attestations to spread before statements are signed.
const (
	netEpoch = 24 * time.Second
	netDelay = 8 * time.Second
)

// Six real nodes on loopback: uploads with and without a partner tag, downloads from other
// nodes, one node offline for part of the epoch and a partition that heals within it. Every
// node then computes the same statement root, signs it and agrees with every other; the
// partner's share is its basis points of its tagged revenue; and a forged entry, a replayed
// one and a forked author, sent by a test peer over gossip and through import, change nothing
// but are reported.
func TestLedgerNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("a full epoch of a six-node network (about a minute)")
	}
	genesis := time.Now().Unix()
	fixed := testnet.FixedPorts(t)
	net := testnet.Start(t, 6, func(i int, c *config.Config) {
		fixed(i, c)
		c.Ledger.EpochLength = config.Duration(netEpoch)
		c.Ledger.StatementDelay = config.Duration(netDelay)
		c.Ledger.Genesis = genesis
		c.Ledger.FeeBPS = 500
	})
	// Start the scenario at the start of an epoch, so that it all happens inside one.
	epoch := waitEpochStart(t, genesis)
	t.Logf("scenario in epoch %d", epoch)
	ctx := ctxT(t)

	if _, err := net.Nodes[0].RegisterPartner(ctx, "acme", "Acme OSS", 2500); err != nil {
		t.Fatal(err)
	}
	data := randomBytes(300<<10, 11)
	tagged, err := net.Nodes[1].Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4, Partner: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := net.Nodes[2].Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 2, N: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []struct {
		node int
		cap  string
	}{{3, tagged.Cap}, {4, plain.Cap}, {0, tagged.Cap}} {
		var out bytes.Buffer
		if err := net.Nodes[g.node].Get(ctx, g.cap, &out, nil); err != nil || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("get on node %d: %v", g.node, err)
		}
	}

	// Node 5 goes offline; nodes 3 and 4 are cut off from the rest; each side writes entries.
	net.Stop(t, 5)
	net.Partition(t, 3, 4)
	if _, err := net.Nodes[3].RegisterPartner(ctx, "beta", "Beta", 100); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Nodes[0].RegisterPartner(ctx, "gamma", "Gamma", 200); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if has(t, net.Nodes[0], "beta") || has(t, net.Nodes[3], "gamma") {
		t.Fatal("an entry crossed the partition")
	}
	net.Heal()
	net.StartAgain(t, 5)
	t.Logf("healed and restarted node 5 at %s into the epoch", time.Since(epochStart(genesis, epoch)).Round(time.Second))

	// After the epoch and its statements, every node agrees.
	waitAgreement(t, net, epoch, time.Until(epochStart(genesis, epoch+1).Add(netDelay+20*time.Second)))
	st, err := net.Nodes[0].LedgerSettle(ctx, &epoch)
	if err != nil {
		t.Fatal(err)
	}
	checkPartnerShare(t, st, net.Nodes[0].Host().ID(), net.Nodes[1].Host().ID())
	for _, nd := range net.Nodes {
		if !has(t, nd, "beta") || !has(t, nd, "gamma") {
			t.Fatalf("node %s misses an entry written during the partition", nd.Host().ID())
		}
	}

	// A test peer on the real stack: a forged entry, a replayed one and a fork, over gossip.
	attacker := startAttacker(t, net)
	export := exportLines(t, net.Nodes[1])
	forged := forgeSig(t, export[0])
	forkA, forkB := forkPair(t, attacker.key, epochStart(genesis, epoch).Unix())
	for _, b := range [][]byte{forged, decode(t, export[1]), forkA, forkB} {
		if err := attacker.g.Publish(ctx, b); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// And through import on node 2: the same three, each refused with its reason.
	lines := strings.Join([]string{base64.StdEncoding.EncodeToString(forged), export[1],
		base64.StdEncoding.EncodeToString(forkA), base64.StdEncoding.EncodeToString(forkB)}, "\n")
	res, err := net.Nodes[2].LedgerImport(ctx, strings.NewReader(lines))
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, r := range res.Rejected {
		reasons[r.Reason] = true
	}
	for _, want := range []payments.Reason{payments.ReasonBadSignature, payments.ReasonDuplicate} {
		if !reasons[string(want)] {
			t.Errorf("import did not report %s: %+v", want, res)
		}
	}
	if !reasons[string(payments.ReasonFork)] && !reasons[string(payments.ReasonForkedAuthor)] {
		t.Errorf("import did not report the fork: %+v", res)
	}

	// Every node excludes the forker (gossip spreads the proof), keeps the same root for the
	// epoch and still agrees; the forger's score fell at the nodes it reached.
	deadline := time.Now().Add(20 * time.Second)
	for _, nd := range net.Nodes {
		for !excludes(t, nd, attacker.id) {
			if time.Now().After(deadline) {
				t.Fatalf("node %s does not exclude the forked author", nd.Host().ID())
			}
			time.Sleep(200 * time.Millisecond)
		}
		after, err := nd.LedgerSettle(ctx, &epoch)
		if err != nil {
			t.Fatal(err)
		}
		if after.Root != st.Root {
			t.Fatalf("node %s: the epoch's root changed after the attack: %x, was %x", nd.Host().ID(), after.Root, st.Root)
		}
	}
	// The forger published to the two nodes it connected to; the one(s) the forged entry reached
	// scored it down (scores are sampled each second).
	deadline = time.Now().Add(10 * time.Second)
	for {
		s0, s3 := net.Nodes[0].LedgerPeerScore(attacker.id), net.Nodes[3].LedgerPeerScore(attacker.id)
		if min(s0, s3) < 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the forger's gossip score is %v at node 0 and %v at node 3, want one negative", s0, s3)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitEpochStart sleeps until the next epoch boundary and returns that epoch.
func waitEpochStart(t *testing.T, genesis int64) uint64 {
	t.Helper()
	now := time.Now()
	e := uint64(now.Sub(time.Unix(genesis, 0))/netEpoch) + 1
	time.Sleep(time.Until(epochStart(genesis, e)) + 100*time.Millisecond)
	return e
}

func epochStart(genesis int64, e uint64) time.Time {
	return time.Unix(genesis, 0).Add(time.Duration(e) * netEpoch)
}

// waitAgreement waits until every node's verify of epoch agrees with every other node's
// signed statement.
func waitAgreement(t *testing.T, net *testnet.Net, epoch uint64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for i, nd := range net.Nodes {
		for {
			res, err := nd.LedgerVerify(context.Background(), &epoch)
			if err == nil && res.Agree && len(res.Statements) == len(net.Nodes)-1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d on epoch %d: %+v, %v", i, epoch, res, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// checkPartnerShare checks acme's line: its payout key, and exactly floor(2500 bps of the
// revenue tagged with it), that revenue being all the charges of the tagged file's owner.
func checkPartnerShare(t *testing.T, st *payments.Settlement, partner, owner peer.ID) {
	t.Helper()
	var share, charge *payments.Line
	for i := range st.PartnerShares {
		if st.PartnerShares[i].Partner == "acme" {
			share = &st.PartnerShares[i]
		}
	}
	for i := range st.Charges {
		if st.Charges[i].Account == owner.String() {
			charge = &st.Charges[i]
		}
	}
	if share == nil || charge == nil || charge.Amount <= 0 {
		t.Fatalf("statement lacks acme's share or its owner's charge: %+v", st)
	}
	if share.Account != partner.String() || share.Revenue != charge.Amount || share.Amount != share.Revenue*2500/10000 {
		t.Fatalf("acme's share %+v, owner's charge %+v: want 2500 bps of it to %s", share, charge, partner)
	}
}

func has(t *testing.T, nd *node.Node, partner string) bool {
	t.Helper()
	ps, err := nd.Partners(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.ID == partner {
			return true
		}
	}
	return false
}

func excludes(t *testing.T, nd *node.Node, id peer.ID) bool {
	t.Helper()
	s, err := nd.LedgerShow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range s.Excluded {
		if x == id.String() {
			return true
		}
	}
	return false
}

func exportLines(t *testing.T, nd *node.Node) []string {
	t.Helper()
	var b bytes.Buffer
	if err := nd.LedgerExport(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return strings.Fields(b.String())
}

func decode(t *testing.T, line string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(line)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// forgeSig flips a bit of the entry's signature.
func forgeSig(t *testing.T, line string) []byte {
	b := decode(t, line)
	b[len(b)-5] ^= 1
	return b
}

// forkPair signs two different Partner registrations at seq 1 of key's chain, backdated to the
// epoch's start, each claiming "acme" before its owner did: counted, either would take acme's
// share.
func forkPair(t *testing.T, key crypto.PrivKey, at int64) ([]byte, []byte) {
	t.Helper()
	id, _ := peer.IDFromPrivateKey(key)
	var out [2][]byte
	for i, bps := range []uint32{10000, 9000} {
		body, err := payments.EncodeBody(&payments.Partner{ID: "acme", Name: "not acme", Payout: []byte(id), ShareBPS: bps})
		if err != nil {
			t.Fatal(err)
		}
		e := &payments.Entry{Kind: payments.KindPartner, Seq: 1, Time: at - 1, Body: body}
		if err := payments.Sign(key, e); err != nil {
			t.Fatal(err)
		}
		if out[i], err = payments.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	return out[0], out[1]
}

// attacker is a bare libp2p host running ledger gossip over a store that takes anything, so
// it publishes whatever it is given.
type attacker struct {
	g   *ledgersync.Gossip
	id  peer.ID
	key crypto.PrivKey
}

type anyStore struct{}

func (anyStore) Add(bs [][]byte) []error                     { return make([]error, len(bs)) }
func (anyStore) Heads() ([]ledgersync.Head, error)           { return nil, nil }
func (anyStore) Range([]byte, uint64, int) ([][]byte, error) { return nil, nil }

func startAttacker(t *testing.T, net *testnet.Net) *attacker {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.77.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	g, err := ledgersync.New(context.Background(), h, anyStore{}, ledgersync.Config{SyncInterval: time.Hour, Logger: nil})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	for _, i := range []int{0, 3} {
		nd := net.Nodes[i]
		if err := h.Connect(context.Background(), peer.AddrInfo{ID: nd.Host().ID(), Addrs: nd.Host().Addrs()}); err != nil {
			t.Fatal(err)
		}
	}
	// Publish reaches the peers known to be on the topic: wait for both nodes' subscriptions.
	deadline := time.Now().Add(30 * time.Second)
	for len(g.TopicPeers()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the attacker sees %d topic peers, want 2", len(g.TopicPeers()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // a heartbeat, so both are in its fanout
	id, _ := peer.IDFromPrivateKey(key)
	return &attacker{g: g, id: id, key: key}
}
