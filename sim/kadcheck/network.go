package kadcheck

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	kb "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"
)

// maxBootstrappers is how many bootstrap peers a joining node dials, as
// go-libp2p-kad-dht's fixLowPeers (maxNBoostrappers).
const maxBootstrappers = 2

// network is Config.Nodes real kad-dht servers on one mocknet, every pair
// linked (able to dial) but connected only as the DHT itself decides.
type network struct {
	mn     mocknet.Mocknet
	hosts  []host.Host
	dhts   []*dht.IpfsDHT
	index  map[peer.ID]int32 // peer → node number
	ids    []uint64          // node → 64-bit kad ID (top of SHA-256 of the peer ID)
	frozen atomic.Bool       // set: routing tables take no new peers from identify
}

// kadID64 is the first 8 bytes, big-endian, of a kad-dht key (a kbucket.ID).
func kadID64(id kb.ID) uint64 { return binary.BigEndian.Uint64(id[:8]) }

// keyID64 is a lookup key's 64-bit ID: kad-dht routes a key by SHA-256 of it.
func keyID64(key string) uint64 {
	h := sha256.Sum256([]byte(key))
	return binary.BigEndian.Uint64(h[:8])
}

// identity derives an Ed25519 key from rng, so a seed fixes every peer ID (the
// key is built from its seed, not through a library that may ignore a
// caller's randomness).
func identity(rng *rand.Rand) (crypto.PrivKey, peer.ID, error) {
	var seed [ed25519.SeedSize]byte
	for i := 0; i < len(seed); i += 8 {
		binary.LittleEndian.PutUint64(seed[i:], rng.Uint64())
	}
	sk, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		return nil, "", err
	}
	id, err := peer.IDFromPrivateKey(sk)
	return sk, id, err
}

// mockAddr is a unique unroutable address, as mocknet's GenPeer makes.
func mockAddr(id peer.ID) (ma.Multiaddr, error) {
	ip := net.ParseIP("100::")
	copy(ip[net.IPv6len-8:], id[len(id)-8:])
	return ma.NewMultiaddr(fmt.Sprintf("/ip6/%s/tcp/4242", ip))
}

// buildNetwork starts the nodes and lets them build their routing tables the
// way real nodes do: the first cfg.Bootstrappers nodes connect to each other;
// then the others join one at a time, each dialling two random bootstrappers
// and, once its table is non-empty, running the full refresh a starting
// kad-dht node runs (a lookup of its own ID, then one of a random key at each
// CPL); then every node, a few at a time, refreshes once more as kad-dht's
// RefreshRoutingTable does (its own ID, and the CPLs not refreshed in the last
// interval), so the early joiners look up their neighbourhood again. Tables
// fill from the answers and from every peer that connects and identifies:
// realistic, not complete (a full bucket keeps the peers it took first, bar
// those kad-dht took while its table was bootstrapping, which later ones may
// replace). Then they are frozen (see freeze).
func buildNetwork(ctx context.Context, cfg Config, idRNG, joinRNG *rand.Rand) (_ *network, err error) {
	nw := &network{mn: mocknet.New(), index: make(map[peer.ID]int32, cfg.Nodes), ids: make([]uint64, cfg.Nodes)}
	defer func() {
		if err != nil {
			err = errors.Join(err, nw.close())
		}
	}()
	for i := range cfg.Nodes {
		sk, id, err := identity(idRNG)
		if err != nil {
			return nil, fmt.Errorf("kadcheck: identity %d: %w", i, err)
		}
		if _, dup := nw.index[id]; dup {
			return nil, fmt.Errorf("kadcheck: nodes %d and %d have the same peer ID", nw.index[id], i)
		}
		addr, err := mockAddr(id)
		if err != nil {
			return nil, err
		}
		h, err := nw.mn.AddPeer(sk, addr)
		if err != nil {
			return nil, fmt.Errorf("kadcheck: add peer %d: %w", i, err)
		}
		nw.hosts = append(nw.hosts, h)
		nw.index[id] = int32(i)
		nw.ids[i] = kadID64(kb.ConvertPeerID(id))
	}
	if err := nw.mn.LinkAll(); err != nil {
		return nil, fmt.Errorf("kadcheck: link: %w", err)
	}
	// Once frozen, identify may only confirm peers already in the table: a
	// false here for a peer in the table would make kad-dht drop it.
	filter := func(d any, p peer.ID) bool {
		return !nw.frozen.Load() || d.(*dht.IpfsDHT).RoutingTable().Find(p) != ""
	}
	for i, h := range nw.hosts {
		d, err := dht.New(h,
			dht.Mode(dht.ModeServer),
			dht.ProtocolPrefix("/cairn"),
			dht.BucketSize(cfg.K),
			dht.Concurrency(cfg.Alpha),
			dht.Resiliency(cfg.Beta),
			dht.DisableAutoRefresh(), // refreshes run when buildNetwork says
			dht.RoutingTableFilter(filter),
		)
		if err != nil {
			return nil, fmt.Errorf("kadcheck: dht %d: %w", i, err)
		}
		nw.dhts = append(nw.dhts, d)
	}

	boot := min(cfg.Bootstrappers, cfg.Nodes)
	for i := 1; i < boot; i++ {
		for j := range i {
			if err := nw.connect(ctx, i, j); err != nil {
				return nil, err
			}
		}
	}
	for i := range boot {
		if boot == 1 {
			break // a lone bootstrapper's table fills as the others join
		}
		if err := nw.waitTable(ctx, i); err != nil {
			return nil, err
		}
	}
	for i := boot; i < cfg.Nodes; i++ {
		for _, j := range joinRNG.Perm(boot)[:min(maxBootstrappers, boot)] {
			if err := nw.connect(ctx, i, j); err != nil {
				return nil, err
			}
		}
		if err := nw.waitTable(ctx, i); err != nil {
			return nil, err
		}
		if err := nw.refresh(ctx, i, true); err != nil {
			return nil, err
		}
	}
	if err := nw.refreshAll(ctx, cfg.Workers); err != nil {
		return nil, err
	}
	return nw, nw.freeze(ctx)
}

func (nw *network) connect(ctx context.Context, i, j int) error {
	h := nw.hosts[j]
	if err := nw.hosts[i].Connect(ctx, peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}); err != nil {
		return fmt.Errorf("kadcheck: connect %d to %d: %w", i, j, err)
	}
	return nil
}

// waitTable waits until node i's routing table holds a peer: identify and
// kad-dht's check of a new peer run in the background.
func (nw *network) waitTable(ctx context.Context, i int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for nw.dhts[i].RoutingTable().Size() == 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("kadcheck: node %d: routing table still empty: %w", i, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

// refresh runs node i's routing-table refresh: a lookup of its own ID, then
// one of a random key at each CPL (all of them if force, else those no
// lookup has visited in the last refresh interval), and waits for it.
func (nw *network) refresh(ctx context.Context, i int, force bool) error {
	var ch <-chan error
	if force {
		ch = nw.dhts[i].ForceRefresh()
	} else {
		ch = nw.dhts[i].RefreshRoutingTable()
	}
	select {
	case err := <-ch:
		if err != nil {
			return fmt.Errorf("kadcheck: node %d: refresh: %w", i, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refreshAll refreshes every node, workers at a time.
func (nw *network) refreshAll(ctx context.Context, workers int) error {
	next := atomic.Int64{}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(nw.dhts) || errs[w] != nil {
					return
				}
				errs[w] = nw.refresh(ctx, i, false)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// freeze stops routing tables from taking peers that merely connect (the
// RoutingTableFilter), then waits until the checks of new peers already under
// way have settled: no table changes size for 200 ms. What can still change
// a table is its own node's lookups (kad-dht adds a peer that answered it),
// so the caller snapshots the tables before each lookup.
func (nw *network) freeze(ctx context.Context) error {
	nw.frozen.Store(true)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	last, stable := -1, 0
	for stable < 4 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("kadcheck: routing tables did not settle: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		total := 0
		for _, d := range nw.dhts {
			total += d.RoutingTable().Size()
		}
		if total == last {
			stable++
		} else {
			last, stable = total, 0
		}
	}
	return nil
}

// setLatency gives every link the one-way delay d, for the connections open
// and those to come.
func (nw *network) setLatency(d time.Duration) {
	for _, byPeer := range nw.mn.Links() {
		for _, links := range byPeer {
			for l := range links {
				l.SetOptions(mocknet.LinkOptions{Latency: d})
			}
		}
	}
	nw.mn.SetLinkDefaults(mocknet.LinkOptions{Latency: d})
}

// contacts is node i's routing table as node numbers, bucket by bucket.
// Peers outside the network (none are expected) are counted in stray.
func (nw *network) contacts(dst []int32, i int, stray *int) []int32 {
	for _, p := range nw.dhts[i].RoutingTable().ListPeers() {
		j, ok := nw.index[p]
		if !ok {
			*stray++
			continue
		}
		dst = append(dst, j)
	}
	return dst
}

// close stops every DHT, then the hosts and the mocknet.
func (nw *network) close() error {
	var errs []error
	for _, d := range nw.dhts {
		errs = append(errs, d.Close())
	}
	errs = append(errs, nw.mn.Close())
	return errors.Join(errs...)
}
