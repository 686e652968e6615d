package ledgersync

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/cairn-storage/cairn/payments"
)

// memStore is the test Store: a payments.Validator and the accepted entries by (author, seq).
type memStore struct {
	mu     sync.Mutex
	v      *payments.Validator
	byID   map[payments.ID][]byte
	chains map[string][][]byte // author → its entries, Seq s at index s-1
}

func newMemStore() *memStore {
	s := &memStore{byID: map[payments.ID][]byte{}, chains: map[string][][]byte{}}
	// Lookup runs inside v.Add, which runs under s.mu: no locking here.
	s.v = payments.NewValidator(payments.ValidatorParams{Lookup: func(id payments.ID) []byte { return s.byID[id] }})
	return s
}

func (s *memStore) Add(entries [][]byte) []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := make([]error, len(entries))
	for i, b := range entries {
		e, id, err := s.v.Add(b, time.Now().Unix())
		if err != nil {
			errs[i] = err
			continue
		}
		b = bytes.Clone(b)
		s.byID[id] = b
		s.chains[string(e.Author)] = append(s.chains[string(e.Author)], b)
	}
	return errs
}

func (s *memStore) Heads() ([]Head, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Head, 0, len(s.chains))
	for a, c := range s.chains {
		out = append(out, Head{Author: []byte(a), Seq: uint64(len(c))})
	}
	slices.SortFunc(out, func(a, b Head) int { return bytes.Compare(a.Author, b.Author) })
	return out, nil
}

func (s *memStore) Range(author []byte, from uint64, limit int) ([][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chains[string(author)]
	if from == 0 || from > uint64(len(c)) || limit <= 0 {
		return nil, nil
	}
	return slices.Clone(c[from-1 : min(uint64(len(c)), from-1+uint64(limit))]), nil
}

// has tells whether the store holds entry b.
func (s *memStore) has(b []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.chains {
		for _, x := range c {
			if bytes.Equal(x, b) {
				return true
			}
		}
	}
	return false
}

func (s *memStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.chains {
		n += len(c)
	}
	return n
}

// author signs a chain of Price entries.
type author struct {
	key     crypto.PrivKey
	last    *payments.Entry
	entries [][]byte // all signed so far, Seq s at index s-1
}

func newAuthor(t testing.TB) *author {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &author{key: k}
}

// next signs the author's next entry.
func (a *author) next(t testing.TB) []byte {
	t.Helper()
	seq, prev := payments.Next(a.last)
	body, err := payments.EncodeBody(&payments.Price{FromEpoch: seq, StorageGiBMonth: payments.Amount(1000 + len(a.entries)), EgressGiB: 2000})
	if err != nil {
		t.Fatal(err)
	}
	e := &payments.Entry{Kind: payments.KindPrice, Seq: seq, Prev: prev, Time: time.Now().Unix() - 60, Body: body}
	if err := payments.Sign(a.key, e); err != nil {
		t.Fatal(err)
	}
	b, err := payments.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	a.last = e
	a.entries = append(a.entries, b)
	return b
}

// chain signs n entries.
func (a *author) chain(t testing.TB, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = a.next(t)
	}
	return out
}

// gater refuses connections to and from the peers in blocked: a network partition.
type gater struct {
	mu      sync.Mutex
	blocked map[peer.ID]bool
}

func (g *gater) block(ps ...peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, p := range ps {
		g.blocked[p] = true
	}
}

func (g *gater) unblock() {
	g.mu.Lock()
	defer g.mu.Unlock()
	clear(g.blocked)
}

func (g *gater) ok(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.blocked[p]
}

func (g *gater) InterceptPeerDial(p peer.ID) bool                 { return g.ok(p) }
func (g *gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return g.ok(p) }
func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool      { return true }
func (g *gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.ok(p)
}
func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// node is a real libp2p host on loopback with a test store and Gossip.
type node struct {
	h  host.Host
	gt *gater
	st *memStore
	g  *Gossip
}

// testConfig syncs rarely by timer, so tests see gossip, on-connect and on-demand syncs.
var testConfig = Config{SyncInterval: time.Hour}

func newHost(t testing.TB) (host.Host, *gater) {
	t.Helper()
	gt := &gater{blocked: map[peer.ID]bool{}}
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.ConnectionGater(gt),
		libp2p.DisableRelay(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, gt
}

func newNode(t testing.TB, cfg Config) *node {
	t.Helper()
	h, gt := newHost(t)
	st := newMemStore()
	g, err := New(context.Background(), h, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return &node{h: h, gt: gt, st: st, g: g}
}

func newNodes(t testing.TB, n int) []*node {
	out := make([]*node, n)
	for i := range out {
		out[i] = newNode(t, testConfig)
	}
	return out
}

func connect(t testing.TB, a, b host.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond every 50 ms until it holds or wait passes.
func eventually(t testing.TB, wait time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", wait, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitMesh waits until every node sees at least least peers on the topic, then two gossipsub
// heartbeats: peers join the mesh only at a heartbeat, and a message published before then
// reaches a peer outside it by anti-entropy only, which these tests want to tell apart.
func waitMesh(t testing.TB, nodes []*node, least int) {
	t.Helper()
	eventually(t, 10*time.Second, "topic peers", func() bool {
		for _, n := range nodes {
			if len(n.g.topic.ListPeers()) < least {
				return false
			}
		}
		return true
	})
	time.Sleep(2 * time.Second)
}

// publish stores entries on n and gossips them.
func (n *node) publish(t testing.TB, entries ...[]byte) {
	t.Helper()
	for _, b := range entries {
		if errs := n.st.Add([][]byte{b}); errs[0] != nil {
			t.Fatalf("local add: %v", errs[0])
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := n.g.Publish(ctx, b)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func headsOf(t testing.TB, s *memStore) string {
	t.Helper()
	hs, err := s.Heads()
	if err != nil {
		t.Fatal(err)
	}
	return formatHeads(hs)
}

// wantHeads is headsOf a store holding every entry the authors signed.
func wantHeads(as ...*author) string {
	var hs []Head
	for _, a := range as {
		hs = append(hs, Head{Author: a.last.Author, Seq: a.last.Seq})
	}
	slices.SortFunc(hs, func(a, b Head) int { return bytes.Compare(a.Author, b.Author) })
	return formatHeads(hs)
}

// headsAfter is wantHeads with a's chain cut at seq n.
func headsAfter(t testing.TB, a *author, n int, others ...*author) string {
	t.Helper()
	e, err := payments.Decode(a.entries[n-1])
	if err != nil {
		t.Fatal(err)
	}
	hs := []Head{{Author: e.Author, Seq: e.Seq}}
	for _, o := range others {
		hs = append(hs, Head{Author: o.last.Author, Seq: o.last.Seq})
	}
	slices.SortFunc(hs, func(a, b Head) int { return bytes.Compare(a.Author, b.Author) })
	return formatHeads(hs)
}

func formatHeads(hs []Head) string {
	var b bytes.Buffer
	for _, h := range hs {
		fmt.Fprintf(&b, "%x:%d ", h.Author[len(h.Author)-4:], h.Seq)
	}
	return b.String()
}

// sameHeads waits until every store has the heads want.
func sameHeads(t testing.TB, nodes []*node, wait time.Duration, want string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		var got []string
		ok := true
		for _, n := range nodes {
			h := headsOf(t, n.st)
			got = append(got, h)
			ok = ok && h == want
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v heads are\n%s\nwant %s", wait, strings.Join(got, "\n"), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
