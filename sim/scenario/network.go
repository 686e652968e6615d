package scenario

import (
	"fmt"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/netmodel"
)

// Network is the [network] section: the latency and bandwidth model
// (sim/netmodel) and what a request costs in round trips. A lookup-mode
// scenario without it runs DefaultNetwork (Parse fills it in, so it is written
// back in scenario.toml).
// Zero fields take DefaultNetwork's values, which is why none can be 0.
type Network struct {
	// RequestRTTs is the round trips a request to a peer the initiator is not
	// connected to costs: opening the connection (TCP handshake,
	// multistream-select of the security protocol, TLS 1.3 carrying the muxer
	// choice) and the request itself. Peers in the initiator's routing table
	// are connected (the connection manager keeps up to 400 connections, more
	// than a table holds) and cost one round trip.
	RequestRTTs int `toml:"request_rtts"`
	// DialTimeout is how long a request to a dead peer takes to fail.
	// go-libp2p-kad-dht sets no per-peer timeout of its own: a dial gives up
	// at the swarm's dial timeout, 15 s, when the peer's host is gone (no
	// reset comes back; QUIC would give up after its 5 s handshake timeout,
	// but Cairn dials TCP first and waits for both).
	DialTimeout sim.Duration `toml:"dial_timeout"`
	// AccessMedian and AccessSigma: each node's access delay (its last mile's
	// share of every round trip) is lognormal.
	AccessMedian sim.Duration `toml:"access_median"`
	AccessSigma  float64      `toml:"access_sigma"`
	// Stretch is how much longer than the great circle a route is.
	Stretch float64 `toml:"stretch"`
	// UpMbps and DownMbps are the median rates in Mbit/s, BandwidthSigma the
	// spread (σ of the log) of both.
	UpMbps         float64 `toml:"up_mbps"`
	DownMbps       float64 `toml:"down_mbps"`
	BandwidthSigma float64 `toml:"bandwidth_sigma"`
}

// DefaultNetwork is what a [network] section's missing keys take: netmodel's
// defaults, four round trips for a request to a new peer, 15 s dial timeout.
func DefaultNetwork() Network {
	d := netmodel.DefaultConfig()
	return Network{
		RequestRTTs:    4,
		DialTimeout:    15 * sim.Second,
		AccessMedian:   d.AccessMedian,
		AccessSigma:    d.AccessSigma,
		Stretch:        d.Stretch,
		UpMbps:         d.UpMedian / netmodel.Mbit,
		DownMbps:       d.DownMedian / netmodel.Mbit,
		BandwidthSigma: d.BandwidthSigma,
	}
}

// Model is the netmodel configuration n describes (regions and jitter are
// netmodel's defaults).
func (n Network) Model() netmodel.Config {
	c := netmodel.DefaultConfig()
	c.AccessMedian, c.AccessSigma, c.Stretch = n.AccessMedian, n.AccessSigma, n.Stretch
	c.UpMedian, c.DownMedian, c.BandwidthSigma = n.UpMbps*netmodel.Mbit, n.DownMbps*netmodel.Mbit, n.BandwidthSigma
	return c
}

func (s *Scenario) fillNetwork() {
	if s.Network == nil {
		if s.Kademlia == nil || s.Kademlia.Mode != ModeLookup {
			return
		}
		s.Network = &Network{}
	}
	n, d := s.Network, DefaultNetwork()
	if n.RequestRTTs == 0 {
		n.RequestRTTs = d.RequestRTTs
	}
	if n.DialTimeout == 0 {
		n.DialTimeout = d.DialTimeout
	}
	if n.AccessMedian == 0 {
		n.AccessMedian = d.AccessMedian
	}
	if n.AccessSigma == 0 {
		n.AccessSigma = d.AccessSigma
	}
	if n.Stretch == 0 {
		n.Stretch = d.Stretch
	}
	if n.UpMbps == 0 {
		n.UpMbps = d.UpMbps
	}
	if n.DownMbps == 0 {
		n.DownMbps = d.DownMbps
	}
	if n.BandwidthSigma == 0 {
		n.BandwidthSigma = d.BandwidthSigma
	}
}

func (s Scenario) validateNetwork() error {
	n := s.Network
	if n == nil {
		return nil
	}
	switch {
	case n.RequestRTTs < 1 || n.RequestRTTs > 20:
		return fmt.Errorf("network.request_rtts: %d, want 1..20", n.RequestRTTs)
	case n.DialTimeout < sim.Millisecond || n.DialTimeout > 10*sim.Minute:
		return fmt.Errorf("network.dial_timeout: %v, want 1ms..10m", n.DialTimeout)
	case n.AccessMedian <= 0 || n.AccessMedian > 10*sim.Second:
		return fmt.Errorf("network.access_median: %v, want (0, 10s]", n.AccessMedian)
	case !(n.AccessSigma > 0 && n.AccessSigma <= 3):
		return fmt.Errorf("network.access_sigma: %v, want (0, 3]", n.AccessSigma)
	case !(n.Stretch >= 1 && n.Stretch <= 10):
		return fmt.Errorf("network.stretch: %v, want 1..10", n.Stretch)
	case !(n.UpMbps > 0 && n.UpMbps <= 1e6):
		return fmt.Errorf("network.up_mbps: %v, want (0, 1e6]", n.UpMbps)
	case !(n.DownMbps > 0 && n.DownMbps <= 1e6):
		return fmt.Errorf("network.down_mbps: %v, want (0, 1e6]", n.DownMbps)
	case !(n.BandwidthSigma > 0 && n.BandwidthSigma <= 3):
		return fmt.Errorf("network.bandwidth_sigma: %v, want (0, 3]", n.BandwidthSigma)
	}
	return n.Model().Validate()
}
