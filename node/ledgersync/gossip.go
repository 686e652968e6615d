package ledgersync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/cairn-storage/cairn/payments"
)

// Head is one author's frontier: the last Seq this store holds of Author's chain.
type Head struct {
	Author []byte
	Seq    uint64
}

// Store is the node's ledger as gossip sees it. Safe for concurrent use.
type Store interface {
	// Add validates and stores entries (canonical bytes) received from the network, in the
	// order given, and returns one error per entry: nil if accepted, else an error from which
	// payments.ReasonOf gives the reason (ReasonDuplicate, ReasonOutOfOrder, ReasonFuture,
	// ReasonBadSignature, ...).
	Add(entries [][]byte) []error
	// Heads returns the frontier of every author held, sorted by Author bytes.
	Heads() ([]Head, error)
	// Range returns up to limit entries of author's chain from Seq from on, in Seq order.
	Range(author []byte, from uint64, limit int) ([][]byte, error)
}

// Config configures a Gossip; zero fields take the defaults.
type Config struct {
	Topic        string        // gossipsub topic, default DefaultTopic
	SyncProtocol protocol.ID   // anti-entropy stream protocol, default DefaultSyncProtocol
	SyncInterval time.Duration // sync with one random connected peer this often, default DefaultSyncInterval
	Logger       *slog.Logger  // nil: discard
}

// SyncStats counts one sync round: Authors the server was ahead on, entries Fetched from it,
// and of those the ones the store Accepted and the ones it refused (Rejected; duplicates, which
// concurrent gossip may have brought meanwhile, are neither).
type SyncStats struct {
	Authors, Fetched, Accepted, Rejected int
}

// ErrBadServer marks a sync round ended because the server answered with entries that do not
// chain (another author, a Seq not asked for, a malformed entry) or that the store found invalid
// in themselves.
var ErrBadServer = errors.New("ledgersync: sync server sent bad entries")

// Gossip is a node's ledger gossip and anti-entropy service.
//
// Forks: when an author signs two entries at one Seq, nodes that took different branches see the
// other branch's next entries as bad_chain and reject them, penalising whoever relayed them,
// until the two entries at the fork meet somewhere (gossip or a sync round, which asks for each
// author's entries from the Seq it already holds so the overlap exposes the fork) and the fork
// proof excludes the author (later entries: forked_author, ignored).
type Gossip struct {
	h     host.Host
	st    Store
	cfg   Config
	log   *slog.Logger
	ctx   context.Context
	stop  context.CancelFunc
	ps    *pubsub.PubSub
	topic *pubsub.Topic
	relay pubsub.RelayCancelFunc

	scores atomic.Pointer[map[peer.ID]float64] // the latest snapshot from gossipsub

	sched  scheduler
	gaps   gapSlots
	synced recentSet      // entries sync rounds stored lately (recent.go)
	wg     sync.WaitGroup // background goroutines

	closeOnce sync.Once
}

// New starts gossip and anti-entropy on h for st: it joins cfg.Topic, validates every entry that
// arrives into st, serves cfg.SyncProtocol and syncs with peers periodically and as they connect.
// It runs until Close or until ctx ends.
func New(ctx context.Context, h host.Host, st Store, cfg Config) (*Gossip, error) {
	if cfg.Topic == "" {
		cfg.Topic = DefaultTopic
	}
	if cfg.SyncProtocol == "" {
		cfg.SyncProtocol = DefaultSyncProtocol
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g := &Gossip{h: h, st: st, cfg: cfg, log: cfg.Logger}
	g.ctx, g.stop = context.WithCancel(ctx)
	g.sched.init()
	empty := map[peer.ID]float64{}
	g.scores.Store(&empty)

	fail := func(err error) (*Gossip, error) {
		g.stop()
		h.RemoveStreamHandler(cfg.SyncProtocol)
		g.removeHandlers()
		return nil, err
	}
	ps, err := pubsub.NewGossipSub(g.ctx, h, pubsubOptions(cfg.Topic, g.noteScores)...)
	if err != nil {
		return fail(fmt.Errorf("ledgersync: gossipsub: %w", err))
	}
	g.ps = ps
	if err := ps.RegisterTopicValidator(cfg.Topic, g.validate); err != nil {
		return fail(fmt.Errorf("ledgersync: topic validator: %w", err))
	}
	if g.topic, err = ps.Join(cfg.Topic); err != nil {
		return fail(fmt.Errorf("ledgersync: join %s: %w", cfg.Topic, err))
	}
	// Relay, not Subscribe: the validator already stored every entry, nothing needs delivering.
	if g.relay, err = g.topic.Relay(); err != nil {
		return fail(fmt.Errorf("ledgersync: relay %s: %w", cfg.Topic, err))
	}
	h.SetStreamHandler(cfg.SyncProtocol, g.serve)
	if err := g.startSchedule(); err != nil {
		return fail(err)
	}
	return g, nil
}

// Publish gossips entry, which the caller has already stored locally.
func (g *Gossip) Publish(ctx context.Context, entry []byte) error {
	if len(entry) > payments.MaxForkProofSize {
		return fmt.Errorf("ledgersync: entry of %d bytes exceeds %d", len(entry), payments.MaxForkProofSize)
	}
	if err := g.topic.Publish(ctx, entry); err != nil {
		return fmt.Errorf("ledgersync: publish: %w", err)
	}
	return nil
}

// validate is the topic validator: it stores each entry that arrives, and tells gossipsub
// whether to forward it (accepted), drop it (not new or not yet applicable) or drop it and
// penalise the sender (invalid in itself).
func (g *Gossip) validate(_ context.Context, _ peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	from := msg.ReceivedFrom
	if from == g.h.ID() {
		return pubsub.ValidationAccept // published by us: stored before Publish
	}
	if len(msg.Data) > payments.MaxForkProofSize {
		return pubsub.ValidationReject
	}
	errs := g.st.Add([][]byte{msg.Data})
	if len(errs) != 1 {
		g.log.Error("ledger store answered the wrong number of results", "want", 1, "got", len(errs))
		return pubsub.ValidationIgnore
	}
	err := errs[0]
	switch payments.ReasonOf(err) {
	case payments.ReasonOutOfOrder:
		// We miss the author's earlier entries (gap.go).
		return g.awaitGap(from, msg.Data)
	case payments.ReasonDuplicate:
		if g.synced.take(msg.Data) {
			return pubsub.ValidationAccept // forward what a sync round brought (recent.go)
		}
	case "":
		if err != nil {
			g.log.Warn("ledger store failed on a gossiped entry", "err", err)
		}
	}
	v := verdict(err)
	if v == pubsub.ValidationReject {
		g.log.Debug("rejected gossiped entry", "peer", from, "err", err)
	}
	return v
}

// noteScores keeps gossipsub's latest score snapshot for PeerScore.
func (g *Gossip) noteScores(m map[peer.ID]float64) { g.scores.Store(&m) }

// PeerScore is gossipsub's score of p here, as of its last snapshot (refreshed every second); 0
// for a peer it does not track.
func (g *Gossip) PeerScore(p peer.ID) float64 { return (*g.scores.Load())[p] }

// graylisted tells whether p's score is below the graylist threshold: gossipsub ignores it, and
// so does sync.
func (g *Gossip) graylisted(p peer.ID) bool {
	return g.PeerScore(p) < scoreThresholds.GraylistThreshold
}

// Protocols lists the stream protocols Gossip serves (gossipsub's and sync), for resource
// manager limits.
func (g *Gossip) Protocols() []protocol.ID {
	return append([]protocol.ID{g.cfg.SyncProtocol}, gossipProtocols...)
}

// Close stops gossip and sync and waits for their goroutines.
func (g *Gossip) Close() error {
	g.closeOnce.Do(func() {
		g.h.RemoveStreamHandler(g.cfg.SyncProtocol)
		if g.relay != nil {
			g.relay() // tells peers we left the topic, if the RPC goes out before the stop
		}
		g.sched.mu.Lock()
		g.sched.closed = true // trigger adds no goroutine after this, so Wait below is final
		g.sched.mu.Unlock()
		g.stop()
		g.removeHandlers()
		g.wg.Wait()
	})
	return nil
}

// removeHandlers removes gossipsub's stream handlers, which pubsub leaves on the host.
func (g *Gossip) removeHandlers() {
	for _, id := range gossipProtocols {
		g.h.RemoveStreamHandler(id)
	}
}

// TopicPeers lists the connected peers this node knows to be on the ledger topic: those a
// Publish reaches directly (diagnostics and tests).
func (g *Gossip) TopicPeers() []peer.ID { return g.topic.ListPeers() }
