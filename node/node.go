// Package node is the composition root of a Cairn node: New wires the libp2p host, the DHT, the
// shard store, the transfer protocols and the file services (put, get, stat, rm) that the local
// API exposes. Each part is small and owns one job; Close stops them in reverse order.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/dht"
	"github.com/cairn-storage/cairn/node/ledgersync"
	"github.com/cairn-storage/cairn/node/repo"
	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/ipfs/go-cid"
	kad "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	routedhost "github.com/libp2p/go-libp2p/p2p/host/routed"
	ma "github.com/multiformats/go-multiaddr"
)

// Agent names this software to peers.
const Agent = "cairn/0.1.0"

// maxPendingPerPeer bounds the shard uploads one peer may have in flight here: enough for a
// put's parallel shards, too few to hold reservations against the rest of the network.
const maxPendingPerPeer = 16

// Options adjust a node beyond its repo's config.
type Options struct {
	// Bootstrap are extra multiaddrs (with /p2p/<id>) to join through.
	Bootstrap []string
	Logger    *slog.Logger
	// Gater, if set, vets this node's connections (a blocklist; tests cut partitions with it).
	Gater connmgr.ConnectionGater
}

// Node is a running Cairn node.
type Node struct {
	repo     *repo.Repo
	log      *slog.Logger
	priv     crypto.PrivKey
	host     host.Host // routed: dials peers by ID, finding addresses through the DHT
	dht      *kad.IpfsDHT
	store    *store.Store
	stewards *transfer.Stewardship
	server   *transfer.Server
	xfer     *transfer.Client
	receipts *transfer.Receipts
	tombs    *transfer.TombstoneServer
	budget   *transfer.Budget
	uploads  *uploads
	scores   *scores // this node's reputation book of its peers
	health   *health // what this node's audits found, as a steward
	attests  *attestTracker
	repairs  repairState
	exit     exitState
	led      *Ledger            // the signed ledger's entries this node holds (payments)
	gossip   *ledgersync.Gossip // nil with the ledger off
	// unsettled is every uploader's recent charges, for admission (ledger_chores.go).
	unsettled unsettledBook
	auditor   *transfer.Auditor
	// countersign signs download receipts for shards this node served (usage_download.go).
	countersign  *transfer.Countersigner
	receiptsOff  bool // no download receipts after gets
	receiptStats receiptStats
	endorser     *transfer.Endorser

	// Running puts: Close cancels them through putsCtx and waits for their rollback.
	putsCtx  context.Context
	stopPuts context.CancelFunc
	puts     sync.WaitGroup
	putsMu   sync.Mutex
	closing  bool
	boot     []peer.AddrInfo // configured and --bootstrap peers
	known    knownPeers      // peers.json: peers this node knew, rejoined through after a restart
	joined   chan struct{}   // closed once the routing table first has a peer
	joinOnce sync.Once
	closeOne sync.Once
	closeErr error

	ctx    context.Context // lives until Close; background work hangs off it
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New starts a node from its repo. It returns once the node listens; joining the network
// continues in the background.
func New(ctx context.Context, r *repo.Repo, opt Options) (_ *Node, err error) {
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	cfg := r.Config
	priv, err := r.Identity()
	if err != nil {
		return nil, err
	}
	boot, err := parseBootstrap(append(append([]string{}, cfg.Network.Bootstrap...), opt.Bootstrap...))
	if err != nil {
		return nil, err
	}
	n := &Node{repo: r, log: log, priv: priv, boot: boot, joined: make(chan struct{})}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.putsCtx, n.stopPuts = context.WithCancel(context.Background())
	var closers []func()
	defer func() {
		if err != nil {
			n.cancel()
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()

	n.store, err = store.Open(r.DataPath(), store.Options{
		Capacity: int64(cfg.Storage.Capacity), NoSync: !cfg.Storage.Sync,
		PeerQuota: cfg.Storage.PeerQuota(), SubnetQuota: cfg.Storage.SubnetQuota(),
		MaxPendingPerAccount: maxPendingPerPeer,
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	closers = append(closers, func() { n.store.Close() })
	n.uploads, err = openUploads(r.Path)
	if err != nil {
		return nil, err
	}
	if n.scores, err = openScores(r.Path); err != nil {
		return nil, fmt.Errorf("open reputation book: %w", err)
	}
	n.health = newHealth()
	if n.led, err = OpenLedger(r.Path, priv); err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	closers = append(closers, func() { n.led.Close() })
	n.led.Configure(settleParams(cfg.Ledger))
	n.repairs.below = map[cid.Cid]time.Time{}
	n.exit.done = make(chan struct{})

	base, err := newHost(priv, cfg.Network, opt.Gater)
	if err != nil {
		return nil, fmt.Errorf("start libp2p host: %w", err)
	}
	closers = append(closers, func() { base.Close() })
	n.loadKnownPeers()
	// kad-dht falls back on these when its routing table empties; the remembered peers count.
	dhtBoot := append(append([]peer.AddrInfo{}, boot...), addrInfos(n.known.peers, base.ID())...)
	n.dht, err = dht.New(base, dht.Config{Prefix: cfg.Network.ProtocolPrefix, Bootstrap: dhtBoot})
	if err != nil {
		return nil, fmt.Errorf("start dht: %w", err)
	}
	closers = append(closers, func() { n.dht.Close() })
	n.host = routedhost.Wrap(base, n.dht)

	n.stewards = transfer.NewStewardship(n.store, n.announce)
	n.budget = transfer.NewBudget(transfer.DefaultBudget())
	n.server = transfer.NewServer(n.host, n.store, n.stewards, n.budget, Agent, log)
	n.receipts = transfer.NewReceipts(n.host, n.store, priv, cfg.Intervals.OrphanLease.D(), n.budget)
	n.tombs = transfer.NewTombstoneServer(n.host, n.stewards, n.budget)
	n.xfer = transfer.NewClient(n.host, n.store, n.stewards)
	n.auditor = transfer.NewAuditor(n.host, n.store, n.budget)
	n.countersign = transfer.NewCountersigner(n.host, priv, n.server.Served(), n.budget)
	n.countersign.Vet = n.vetReceipt
	n.server.Admit = n.admit
	n.receiptsOff = !cfg.Ledger.Enabled
	n.endorser = transfer.NewEndorser(n.host, n.stewards, priv, n.budget)
	n.endorser.Vet = n.vetEntry
	n.endorser.VetSet = n.vetStewardSet
	n.server.OrphanLease = cfg.Intervals.OrphanLease.D()
	n.xfer.OrphanLease = cfg.Intervals.OrphanLease.D()
	n.startCollector()
	n.startTombstones()

	iv := cfg.Intervals
	n.wg.Add(2)
	go func() { defer n.wg.Done(); n.stayJoined(iv.Reconnect.D()) }()
	go func() { defer n.wg.Done(); n.reprovideLoop(iv.Reprovide.D()) }()
	// peers.json every peer_save (and on Close), so a node killed without a clean stop still
	// rejoins through recent peers.
	n.resumeExit()
	if cfg.Maintenance.Audits && cfg.Ledger.Enabled {
		n.startAttest() // before the audits it tracks
	}
	if cfg.Maintenance.Audits {
		n.runChore("audit", iv.Audit.D(), n.auditRound)
	}
	if cfg.Maintenance.Repair {
		n.runChore("repair", iv.Repair.D(), n.repairRound)
	}
	if cfg.Ledger.Enabled {
		if err := n.startGossip(); err != nil {
			return nil, fmt.Errorf("start ledger gossip: %w", err)
		}
		n.startLedgerChores()
	}
	n.runChore("save peers", iv.PeerSave.D(), func(context.Context) {
		if err := n.savePeers(); err != nil {
			n.log.Warn("save known peers", "err", err)
		}
		if err := n.scores.save(); err != nil {
			n.log.Warn("save reputation book", "err", err)
		}
	})
	return n, nil
}

func parseBootstrap(addrs []string) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("bootstrap address %q: %w", s, err)
		}
		ai, err := peer.AddrInfoFromP2pAddr(a)
		if err != nil {
			return nil, fmt.Errorf("bootstrap address %q needs /p2p/<peer id>: %w", s, err)
		}
		out = append(out, *ai)
	}
	return out, nil
}

// announce makes this node findable as a steward of manifest c through DHT provider records.
func (n *Node) announce(c cid.Cid) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		ctx, cancel := context.WithTimeout(n.ctx, time.Minute)
		defer cancel()
		if err := n.dht.Provide(ctx, c, true); err != nil && !errors.Is(err, context.Canceled) {
			n.log.Debug("provide manifest", "cid", c, "err", err)
		}
	}()
}

// Host exposes the libp2p host (for tests and diagnostics).
func (n *Node) Host() host.Host { return n.host }

// DHT exposes the Kademlia DHT.
func (n *Node) DHT() *kad.IpfsDHT { return n.dht }

// Store exposes the shard store.
func (n *Node) Store() *store.Store { return n.store }

// Close stops the node gracefully: protocol handlers first, then background work, the known
// peers (saved while still connected), DHT, host, store. Closing twice returns the first result.
func (n *Node) Close() error {
	n.closeOne.Do(func() {
		n.drainPuts() // before the handlers go: a rollback may delete from this node too
		n.server.Close()
		n.receipts.Close()
		n.tombs.Close()
		n.auditor.Close()
		n.countersign.Close()
		n.endorser.Close()
		if n.gossip != nil {
			n.gossip.Close()
		}
		n.cancel()
		n.wg.Wait()
		if err := n.savePeers(); err != nil {
			n.log.Warn("save known peers", "err", err) // a cache: not worth failing the stop
		}
		if err := n.scores.save(); err != nil {
			n.log.Warn("save reputation book", "err", err)
		}
		n.closeErr = errors.Join(n.dht.Close(), n.host.Close(), n.store.Close(), n.led.Close())
	})
	return n.closeErr
}

// Transfer exposes the transfer client (for tests and diagnostics).
func (n *Node) Transfer() *transfer.Client { return n.xfer }
