package reputation

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// ShardState is what a steward knows about one shard of a segment.
type ShardState struct {
	Healthy bool   // the holder answered its last check with the right bytes
	Holder  NodeID // "" = no known holder
}

// SegmentHealth is the state of every shard of one segment.
type SegmentHealth struct {
	Index  int
	Shards []ShardState // len N, Shards[i] is shard i
}

// RepairRules bound one call to PlanRepair.
type RepairRules struct {
	K, N int
	// Threshold: a segment is repaired when it has fewer healthy shards than this.
	// 0 means DefaultThreshold(K, N); otherwise K < Threshold <= N.
	Threshold   int
	ShardSize   int64 // bytes a target needs free per rebuilt shard
	MaxSegments int   // most segments planned per call, to bound work; 0 = no limit
	// UnvettedShare is Rules.UnvettedShare for the targets (0 = DefaultUnvettedShare).
	UnvettedShare float64
}

// SegmentPlan is the repair of one segment.
type SegmentPlan struct {
	Index   int
	Read    []int // exactly K healthy shard indices to fetch, ascending
	Rebuild []int // missing shard indices to recreate, ascending
	Targets []int // Targets[i] indexes the candidates and receives Rebuild[i]
}

// DefaultThreshold is K plus half the parity (rounded up): a 4-of-8 segment is
// repaired once it is down to 5 healthy shards, leaving one more loss of slack
// before it can no longer be rebuilt at full width in one pass.
func DefaultThreshold(k, n int) int { return k + (n-k+1)/2 }

// RepairShortfall is returned by PlanRepair, together with every plan it could
// make, when some segments cannot be (fully) repaired. Segment indices are in
// plan order (most endangered first).
type RepairShortfall struct {
	// Unrecoverable segments have fewer than K healthy shards: nothing can be
	// read or rebuilt until holders come back.
	Unrecoverable []int
	// Unplaced segments have fewer eligible targets than missing shards; their
	// plans rebuild only as many shards as could be placed, or they have no plan.
	Unplaced []int
}

func (e *RepairShortfall) Error() string {
	var parts []string
	if len(e.Unrecoverable) > 0 {
		parts = append(parts, fmt.Sprintf("%d segments unrecoverable (fewer than K healthy shards): %v",
			len(e.Unrecoverable), e.Unrecoverable))
	}
	if len(e.Unplaced) > 0 {
		parts = append(parts, fmt.Sprintf("%d segments lack eligible targets: %v", len(e.Unplaced), e.Unplaced))
	}
	return "reputation: repair shortfall: " + strings.Join(parts, "; ")
}

// PlanRepair decides which segments to repair, which shards to read and
// rebuild, and where to put the rebuilt ones. It is pure: the result depends
// only on its arguments and the rng state.
//
// Segments are taken most endangered first (fewest healthy shards, then lowest
// index); those with at least Threshold healthy shards are skipped, and at most
// MaxSegments are planned. Every missing shard is rebuilt, unless too few
// targets are eligible: then the lowest missing indices are rebuilt, as many as
// can be placed.
//
// Reads prefer data shards and distinct holders. Targets are chosen with Place
// and exclude every node listed as a holder of the segment (healthy or not);
// they go first to subnets the segment's healthy holders do not use. Free space
// is charged across segments, so one call never overfills a candidate.
//
// Invalid rules or segments give a plain error and no plans. Segments that are
// unrecoverable or short of targets give the plans made so far plus a
// *RepairShortfall.
func PlanRepair(segs []SegmentHealth, cands []Candidate, r RepairRules, rng *rand.Rand) ([]SegmentPlan, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	threshold := cmp.Or(r.Threshold, DefaultThreshold(r.K, r.N))
	order, err := repairOrder(segs, r.N)
	if err != nil {
		return nil, err
	}

	pool := slices.Clone(cands) // Free is charged as shards are assigned
	var plans []SegmentPlan
	var short RepairShortfall
	for _, o := range order {
		if o.healthy >= threshold {
			break // order is by health: every later segment is healthy enough too
		}
		s := &segs[o.seg]
		if o.healthy < r.K {
			short.Unrecoverable = append(short.Unrecoverable, s.Index)
			continue
		}
		if r.MaxSegments > 0 && len(plans) == r.MaxSegments {
			continue // keep scanning: unrecoverable segments are still reported
		}
		var missing []int
		for i, sh := range s.Shards {
			if !sh.Healthy {
				missing = append(missing, i)
			}
		}
		targets, err := repairTargets(pool, s.Shards, len(missing), r.ShardSize, r.UnvettedShare, rng)
		if err != nil {
			return nil, fmt.Errorf("reputation: placing repairs of segment %d: %w", s.Index, err)
		}
		if len(targets) < len(missing) {
			short.Unplaced = append(short.Unplaced, s.Index)
		}
		if len(targets) == 0 {
			continue
		}
		for _, t := range targets {
			pool[t].Free -= r.ShardSize
		}
		plans = append(plans, SegmentPlan{
			Index:   s.Index,
			Read:    repairReads(s.Shards, r.K),
			Rebuild: missing[:len(targets)],
			Targets: targets,
		})
	}
	if len(short.Unrecoverable) > 0 || len(short.Unplaced) > 0 {
		return plans, &short
	}
	return plans, nil
}

func (r RepairRules) validate() error {
	switch {
	case r.K < 1 || r.N <= r.K:
		return fmt.Errorf("reputation: invalid repair code K=%d N=%d, need 1 <= K < N", r.K, r.N)
	case r.Threshold != 0 && (r.Threshold <= r.K || r.Threshold > r.N):
		return fmt.Errorf("reputation: invalid repair threshold %d, need K=%d < threshold <= N=%d", r.Threshold, r.K, r.N)
	case r.ShardSize < 0:
		return fmt.Errorf("reputation: invalid repair shard size %d", r.ShardSize)
	case r.MaxSegments < 0:
		return fmt.Errorf("reputation: invalid repair MaxSegments %d", r.MaxSegments)
	}
	return nil
}

type segOrder struct{ seg, healthy int }

// repairOrder checks segs and sorts them most endangered first.
func repairOrder(segs []SegmentHealth, n int) ([]segOrder, error) {
	order := make([]segOrder, len(segs))
	seen := make(map[int]bool, len(segs))
	for i, s := range segs {
		if len(s.Shards) != n {
			return nil, fmt.Errorf("reputation: segment %d has %d shard states, want N=%d", s.Index, len(s.Shards), n)
		}
		if seen[s.Index] {
			return nil, fmt.Errorf("reputation: segment %d listed twice", s.Index)
		}
		seen[s.Index] = true
		h := 0
		for _, sh := range s.Shards {
			if sh.Healthy {
				h++
			}
		}
		order[i] = segOrder{seg: i, healthy: h}
	}
	slices.SortFunc(order, func(a, b segOrder) int {
		return cmp.Or(cmp.Compare(a.healthy, b.healthy), cmp.Compare(segs[a.seg].Index, segs[b.seg].Index))
	})
	return order, nil
}

// repairReads picks k healthy shards (the caller guarantees there are k): one
// per holder while possible, so a single slow or lying holder serves at most
// one read, and lowest index first, so data shards (0..K-1) are preferred.
func repairReads(shards []ShardState, k int) []int {
	read := make([]int, 0, k)
	taken := make([]bool, len(shards))
	used := make(map[NodeID]bool, k)
	for i, sh := range shards {
		if len(read) == k {
			break
		}
		if sh.Healthy && (sh.Holder == "" || !used[sh.Holder]) {
			read = append(read, i)
			taken[i] = true
			used[sh.Holder] = sh.Holder != ""
		}
	}
	for i, sh := range shards {
		if len(read) == k {
			break
		}
		if sh.Healthy && !taken[i] {
			read = append(read, i)
		}
	}
	slices.Sort(read)
	return read
}

// repairTargets places up to m shards with Place, excluding the segment's
// holders. Nodes on subnets that no healthy holder of the segment uses are
// placed first; the rest, if needed, come from all eligible nodes. It returns
// fewer than m targets only when fewer nodes are eligible.
func repairTargets(pool []Candidate, shards []ShardState, m int, size int64, share float64, rng *rand.Rand) ([]int, error) {
	var exclude []NodeID
	holder := make(map[NodeID]bool, len(shards))
	for _, sh := range shards {
		if sh.Holder != "" && !holder[sh.Holder] {
			holder[sh.Holder] = true
			exclude = append(exclude, sh.Holder)
		}
	}
	usedNet := make(map[string]bool)
	for _, c := range pool {
		if c.Subnet != "" && holder[c.ID] && repairHealthyHolder(shards, c.ID) {
			usedNet[c.Subnet] = true
		}
	}
	var fresh []Candidate
	var freshIdx []int
	for i, c := range pool {
		if c.Subnet == "" || !usedNet[c.Subnet] {
			fresh = append(fresh, c)
			freshIdx = append(freshIdx, i)
		}
	}

	first, err := placeUpTo(fresh, Rules{N: m, ShardSize: size, Exclude: exclude, UnvettedShare: share}, rng)
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, m)
	for _, f := range first {
		out = append(out, freshIdx[f])
		exclude = append(exclude, pool[freshIdx[f]].ID)
	}
	if len(out) == m {
		return out, nil
	}
	rest, err := placeUpTo(pool, Rules{N: m - len(out), ShardSize: size, Exclude: exclude, UnvettedShare: share}, rng)
	if err != nil {
		return nil, err
	}
	return append(out, rest...), nil
}

func repairHealthyHolder(shards []ShardState, id NodeID) bool {
	return slices.ContainsFunc(shards, func(sh ShardState) bool { return sh.Healthy && sh.Holder == id })
}

// placeUpTo is Place for min(r.N, eligible nodes) shards.
func placeUpTo(cands []Candidate, r Rules, rng *rand.Rand) ([]int, error) {
	out, err := Place(cands, r, rng)
	var few *TooFewError
	if errors.As(err, &few) {
		r.N = few.Have
		return Place(cands, r, rng)
	}
	return out, err
}
