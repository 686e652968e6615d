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
	"github.com/cairn-storage/cairn/node/repo"
	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/ipfs/go-cid"
	kad "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	routedhost "github.com/libp2p/go-libp2p/p2p/host/routed"
	ma "github.com/multiformats/go-multiaddr"
)

// Agent names this software to peers.
const Agent = "cairn/0.1.0"

// Options adjust a node beyond its repo's config.
type Options struct {
	// Bootstrap are extra multiaddrs (with /p2p/<id>) to join through.
	Bootstrap []string
	Logger    *slog.Logger
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
	uploads  *uploads

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
	n := &Node{repo: r, log: log, priv: priv}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	var closers []func()
	defer func() {
		if err != nil {
			n.cancel()
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()

	n.store, err = store.Open(r.DataPath(), store.Options{Capacity: int64(cfg.Storage.Capacity), NoSync: !cfg.Storage.Sync})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	closers = append(closers, func() { n.store.Close() })
	n.uploads, err = openUploads(r.Path)
	if err != nil {
		return nil, err
	}

	base, err := newHost(priv, cfg.Network)
	if err != nil {
		return nil, fmt.Errorf("start libp2p host: %w", err)
	}
	closers = append(closers, func() { base.Close() })
	n.dht, err = dht.New(base, dht.Config{Prefix: cfg.Network.ProtocolPrefix, Bootstrap: boot})
	if err != nil {
		return nil, fmt.Errorf("start dht: %w", err)
	}
	closers = append(closers, func() { n.dht.Close() })
	n.host = routedhost.Wrap(base, n.dht)

	n.stewards = transfer.NewStewardship(n.store, n.announce)
	n.server = transfer.NewServer(n.host, n.store, n.stewards, Agent, log)
	n.xfer = transfer.NewClient(n.host, n.store, n.stewards)

	n.wg.Add(1)
	go func() { defer n.wg.Done(); n.join(boot) }()
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

// join connects to the bootstrap peers, retrying until one answers, then fills the routing table.
func (n *Node) join(boot []peer.AddrInfo) {
	if len(boot) == 0 {
		return
	}
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		ok := 0
		for _, ai := range boot {
			if ai.ID == n.host.ID() {
				continue
			}
			ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
			if err := n.host.Connect(ctx, ai); err == nil {
				ok++
			} else {
				n.log.Debug("bootstrap connect failed", "peer", ai.ID, "err", err)
			}
			cancel()
		}
		if ok > 0 {
			break
		}
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(delay):
		}
	}
	if err := n.dht.Bootstrap(n.ctx); err != nil {
		n.log.Warn("dht bootstrap", "err", err)
	}
	// A refresh right away (rather than kad-dht's 10-minute period) lets a new node learn the
	// network's other members within a second.
	select {
	case <-n.dht.ForceRefresh():
	case <-n.ctx.Done():
	}
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

// Close stops the node gracefully: protocol handlers first, then background work, DHT, host, store.
func (n *Node) Close() error {
	n.server.Close()
	n.cancel()
	n.wg.Wait()
	errs := []error{n.dht.Close(), n.host.Close(), n.store.Close()}
	return errors.Join(errs...)
}
