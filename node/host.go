package node

import (
	"fmt"
	"github.com/cairn-storage/cairn/node/ledgersync"
	gocm "github.com/libp2p/go-libp2p/core/connmgr"
	"time"

	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	tls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/libp2p/go-libp2p/x/rate"
	ma "github.com/multiformats/go-multiaddr"
)

// newHost builds the libp2p host: TCP and QUIC, TLS then Noise, yamux, the resource manager
// with Cairn's limits (below), and a connection manager.
func newHost(priv crypto.PrivKey, cfg config.Network, gater gocm.ConnectionGater) (host.Host, error) {
	rm, err := newResourceManager()
	if err != nil {
		return nil, err
	}
	cm, err := connmgr.NewConnManager(cfg.LowWater, cfg.HighWater, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	opts := []libp2p.Option{
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings(cfg.Listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		// TLS first: on loopback it moved bulk data ~15% faster than Noise here.
		libp2p.Security(tls.ID, tls.New),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.UserAgent(Agent),
		libp2p.DisableRelay(),
	}
	if gater != nil {
		opts = append(opts, libp2p.ConnectionGater(gater))
	}
	if cfg.PreferTCP {
		opts = append(opts, libp2p.SwarmOpts(swarm.WithDialRanker(preferTCP)))
	}
	if len(cfg.Announce) > 0 {
		ann := make([]ma.Multiaddr, 0, len(cfg.Announce))
		for _, s := range cfg.Announce {
			a, err := ma.NewMultiaddr(s)
			if err != nil {
				return nil, fmt.Errorf("network.announce %q: %w", s, err)
			}
			ann = append(ann, a)
		}
		opts = append(opts, libp2p.AddrsFactory(func([]ma.Multiaddr) []ma.Multiaddr { return ann }))
	}
	return libp2p.New(opts...)
}

// quicDelay is how long a dial waits for TCP before also trying QUIC.
const quicDelay = 300 * time.Millisecond

// preferTCP dials TCP addresses at once and QUIC ones after quicDelay. go-libp2p's default
// ranker prefers QUIC, which costs ~2.5x the CPU per byte of TCP+TLS when shards move between
// nodes sharing cores; QUIC stays as the fallback for peers TCP cannot reach.
func preferTCP(addrs []ma.Multiaddr) []network.AddrDelay {
	out := make([]network.AddrDelay, 0, len(addrs))
	for _, a := range addrs {
		d := quicDelay
		if _, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			d = 0
		}
		out = append(out, network.AddrDelay{Addr: a, Delay: d})
	}
	return out
}

// Memory and stream bounds against hostile peers. The node answers every Cairn protocol under
// these limits; a refused stream is reset, a refused body answered "busy" (retry later).
//
// Per stream:
//   - a request header is at most wire.MaxHeader (64 KiB), read as it arrives; a peer has
//     10 s (transfer headerTimeout) to send it.
//   - a body is charged to transfer.Budget and the stream's resource-manager scope before the
//     go-ahead: shard put ~272 KiB + outboard (size/256, <= 1 MiB): <= 1.3 MiB; manifest put
//     manifest + locations record <= 16 + 32 = 48 MiB; shard get outboard + 32 KiB; manifest
//     get <= 48 MiB while it is sent. Other protocols hold only their header.
//   - a body must arrive (or be taken) at >= 256 KiB/s after a 30 s grace, so a stalled or
//     trickling stream loses its reservation within ~30 s of falling behind or going silent.
//   - the resource manager caps a stream's memory (body + yamux window) at 64 MiB.
//
// Per peer: bodies <= 64 MiB (Budget); inbound streams per protocol as in protoLimits, resource-
// manager memory <= 128 MiB per peer per protocol; at most 8 connections per IP address.
//
// Per subnet (/24 IPv4, /48 IPv6): bodies <= 128 MiB (Budget); at most 32 connections (so at
// most 32 identities at once), 8 per IPv4 address or IPv6 /56. Loopback is not exempt: every
// local test node has its own 127.0.i.1 and is limited like a remote one.
//
// Per node: bodies <= 256 MiB (Budget) whatever the number of peers and subnets; inbound
// streams per protocol as in protoLimits; a stalled header costs the bytes sent so far plus a
// goroutine. Everything else follows libp2p's auto-scaled defaults (system memory 1/8 of RAM).
// The Go collector lets the heap reach about twice its live set, so RSS peaks near idle plus
// twice the held bodies: measured with cmd/cairn-flood (4 identities on one /24, 64 streams on
// each of 10 protocols, in-memory bodies filled to one byte short), a daemon went from 31 MiB
// idle to 293 MiB peak RSS (204 MiB with GOMEMLIMIT=192MiB), where unbounded handlers reached
// 10 GiB.

// protoLimit is one protocol's inbound stream limits, per remote peer and node-wide.
type protoLimit struct {
	perPeer, perNode int
}

// protoLimits: puts and gets carry an upload's or download's parallel shard streams (one per
// holder per segment in flight); the rest are small questions.
var protoLimits = map[protocol.ID]protoLimit{
	transfer.ProtoShardPut:          {32, 512},
	transfer.ProtoShardGet:          {64, 1024},
	transfer.ProtoShardHas:          {16, 256},
	transfer.ProtoShardDelete:       {32, 256},
	transfer.ProtoShardReceipt:      {16, 256},
	transfer.ProtoManifestPut:       {8, 128},
	transfer.ProtoManifestGet:       {16, 256},
	transfer.ProtoManifestDel:       {8, 128},
	transfer.ProtoManifestTombstone: {8, 128},
	transfer.ProtoInfo:              {8, 256},
	// One batched audit per steward per round, plus co-stewards vetting a new holder; each can
	// make this node read up to 32 MiB, so few at once.
	transfer.ProtoAudit: {4, 64},
	// The Endorser serves at most 4 at once node-wide and answers busy beyond that.
	transfer.ProtoEndorse: {4, 32},
	// One per server after each get, quick to answer; the Countersigner serves 16 at once.
	transfer.ProtoCountersign: {8, 128},
	// Ledger anti-entropy: one sync round per peer at a time, each a few small requests.
	ledgersync.DefaultSyncProtocol: {2, 64},
	// Gossipsub keeps one long-lived stream per peer (and a spare while it reconnects).
	ledgersync.ProtoGossipV12: {2, 512},
	ledgersync.ProtoGossipV11: {2, 512},
}

// Memory a single stream, and one peer on one of our protocols, may hold in the resource manager.
const (
	streamMemory    = 64 << 20
	protoPeerMemory = 128 << 20
	protoMemory     = 512 << 20
	peerMemory      = 128 << 20
)

// Connection limits per source network.
const (
	connsPerIP     = 8
	connsPerSubnet = 32
)

// resourceLimits returns libp2p's auto-scaled defaults with Cairn's protocols and memory added.
func resourceLimits() rcmgr.ConcreteLimitConfig {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	limits.StreamBaseLimit.Memory = max(limits.StreamBaseLimit.Memory, streamMemory)
	limits.PeerBaseLimit.Memory = max(limits.PeerBaseLimit.Memory, peerMemory)
	for _, id := range append(transfer.Protocols(), ledgersync.DefaultSyncProtocol, ledgersync.ProtoGossipV12, ledgersync.ProtoGossipV11) {
		l, ok := protoLimits[id]
		if !ok {
			l = protoLimit{8, 128}
		}
		limits.AddProtocolLimit(id, rcmgr.BaseLimit{
			StreamsInbound: l.perNode, StreamsOutbound: 4 * l.perNode, Streams: 5 * l.perNode, Memory: protoMemory,
		}, rcmgr.BaseLimitIncrease{})
		limits.AddProtocolPeerLimit(id, rcmgr.BaseLimit{
			StreamsInbound: l.perPeer, StreamsOutbound: 4 * l.perPeer, Streams: 5 * l.perPeer, Memory: protoPeerMemory,
		}, rcmgr.BaseLimitIncrease{})
	}
	return limits.AutoScale()
}

// newResourceManager applies resourceLimits and per-subnet connection limits. libp2p exempts
// 127.0.0.0/8 and ::1 from its per-subnet connection limits and rates by default; Cairn does
// not, so loopback test networks meet the same limits as the internet.
func newResourceManager() (network.ResourceManager, error) {
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(resourceLimits()),
		rcmgr.WithNetworkPrefixLimit([]rcmgr.NetworkPrefixLimit{}, []rcmgr.NetworkPrefixLimit{}),
		rcmgr.WithLimitPerSubnet(
			[]rcmgr.ConnLimitPerSubnet{{PrefixLength: 32, ConnCount: connsPerIP}, {PrefixLength: 24, ConnCount: connsPerSubnet}},
			[]rcmgr.ConnLimitPerSubnet{{PrefixLength: 56, ConnCount: connsPerIP}, {PrefixLength: 48, ConnCount: connsPerSubnet}},
		),
		rcmgr.WithConnRateLimiters(&rate.Limiter{
			SubnetRateLimiter: rate.SubnetLimiter{
				IPv4SubnetLimits: []rate.SubnetLimit{{PrefixLength: 32, Limit: rate.Limit{RPS: 0.2, Burst: 2 * connsPerIP}}},
				IPv6SubnetLimits: []rate.SubnetLimit{{PrefixLength: 56, Limit: rate.Limit{RPS: 0.2, Burst: 2 * connsPerIP}}},
				GracePeriod:      time.Minute,
			},
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	return rm, nil
}
