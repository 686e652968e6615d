package study

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
	"github.com/cairn-storage/cairn/sim/kad"
	"github.com/cairn-storage/cairn/sim/netmodel"
	"github.com/cairn-storage/cairn/sim/scenario"
)

// lookupModel is the lookup study's state: IDs, and in lookup mode the routing
// tables, the network model timing requests, and the tables' maintenance.
type lookupModel struct {
	kc     scenario.Kademlia
	nw     scenario.Network
	space  *kad.Space
	table  *kad.Table      // nil in exact mode
	net    *netmodel.Model // nil in exact mode
	looker *kad.Looker     // nil in exact mode
	maint  *kad.Maintainer // nil unless maintenance is on
	eng    *sim.Engine
	drv    *churn.Driver
	arrive *rand.Rand
	err    error // the first failure inside a churn callback (which stopped the run)
}

func seconds(t sim.Time) float64 { return float64(t) / float64(sim.Second) }

// newLookupModel draws the IDs and, in lookup mode, builds the ideal tables,
// the network model and the Looker, whose requests cost request_rtts round
// trips to a peer the initiator has no connection to (one that is not in its
// table), one round trip otherwise, and dial_timeout to a dead peer.
func newLookupModel(sc scenario.Scenario, streams sim.Streams) (*lookupModel, error) {
	m := &lookupModel{kc: *sc.Kademlia, nw: scenario.DefaultNetwork()}
	if sc.Network != nil {
		m.nw = *sc.Network
	}
	var err error
	if m.space, err = kad.RandomSpace(sc.Nodes, streams.Named(StreamIDs)); err != nil {
		return nil, err
	}
	if m.kc.Mode != scenario.ModeLookup {
		return m, nil
	}
	if m.table, err = kad.BuildIdeal(m.space, m.kc.K, streams.Named(StreamTables)); err != nil {
		return nil, err
	}
	if a := sc.Churn.ArrivalsPerHour; a > 0 { // room for the arrivals expected, and a margin
		m.table.Reserve(int(min(1.2*a*sc.Duration.Hours()+16, float64(kad.MaxNodes-sc.Nodes))))
	}
	if m.net, err = netmodel.New(m.nw.Model(), streams, sc.Nodes); err != nil {
		return nil, err
	}
	cfg := kad.DefaultConfig()
	cfg.Alpha, cfg.Beta = m.kc.Alpha, m.kc.Beta
	cfg.Timeout = float64(m.nw.DialTimeout) / float64(sim.Second)
	rtts := float64(m.nw.RequestRTTs)
	cfg.Latency = func(from, to int32) float64 {
		r := m.net.RTT(from, to)
		if m.table.Has(from, to) { // connected: the request alone
			return r
		}
		return rtts * r
	}
	if m.looker, err = kad.NewLooker(m.table, cfg); err != nil {
		return nil, err
	}
	return m, nil
}

// attach starts maintenance (when on) and hooks the churn driver: a node back
// up refreshes fully at its next read, an arrival gets an ID (and in lookup
// mode a place in the network and a join through a random up node).
func (m *lookupModel) attach(eng *sim.Engine, drv *churn.Driver, streams sim.Streams) error {
	m.eng, m.drv = eng, drv
	if m.kc.Mode == scenario.ModeLookup && m.kc.Maintenance == scenario.MaintenanceOn {
		cfg := kad.MaintainConfig{RefreshInterval: float64(m.kc.RefreshInterval) / float64(sim.Second)}
		since := func(p int32) float64 { return seconds(drv.Since[p]) }
		var err error
		if m.maint, err = kad.NewMaintainer(m.looker, cfg, drv.IsUp, since, streams.Named(StreamMaintain)); err != nil {
			return err
		}
		prev := drv.OnUp
		drv.OnUp = func(node int32, at sim.Time) {
			if prev != nil {
				prev(node, at)
			}
			m.maint.Up(node)
		}
	}
	if drv.Model().ArrivalsPerHour > 0 {
		m.arrive = streams.Named(StreamArrivals)
		prev := drv.OnArrive
		drv.OnArrive = func(node int32, at sim.Time) {
			if prev != nil {
				prev(node, at)
			}
			if err := m.join(node, at); err != nil && m.err == nil {
				m.err = err
				m.eng.Stop()
			}
		}
	}
	return nil
}

// join gives an arriving node a fresh ID and brings it into the network.
func (m *lookupModel) join(node int32, at sim.Time) error {
	id := m.arrive.Uint64()
	for m.space.Taken(id) {
		id = m.arrive.Uint64()
	}
	got, err := m.space.Add(id)
	if err != nil {
		return fmt.Errorf("arrival at %v: %w", at, err)
	}
	if got != node {
		return fmt.Errorf("arrival at %v: churn numbers it %d, the ID space %d", at, node, got)
	}
	if m.looker == nil { // exact mode: an ID is all it needs
		return nil
	}
	if err := m.net.Grow(int(node) + 1); err != nil {
		return err
	}
	if m.maint == nil {
		return m.table.Extend() // validation refuses this; kept for direct callers
	}
	boot := int32(-1)
	if m.drv.UpCount() > 1 {
		for boot < 0 || boot == node || !m.drv.IsUp(boot) {
			boot = int32(m.arrive.IntN(m.drv.Len()))
		}
	}
	_, err = m.maint.Join(node, boot, seconds(at))
	return err
}

// lookup runs one lookup, with maintenance when it is on.
func (m *lookupModel) lookup(from int32, key uint64, now float64) kad.Result {
	if m.maint != nil {
		return m.maint.Lookup(from, key, now)
	}
	return m.looker.Lookup(from, key, m.drv.IsUp)
}

// bytes is what the model's arrays hold, for run.json.
func (m *lookupModel) bytes() int64 {
	b := int64(m.space.Bytes())
	if m.table != nil {
		b += int64(m.table.Bytes()) + 4*int64(m.space.Len()) // + the Looker's scratch
		b += int64(m.net.Bytes())
	}
	if m.maint != nil {
		b += int64(m.maint.Bytes())
	}
	return b
}

// LookupSummary is summary.json's "lookup": what the lookups found beyond hop
// counts, how long they took, and what maintenance did.
type LookupSummary struct {
	// MeanOverlap is the mean fraction of the K closest up nodes a lookup
	// found (1 in exact mode).
	MeanOverlap float64 `json:"mean_overlap"`
	// DeadEntries is the mean fraction of an initiator's table entries that
	// were down when its lookup started (0 in exact mode).
	DeadEntries float64 `json:"dead_entries"`
	// Latency is lookup time in ms, follow-up included; EndLatency the time to
	// the lookup's end before the follow-up. Percentiles come from a log
	// histogram of 1,000 bins a decade (±0.12%).
	Latency    *LatencyStats `json:"latency_ms,omitempty"`
	EndLatency *LatencyStats `json:"end_latency_ms,omitempty"`
	// RTT describes the network model: round trips between 10,000 random
	// pairs of initial nodes, in ms.
	RTT         *LatencyStats       `json:"rtt_ms,omitempty"`
	Maintenance *MaintenanceSummary `json:"maintenance,omitempty"`
}

// MaintenanceSummary is what routing-table maintenance did over the run.
type MaintenanceSummary struct {
	RefreshInterval sim.Duration `json:"refresh_interval"`
	// GraceMinutes is how long an entry goes unheard before a refresh pings it.
	GraceMinutes float64 `json:"grace_minutes"`
	kad.MaintainStats
	// UnusedBuckets counts buckets that splits left behind.
	UnusedBuckets int `json:"unused_buckets"`
}

func (m *lookupModel) summary(r *Result, streams sim.Streams) *LookupSummary {
	t := &r.tot
	s := &LookupSummary{}
	if t.lookups > 0 {
		s.MeanOverlap = round(t.overlap / float64(t.lookups))
		s.DeadEntries = round(t.dead / float64(t.lookups))
	}
	if m.looker == nil {
		return s
	}
	if t.time.n > 0 {
		s.Latency, s.EndLatency = t.time.stats(), t.end.stats()
	}
	var rtt latencyHist
	rng := streams.Named(StreamRTT)
	n := r.Scenario.Nodes
	for range 10000 {
		if a, b := int32(rng.IntN(n)), int32(rng.IntN(n)); a != b {
			rtt.add(1000 * m.net.RTT(a, b))
		}
	}
	if rtt.n > 0 {
		s.RTT = rtt.stats()
	}
	if m.maint != nil {
		c := m.maint.Config()
		s.Maintenance = &MaintenanceSummary{
			RefreshInterval: m.kc.RefreshInterval,
			GraceMinutes:    round(c.Grace / 60),
			MaintainStats:   m.maint.Stats,
			UnusedBuckets:   m.table.Unused(),
		}
	}
	return s
}

// LatencyStats is a distribution of times in ms.
type LatencyStats struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// exactStats describes sorted times exactly (nearest-rank percentiles).
func exactStats(sorted []float64) LatencyStats {
	sum := 0.0
	for _, x := range sorted {
		sum += x
	}
	return LatencyStats{Mean: sum / float64(len(sorted)), P50: nearestRank(sorted, 0.5),
		P95: nearestRank(sorted, 0.95), P99: nearestRank(sorted, 0.99), Max: sorted[len(sorted)-1]}
}

// nearestRank is the q-quantile of sorted values: the smallest with at least
// q of them at or below it.
func nearestRank(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
