package ledgersync

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/cairn-storage/cairn/node/wire"
	"github.com/cairn-storage/cairn/payments"
)

// badSig returns entry b with one signature byte flipped, still canonical.
func badSig(t testing.TB, b []byte) []byte {
	t.Helper()
	e, err := payments.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	e.Sig[0] ^= 1
	out, err := payments.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// nonCanonical returns entry b with its version (key 1) in a two-byte integer form.
func nonCanonical(b []byte) []byte {
	if b[1] != 0x01 || b[2] != 0x01 {
		panic("entry does not start with version 1")
	}
	return append([]byte{b[0], 0x01, 0x18, 0x01}, b[3:]...)
}

// A peer publishing invalid entries through its own raw gossipsub instance: honest stores never
// take them, the honest nodes' score of it drops below the graylist threshold, and honest
// entries still spread.
func TestMisbehavingPublisherIsPenalised(t *testing.T) {
	honest := newNodes(t, 3)
	connect(t, honest[0].h, honest[1].h)
	connect(t, honest[1].h, honest[2].h)
	connect(t, honest[0].h, honest[2].h)

	mh, _ := newHost(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ps, err := pubsub.NewGossipSub(ctx, mh,
		pubsub.WithGossipSubProtocols(gossipProtocols, gossipFeatures),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign), pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(messageID))
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(DefaultTopic)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := topic.Subscribe(); err != nil {
		t.Fatal(err)
	}
	for _, n := range honest {
		connect(t, mh, n.h)
	}
	waitMesh(t, honest, 3)
	eventually(t, 10*time.Second, "attacker sees the topic peers", func() bool { return len(topic.ListPeers()) == 3 })

	forger := newAuthor(t)
	garbage := make([]byte, 200)
	rand.Read(garbage)
	forged := badSig(t, forger.next(t))
	forgedAhead := badSig(t, forger.next(t)) // seq 2 of a chain nobody has: out_of_order first
	bad := [][]byte{forged, forgedAhead, garbage, nonCanonical(newAuthor(t).next(t))}
	for _, b := range bad {
		if err := topic.Publish(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range honest {
		eventually(t, 10*time.Second, "attacker graylisted", func() bool {
			return n.g.PeerScore(mh.ID()) < scoreThresholds.GraylistThreshold
		})
		if n.g.graylisted(mh.ID()) != true {
			t.Fatal("graylisted disagrees with PeerScore")
		}
		for _, b := range bad {
			if n.st.has(b) {
				t.Fatal("an honest store took an invalid entry")
			}
		}
		if n.st.count() != 0 {
			t.Fatalf("honest store holds %d entries", n.st.count())
		}
	}

	a := newAuthor(t)
	honest[2].publish(t, a.chain(t, 3)...)
	sameHeads(t, honest, 10*time.Second, wantHeads(a))
	for _, n := range honest[:2] {
		if s := n.g.PeerScore(honest[2].h.ID()); s < 0 {
			t.Fatalf("an honest peer scores %v", s)
		}
	}
}

// rawStream opens a sync stream from a plain host to n.
func rawStream(t testing.TB, n *node) network.Stream {
	t.Helper()
	rh, _ := newHost(t)
	connect(t, rh, n.h)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := rh.NewStream(ctx, n.h.ID(), DefaultSyncProtocol)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { s.Reset() })
	return s
}

// expectEnd reads s until it ends: the server must drop a bad stream at once, not hang.
func expectEnd(t testing.TB, s network.Stream) {
	t.Helper()
	start := time.Now()
	n, err := io.Copy(io.Discard, s)
	if err == nil && n != 0 {
		t.Fatalf("server answered %d bytes to garbage", n)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("server took %v to drop a bad stream", time.Since(start))
	}
}

// A raw client sending garbage, an oversized frame or huge limits gets a clean refusal or a
// clamped answer, and the server goes on serving honest rounds.
func TestHostileSyncClient(t *testing.T) {
	server := newNode(t, testConfig)
	a, b := newAuthor(t), newAuthor(t)
	server.st.Add(a.chain(t, 600))
	server.st.Add(b.chain(t, 2))

	t.Run("garbage", func(t *testing.T) {
		s := rawStream(t, server)
		s.Write([]byte("\x00\x00\x00\x05hello, world"))
		expectEnd(t, s)
	})
	t.Run("oversize frame", func(t *testing.T) {
		s := rawStream(t, server)
		s.Write([]byte{0x7f, 0xff, 0xff, 0xff, 1, 2, 3})
		expectEnd(t, s)
	})
	t.Run("truncated frame", func(t *testing.T) {
		s := rawStream(t, server)
		s.Write([]byte{0, 0, 1, 0, 0xa1})
		s.CloseWrite()
		expectEnd(t, s)
	})
	t.Run("huge limits are clamped", func(t *testing.T) {
		s := rawStream(t, server)
		if err := wire.Write(s, &request{Op: opHeads, Limit: 1 << 40}); err != nil {
			t.Fatal(err)
		}
		var hr headsResp
		if err := wire.Read(s, &hr); err != nil || !hr.OK || len(hr.Heads) != 2 || hr.More {
			t.Fatalf("heads: %+v, %v", hr, err)
		}
		if err := wire.Write(s, &request{Op: opRange, Limit: 1 << 40, Wants: []want{{Author: a.last.Author, From: 1}, {Author: b.last.Author, From: 1}}}); err != nil {
			t.Fatal(err)
		}
		var rr rangeResp
		if err := wire.Read(s, &rr); err != nil || !rr.OK {
			t.Fatalf("range: %+v, %v", rr.Status, err)
		}
		if len(rr.Counts) != 1 || rr.Counts[0] != MaxRangeLimit || len(rr.Sizes) != MaxRangeLimit {
			t.Fatalf("range answered counts %v and %d sizes, want [%d]", rr.Counts, len(rr.Sizes), MaxRangeLimit)
		}
		total := 0
		for _, n := range rr.Sizes {
			total += n
		}
		if _, err := io.CopyN(io.Discard, s, int64(total)); err != nil {
			t.Fatal(err)
		}
	})
	for name, req := range map[string]*request{
		"too many wants": {Op: opRange, Wants: make([]want, maxWants+1)},
		"empty author":   {Op: opRange, Wants: []want{{From: 1}}},
		"seq 0":          {Op: opRange, Wants: []want{{Author: a.last.Author}}},
		"long key":       {Op: opHeads, After: make([]byte, maxAuthorLen+1)},
		"unknown op":     {Op: "delete"},
	} {
		t.Run(name, func(t *testing.T) {
			s := rawStream(t, server)
			if err := wire.Write(s, req); err != nil {
				t.Fatal(err)
			}
			var st wire.Status
			if err := wire.Read(s, &st); err != nil || !wire.IsCode(st.Err(), wire.CodeBadInput) {
				t.Fatalf("got %+v, %v; want bad_input", st, err)
			}
			expectEnd(t, s)
		})
	}

	client := newNode(t, testConfig)
	connect(t, client.h, server.h)
	sameHeads(t, []*node{client}, 20*time.Second, wantHeads(a, b))
}

// liarFor serves the sync protocol on a plain host: true heads (x's chain), and range answers
// that lie as answer says.
func liarFor(t testing.TB, x *author, answer func(w want) (sizes []int, body []byte)) host.Host {
	h, _ := newHost(t)
	heads := []headWire{{Author: x.last.Author, Seq: x.last.Seq}}
	h.SetStreamHandler(DefaultSyncProtocol, func(s network.Stream) {
		defer s.Close()
		_ = s.SetDeadline(time.Now().Add(10 * time.Second))
		for {
			var req request
			if err := wire.Read(s, &req); err != nil {
				return
			}
			if req.Op == opHeads {
				_ = wire.Write(s, headsResp{Status: wire.Status{OK: true}, Heads: heads})
				continue
			}
			sizes, body := answer(req.Wants[0])
			_ = wire.Write(s, rangeResp{Status: wire.Status{OK: true}, Counts: []int{len(sizes)}, Sizes: sizes})
			_, _ = s.Write(body)
		}
	})
	return h
}

// A sync server whose answers do not chain or do not validate ends the round: counted
// Rejected, nothing stored.
func TestLyingSyncServer(t *testing.T) {
	x, y := newAuthor(t), newAuthor(t)
	xs, ys := x.chain(t, 3), y.chain(t, 3)
	join := func(bs ...[]byte) (sizes []int, body []byte) {
		for _, b := range bs {
			sizes = append(sizes, len(b))
			body = append(body, b...)
		}
		return sizes, body
	}
	cases := map[string]struct {
		answer   func(w want) ([]int, []byte)
		rejected int
	}{
		"another author": {func(want) ([]int, []byte) { return join(ys...) }, 3},
		"wrong seqs":     {func(want) ([]int, []byte) { return join(xs[1:]...) }, 2},
		"bad signature":  {func(want) ([]int, []byte) { return join(badSig(t, xs[0]), xs[1], xs[2]) }, 3},
		"garbage":        {func(want) ([]int, []byte) { return join([]byte("not an entry")) }, 1},
		"oversize claim": {func(want) ([]int, []byte) { return []int{1 << 30}, nil }, 0},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			l := liarFor(t, x, c.answer)
			client := newNode(t, testConfig)
			connect(t, client.h, l)
			eventually(t, 5*time.Second, "identify", func() bool { return client.g.supportsSync(l.ID()) })
			stats, err := client.g.SyncWith(context.Background(), l.ID())
			if !errors.Is(err, ErrBadServer) {
				t.Fatalf("sync with a liar: %+v, %v", stats, err)
			}
			if stats.Rejected != c.rejected || stats.Accepted != 0 {
				t.Fatalf("stats %+v, want %d rejected", stats, c.rejected)
			}
			if n := client.st.count(); n != 0 {
				t.Fatalf("client stored %d entries from a liar", n)
			}
		})
	}
}
