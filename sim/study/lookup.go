// Package study runs a scenario on the simulator and writes what it measured:
// summary.json (deterministic: same scenario and seed, same bytes), run.json
// (wall time and memory, which are not), lookups.csv (one row per sample) and
// PNG plots. Two studies share churn over the engine: the Kademlia lookup
// study (every sample_every of virtual time a batch of lookups from random up
// nodes to random keys, with the dead being the nodes churn has down, timed by
// the [network] model, over routing tables kept up as go-libp2p-kad-dht keeps
// them unless maintenance is off; lookup_model.go) and the durability study
// (segments placed at time 0, lost as their holders depart; storage.csv).
package study

import (
	"math/rand/v2"
	"slices"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
	"github.com/cairn-storage/cairn/sim/scenario"
)

// Stream names this study draws from (see sim.Streams; the network model's
// are netmodel's).
const (
	StreamIDs      = "kad/ids"
	StreamTables   = "kad/tables"
	StreamLookups  = "study/lookups"
	StreamMaintain = "kad/maintain" // refresh phases and bucket fills
	StreamArrivals = "kad/arrivals" // arrivals' IDs and bootstrap peers
	StreamRTT      = "study/rtt"    // the pairs summary.json's RTT figures sample
)

// Options are a run's knobs that do not change its result.
type Options struct {
	// Progress, if set, is called after each sample with how many of the
	// total are done, and once with (0, total) before the first.
	Progress func(done, total int64)
}

// Sample is what one batch of lookups measured: a row of lookups.csv.
type Sample struct {
	At       sim.Time
	Up       int // nodes up (the ones that answer)
	Live     int // nodes not departed
	Lookups  int // lookups run (0 when no node was up)
	MeanHops float64
	P95Hops  int
	MeanMsgs float64 // requests per lookup, follow-up included
	MeanTO   float64 // requests to dead peers per lookup, follow-up included
	Found    float64 // fraction whose closest answer is the closest up node
	// Overlap is the mean fraction of the K closest up nodes a lookup found.
	Overlap float64
	// Time is the lookup time in ms, follow-up included (what
	// GetClosestPeers takes): mean and percentiles over this sample.
	Time LatencyStats
	// P50EndMs is the median time to the lookup's end, before its follow-up.
	P50EndMs float64
	// DeadEntries is the mean fraction of the initiators' table entries that
	// were down when their lookup started.
	DeadEntries float64
}

// Result is a finished run.
type Result struct {
	Scenario scenario.Scenario
	Samples  []Sample
	// Hops[h] counts lookups of h hops, over the whole run.
	Hops []uint64
	// Durability is the storage study's samples (nil without [storage]).
	Durability []StorageSample
	Summary    Summary
	Run        RunStats

	tot      totals         // over every sample, exact
	protocol *protocolStudy // nil without [protocol]
}

type totals struct {
	lookups, hops, msgs, timeouts, found int64
	overlap, dead                        float64
	time, end                            latencyHist // ms, lookup mode only
}

// sampler runs the lookups of one sample.
type sampler struct {
	lk      *lookupModel
	kc      scenario.Kademlia
	drv     *churn.Driver
	rng     *rand.Rand
	res     *Result
	hist    []uint64  // this sample's hops
	times   []float64 // this sample's lookup times, ms
	ends    []float64 // and times to the end before the follow-up
	closest []int32
}

func (s *sampler) sample(at sim.Time) {
	smp := Sample{At: at, Up: s.drv.UpCount(), Live: s.drv.LiveCount()}
	if smp.Up == 0 {
		s.res.Samples = append(s.res.Samples, smp)
		return
	}
	clear(s.hist)
	s.times, s.ends = s.times[:0], s.ends[:0]
	alive := s.drv.IsUp
	notUp := func(p int32) bool { return !alive(p) }
	now := seconds(at)
	// The K closest up nodes, the initiator aside: what Overlap counts against.
	closestUp := float64(min(s.kc.K, smp.Up-1))
	var hops, msgs, tos, found int64
	var overlap, dead float64
	t := &s.res.tot
	for range s.kc.Lookups {
		from := s.randomUp()
		key := s.rng.Uint64()
		if s.lk.looker == nil { // exact mode: the true closest up node, no route
			s.closest = s.lk.space.Closest(s.closest[:0], key, s.kc.K, func(p int32) bool { return p != from && alive(p) })
			if len(s.closest) > 0 {
				found++
				overlap++
			}
			s.hist = count(s.hist, 0)
			continue
		}
		if s.lk.maint != nil {
			s.lk.maint.Refresh(from, now) // the table as the lookup will see it
		}
		if d, n := s.lk.table.Count(from, notUp); n > 0 {
			dead += float64(d) / float64(n)
		}
		res := s.lk.lookup(from, key, now)
		hops += int64(res.Hops)
		msgs += int64(res.Messages + res.Followups)
		tos += int64(res.DeadRequests)
		if res.Found {
			found++
		}
		if closestUp > 0 {
			overlap += float64(res.Overlap) / closestUp
		}
		ms, end := 1000*res.Time, 1000*res.Ended
		s.times, s.ends = append(s.times, ms), append(s.ends, end)
		t.time.add(ms)
		t.end.add(end)
		s.hist = count(s.hist, res.Hops)
	}
	t.lookups += int64(s.kc.Lookups)
	t.hops, t.msgs, t.timeouts, t.found = t.hops+hops, t.msgs+msgs, t.timeouts+tos, t.found+found
	t.overlap, t.dead = t.overlap+overlap, t.dead+dead
	n := float64(s.kc.Lookups)
	smp.Lookups = s.kc.Lookups
	smp.MeanHops = float64(hops) / n
	smp.P95Hops = quantile(s.hist, 0.95)
	smp.MeanMsgs = float64(msgs) / n
	smp.MeanTO = float64(tos) / n
	smp.Found = float64(found) / n
	smp.Overlap = overlap / n
	smp.DeadEntries = dead / n
	if len(s.times) > 0 {
		slices.Sort(s.times)
		slices.Sort(s.ends)
		smp.Time = exactStats(s.times)
		smp.P50EndMs = nearestRank(s.ends, 0.5)
	}
	for len(s.res.Hops) < len(s.hist) {
		s.res.Hops = append(s.res.Hops, 0)
	}
	for h, c := range s.hist {
		s.res.Hops[h] += c
	}
	s.res.Samples = append(s.res.Samples, smp)
}

// randomUp draws a node uniformly among those up (there is at least one).
// Rejection keeps the draw independent of how the driver stores state.
func (s *sampler) randomUp() int32 {
	n := len(s.drv.State)
	for {
		if i := int32(s.rng.IntN(n)); s.drv.IsUp(i) {
			return i
		}
	}
}

// count adds one to h[v], growing h as needed.
func count(h []uint64, v int) []uint64 {
	for len(h) <= v {
		h = append(h, 0)
	}
	h[v]++
	return h
}

// quantile is the smallest value v with at least q of the counts at or below it.
func quantile(h []uint64, q float64) int {
	var total uint64
	for _, c := range h {
		total += c
	}
	if total == 0 {
		return 0
	}
	var acc uint64
	for v, c := range h {
		acc += c
		if float64(acc) >= q*float64(total) {
			return v
		}
	}
	return len(h) - 1
}
