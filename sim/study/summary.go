package study

import (
	"math"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
	"github.com/cairn-storage/cairn/sim/scenario"
)

// Summary is summary.json: a pure function of the scenario, so two runs of the
// same scenario and seed write the same bytes.
type Summary struct {
	Scenario scenario.Scenario `json:"scenario"`
	Name     string            `json:"name"`
	Seed     uint64            `json:"seed"`
	Nodes    int               `json:"nodes"`
	Duration sim.Duration      `json:"duration"`
	Mode     string            `json:"mode"`
	Events   uint64            `json:"events"`  // engine events run (churn and samples)
	Samples  int               `json:"samples"` // batches of lookups
	Lookups  int64             `json:"lookups"` // lookups run in all
	Hops     HopStats          `json:"hops"`
	// MeanMessages and MeanTimeouts (requests to dead peers, which time out
	// whether or not the lookup waits) are per lookup; FoundRate is the
	// fraction of lookups whose closest answer was the closest node up.
	MeanMessages float64    `json:"mean_messages"`
	MeanTimeouts float64    `json:"mean_timeouts"`
	FoundRate    float64    `json:"found_rate"`
	Churn        ChurnStats `json:"churn"`
	// Lookup is the lookup study's overlap, latency and maintenance
	// (lookup_model.go); absent without [kademlia].
	Lookup *LookupSummary `json:"lookup,omitempty"`
	// Storage is the durability study's outcome; absent without [storage].
	Storage *StorageSummary `json:"storage,omitempty"`
	// Protocol is the protocol study's outcome; absent without [protocol].
	Protocol *ProtocolSummary `json:"protocol,omitempty"`
}

// HopStats describes the hop counts of every lookup of a run.
type HopStats struct {
	Mean float64 `json:"mean"`
	P50  int     `json:"p50"`
	P95  int     `json:"p95"`
	Max  int     `json:"max"`
	// Histogram[h] is the number of lookups of h hops.
	Histogram []uint64 `json:"histogram"`
}

// ChurnStats is the churn driver's state at the end.
type ChurnStats struct {
	Availability float64 `json:"availability"` // the model's long-run fraction up
	UpAtEnd      int     `json:"up_at_end"`
	LiveAtEnd    int     `json:"live_at_end"`
	SessionEnds  uint64  `json:"session_ends"`
	Departures   uint64  `json:"departures"`
	Arrivals     uint64  `json:"arrivals"`
}

// RunStats is run.json: how the run went on this machine, which varies.
type RunStats struct {
	WallSeconds      float64 `json:"wall_seconds"`
	BuildSeconds     float64 `json:"build_seconds"` // IDs and routing tables
	RunSeconds       float64 `json:"run_seconds"`   // the event loop
	EventsPerSecond  float64 `json:"events_per_second"`
	LookupsPerSecond float64 `json:"lookups_per_second"`
	// PeakHeap is the largest runtime.MemStats.HeapAlloc seen (after the build
	// and at every sample); PeakRSS is the process's VmHWM on Linux (0
	// elsewhere), which counts everything the process ever held, tests and
	// earlier runs in the same process included.
	PeakHeap uint64 `json:"peak_heap_bytes"`
	PeakRSS  uint64 `json:"peak_rss_bytes,omitempty"`
	// StateBytes is what the model's arrays hold (IDs, tables, lookup
	// scratch, churn state); BytesPerNode divides it by the nodes.
	StateBytes   int64   `json:"state_bytes"`
	BytesPerNode float64 `json:"bytes_per_node"`
}

// round keeps 6 decimals: the JSON stays readable and no figure claims more
// precision than a run of thousands of lookups has.
func round(x float64) float64 { return math.Round(x*1e6) / 1e6 }

func summarize(r *Result, eng *sim.Engine, drv *churn.Driver) Summary {
	sc := r.Scenario
	s := Summary{
		Scenario: sc, Name: sc.Name, Seed: sc.Seed, Nodes: sc.Nodes,
		Duration: sc.Duration,
		Events:   eng.Processed(), Samples: len(r.Samples),
		Churn: ChurnStats{
			Availability: round(sc.Churn.Availability()),
			UpAtEnd:      drv.UpCount(), LiveAtEnd: drv.LiveCount(),
			SessionEnds: drv.SessionEnds(), Departures: drv.Departures(), Arrivals: drv.Arrivals(),
		},
	}
	if sc.Kademlia != nil {
		s.Mode = sc.Kademlia.Mode
	}
	t := r.tot
	s.Lookups = t.lookups
	if t.lookups > 0 {
		n := float64(t.lookups)
		s.Hops.Mean = round(float64(t.hops) / n)
		s.MeanMessages = round(float64(t.msgs) / n)
		s.MeanTimeouts = round(float64(t.timeouts) / n)
		s.FoundRate = round(float64(t.found) / n)
	}
	s.Hops.P50 = quantile(r.Hops, 0.5)
	s.Hops.P95 = quantile(r.Hops, 0.95)
	s.Hops.Max = max(0, len(r.Hops)-1)
	s.Hops.Histogram = r.Hops
	if s.Hops.Histogram == nil {
		s.Hops.Histogram = []uint64{}
	}
	return s
}
