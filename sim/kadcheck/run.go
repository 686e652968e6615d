package kadcheck

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/kad"
)

// Run builds cfg.Nodes real DHT nodes on a mocknet, lets them fill their
// routing tables, and runs cfg.Lookups lookups, each from the same random
// node to the same random key: real GetClosestPeers, and kad.Looker three
// ways (over the real tables, over them replaying the real order of answers,
// over ideal tables). It closes every node before it returns.
func Run(ctx context.Context, cfg Config) (_ *Report, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	streams := sim.NewStreams(cfg.Seed)
	start := time.Now()
	nw, err := buildNetwork(ctx, cfg, streams.Named("kadcheck/identities"), streams.Named("kadcheck/join"))
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, nw.close()) }()
	nw.setLatency(cfg.LinkLatency)

	space, err := kad.NewSpace(nw.ids)
	if err != nil {
		return nil, fmt.Errorf("kadcheck: %w", err)
	}
	ideal, err := kad.BuildIdeal(space, cfg.K, streams.Named("kadcheck/ideal"))
	if err != nil {
		return nil, err
	}
	snap := &snapshot{space: space, k: cfg.K, contacts: make([][]int32, cfg.Nodes)}
	if _, err := snap.update(nw); err != nil {
		return nil, err
	}
	rep := &Report{Config: cfg, RealTables: statsOf(snap.table), IdealTables: statsOf(ideal)}
	rep.BuildSeconds = time.Since(start).Seconds()

	start = time.Now()
	unit := kad.Config{Alpha: cfg.Alpha, Beta: cfg.Beta, Timeout: 1}
	// The replay gives each request the number of answers the real lookup
	// took in while it was out; requests the real lookup never saw answered
	// (dropped at its end) do not come back.
	var order map[int32]float64
	replayCfg := unit
	replayCfg.Latency = func(_, to int32) float64 {
		if d, ok := order[to]; ok {
			return d
		}
		return 1e9
	}
	idealL, err := kad.NewLooker(ideal, unit)
	if err != nil {
		return nil, err
	}
	var modelL, replayL *kad.Looker
	var modelTab *kad.Table
	var model, replayed, idealC comparisonSums
	inverted, pairs := 0, 0
	rng := streams.Named("kadcheck/lookups")
	var keyBytes [32]byte
	for range cfg.Lookups {
		from := int32(rng.IntN(cfg.Nodes))
		for i := 0; i < len(keyBytes); i += 8 {
			binary.LittleEndian.PutUint64(keyBytes[i:], rng.Uint64())
		}
		key := string(keyBytes[:])
		if err := settle(ctx, snap, nw); err != nil {
			return nil, err
		}
		if modelTab != snap.table {
			modelTab = snap.table
			if modelL, err = kad.NewLooker(modelTab, unit); err != nil {
				return nil, err
			}
			if replayL, err = kad.NewLooker(modelTab, replayCfg); err != nil {
				return nil, err
			}
		}
		rl, err := nw.lookup(ctx, from, key)
		if err != nil {
			return nil, err
		}
		k64 := keyID64(key)
		for _, a := range rl.answers {
			rep.Answers++
			if slices.Equal(modelTab.Nearest(nil, a.from, k64, cfg.K, from), a.peers) {
				rep.AnswersMatched++
			}
		}
		truth := space.Closest(nil, k64, cfg.Beta, func(p int32) bool { return p != from })
		rep.RealTables.SeedsHoldTop += holdsAll(modelTab.Nearest(nil, from, k64, cfg.K, -1), truth)
		rep.IdealTables.SeedsHoldTop += holdsAll(ideal.Nearest(nil, from, k64, cfg.K, -1), truth)
		if len(rl.closest) > 0 && len(truth) > 0 && rl.closest[0] == truth[0] {
			rep.RealFound++
		}
		rep.RealHops = append(rep.RealHops, rl.hops)
		rep.RealMessages += float64(rl.messages)
		rep.RealFollowups += float64(rl.followups)
		if rl.starved {
			rep.RealStarved++
		}
		inverted += rl.inverted
		pairs += rl.pairs

		m := modelL.Lookup(from, k64, nil)
		if slices.Equal(m.Closest, rl.closest) {
			rep.ModelSameClosest++
		}
		rep.ModelHops = append(rep.ModelHops, model.add(m))
		order = rl.order
		r := replayL.Lookup(from, k64, nil)
		order = nil
		if r.Hops == rl.hops && r.Messages == rl.messages && r.Followups == rl.followups && slices.Equal(r.Closest, rl.closest) {
			rep.ReplayExact++
		}
		rep.ReplayHops = append(rep.ReplayHops, replayed.add(r))
		rep.IdealHops = append(rep.IdealHops, idealC.add(idealL.Lookup(from, k64, nil)))
	}
	rep.LookupSeconds = time.Since(start).Seconds()
	rep.TableChanges = snap.changes
	n := float64(cfg.Lookups)
	rep.ModelSameClosest /= n
	rep.RealFound /= n
	rep.RealMessages /= n
	rep.RealFollowups /= n
	rep.ReplayExact /= n
	rep.RealInverted = float64(inverted) / float64(max(1, pairs))
	rep.RealTables.SeedsHoldTop /= n
	rep.IdealTables.SeedsHoldTop /= n
	bs := streams.Named("kadcheck/bootstrap")
	for _, c := range []struct {
		out  *Comparison
		name string
		sums comparisonSums
		hops []int
	}{
		{&rep.Model, "model, real tables", model, rep.ModelHops},
		{&rep.Replay, "model, real tables, real order", replayed, rep.ReplayHops},
		{&rep.Ideal, "model, ideal tables", idealC, rep.IdealHops},
	} {
		if *c.out, err = compare(c.name, rep.RealHops, c.hops, c.sums, n, bs); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// holdsAll is 1 if seeds include every one of top, else 0.
func holdsAll(seeds, top []int32) float64 {
	for _, p := range top {
		if !slices.Contains(seeds, p) {
			return 0
		}
	}
	return 1
}

// comparisonSums adds up a model's requests over the lookups.
type comparisonSums struct{ messages, followups float64 }

// add counts r and returns its hops.
func (s *comparisonSums) add(r kad.Result) int {
	s.messages += float64(r.Messages)
	s.followups += float64(r.Followups)
	return r.Hops
}

// compare tests hops against rl.
func compare(name string, ref, hops []int, sums comparisonSums, n float64, bs *rand.Rand) (Comparison, error) {
	c := Comparison{Name: name, Messages: sums.messages / n, Followups: sums.followups / n}
	var err error
	c.ChiSquare, c.DF, c.P, c.Cells, err = ChiSquare(ref, hops)
	if err != nil {
		return c, err
	}
	c.KS, c.KSP = KS(ref, hops)
	c.MeanReal, c.MeanModel = Mean(ref), Mean(hops)
	c.MeanDiff = c.MeanModel - c.MeanReal
	c.CI[0], c.CI[1] = MeanDiffCI(ref, hops, 0.95, 2000, bs)
	c.Agreement = Agreement(ref, hops)
	return c, nil
}

// settle reads the real tables until two reads agree, so a table the last
// lookup's initiator is still updating is not half read.
func settle(ctx context.Context, snap *snapshot, nw *network) error {
	for range 100 {
		changed, err := snap.update(nw)
		if err != nil || !changed {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return errors.New("kadcheck: routing tables keep changing between lookups")
}
