package network

import (
	"math"
	"testing"

	"github.com/cairn-storage/cairn/node/audit"
	"github.com/cairn-storage/cairn/reputation"
	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/storage"
)

// straightFailures is how many failed audits in a row take a fresh record (R = 1) to
// disqualification under p: R = λ^m after m failures (α decays, β collects the weight), so
// m = ceil(ln(DQ)/ln λ). Computed from the formula, then checked against the core.
func straightFailures(t *testing.T, p reputation.Params) int {
	t.Helper()
	lambda, dq := float64(p.Lambda)/float64(reputation.One), float64(p.DQThreshold)/float64(reputation.One)
	m := int(math.Ceil(math.Log(dq) / math.Log(lambda)))
	r := p.NewRecord()
	for i := 1; ; i++ {
		r = p.Apply(r, reputation.Observation{Peer: "x", Outcome: reputation.AuditFail, Time: int64(i)})
		if r.Disqualified {
			if i != m {
				t.Fatalf("the core disqualifies after %d failures, the beta formula says %d", i, m)
			}
			return m
		}
	}
}

func TestHonestNetworkWithoutChurnIsQuiet(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg, 300, 3, nil)
	rng := sim.NewStreams(3).Named("test/files")
	w.upload(t, 150, 20<<20, rng) // two segments each
	// Audits a round: per file, one per listed holder other than the leader.
	perRound := 0
	for f := range w.net.Files() {
		L := w.net.leader(f)
		ps := w.net.filePairs(f)
		for i := range ps {
			if (i == 0 || ps[i].holder != ps[i-1].holder) && ps[i].holder != L {
				perRound++
			}
		}
	}
	w.eng.Run(sim.Time(2*sim.Day) - 1)
	s := w.net.Summary()
	if s.AuditFail != 0 || s.AuditMiss != 0 || s.FalseDisqualifications != 0 {
		t.Fatalf("honest, always-up network: %d fails, %d misses, %d disqualified", s.AuditFail, s.AuditMiss, s.FalseDisqualifications)
	}
	if want := int64(47 * perRound); s.AuditPass != want { // rounds at 1h .. 47h
		t.Fatalf("%d audits passed, want 47 rounds × %d", s.AuditPass, perRound)
	}
	if s.ShardsRebuilt != 0 || s.RepairBytesRead != 0 || s.RepairBytesWritten != 0 || s.Handovers != 0 || s.SegmentsLost != 0 {
		t.Fatalf("nothing should be repaired or lost: %+v", s)
	}
	if s.Classes[Honest].Suspended != 0 {
		t.Fatalf("%d honest nodes suspended", s.Classes[Honest].Suspended)
	}
	for _, smp := range w.net.Samples() {
		if smp.Disqualified != [NumClasses]int{} || smp.MeanScore[Honest] != 1 {
			t.Fatalf("sample at %v: %+v", smp.At, smp)
		}
	}
}

// TestDetectionAfter41Failures: a dropper holding one shard of one file is audited once a
// round, fails every audit from its onset on, and is disqualified at the 41st failure, as the
// beta formula says.
func TestDetectionAfter41Failures(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Behaviours.DataDropping = 1e-9 // no node drawn, but the onset event is scheduled
	cfg.Behaviours.Onset = 30 * sim.Minute
	w := newWorld(t, cfg, 60, 4, nil)
	f, err := w.net.Upload(0, 0, 1<<20, "")
	if err != nil {
		t.Fatal(err)
	}
	L := w.net.leader(f)
	var bad int32 = -1
	for c := w.net.shFirst[0]; c >= 0; c = w.net.cNextS[c] {
		if h := w.net.cHolder[c]; h != L {
			bad = h
		}
	}
	w.net.class[bad], w.net.badSince[bad] = DataDropping, sim.Time(cfg.Behaviours.Onset)
	m := straightFailures(t, w.net.params)
	if m != 41 {
		t.Fatalf("default params: %d straight failures, want Storj's 41", m)
	}
	w.eng.Run(sim.Time(3 * sim.Day))
	ttd, ok := w.net.TimeToDetection(bad)
	// First failing round at 1h, the m-th at m hours.
	if want := sim.Duration(m)*sim.Hour - cfg.Behaviours.Onset; !ok || ttd != want {
		t.Fatalf("time to detection %v (detected %v), want %v", ttd, ok, want)
	}
	s := w.net.Summary()
	if s.Classes[DataDropping].AuditFail < int64(m) || s.Classes[DataDropping].Detected != 1 {
		t.Fatalf("%+v", s.Classes[DataDropping])
	}
}

// TestDataDroppersDetectedAndRepaired: each dropper fails m audits a round (one per file it
// holds a shard of), so it is disqualified ceil(41/m) rounds after its onset, or sooner if
// repair hands it more shards meanwhile; repair (at threshold n) replaces every shard it lost.
func TestDataDroppersDetectedAndRepaired(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Behaviours.DataDropping = 0.05
	cfg.Behaviours.Onset = 90 * sim.Minute
	cfg.RepairThreshold = cfg.N
	w := newWorld(t, cfg, 300, 5, nil)
	w.upload(t, 200, 16<<20, sim.NewStreams(5).Named("test/files"))
	// m per dropper at its onset: files listing it whose leader is someone else.
	m := map[int32]int{}
	for f := range w.net.Files() {
		L := w.net.leader(f)
		seen := map[int32]bool{}
		for _, p := range w.net.filePairs(f) {
			if w.net.class[p.holder] == DataDropping && p.holder != L && !seen[p.holder] {
				seen[p.holder] = true
				m[p.holder]++
			}
		}
	}
	w.eng.Run(sim.Time(5 * sim.Day))
	k := straightFailures(t, w.net.params)
	exact, droppers := 0, 0
	for i := range int32(w.net.Len()) {
		if w.net.class[i] != DataDropping {
			continue
		}
		droppers++
		if m[i] == 0 {
			continue // holds nothing anyone audits: it can never be caught
		}
		ttd, ok := w.net.TimeToDetection(i)
		// Rounds at whole hours: the first after the 90-minute onset is at 2h.
		want := 30*sim.Minute + sim.Duration((k+m[i]-1)/m[i]-1)*sim.Hour
		if !ok || ttd > want {
			t.Errorf("dropper %d (m = %d): detected %v after %v, want by %v", i, m[i], ok, ttd, want)
		}
		if ttd == want {
			exact++
		}
	}
	if droppers != 15 || exact < len(m)*2/3 {
		t.Fatalf("%d droppers, %d of %d detected exactly when predicted", droppers, exact, len(m))
	}
	s := w.net.Summary()
	if s.SegmentsLost != 0 || s.ShardsRebuilt == 0 || s.FalseDisqualifications != 0 {
		t.Fatalf("lost %d, rebuilt %d, false DQ %d", s.SegmentsLost, s.ShardsRebuilt, s.FalseDisqualifications)
	}
	// Every shard has a healthy copy whose holder has the bytes.
	for sh := range int32(len(w.net.shFirst)) {
		ok := false
		for c := w.net.shFirst[sh]; c >= 0; c = w.net.cNextS[c] {
			ok = ok || w.net.holderHealthy(c) && w.net.cFlags[c]&flagPresent != 0
		}
		if !ok {
			t.Fatalf("shard %d was not repaired", sh)
		}
	}
}

// TestAuditCheatersPassAQuarter: keeping half of each shard, a cheater passes an audit of 2
// distinct 16 KiB groups only if both fall in the kept groups: C(128,2)/C(257,2) ≈ 0.247 for
// 4 MiB + 4 B shards (257 groups, 128 wholly kept). Measured within a 99.9% binomial
// interval; every cheater is disqualified in the end.
func TestAuditCheatersPassAQuarter(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Behaviours.AuditCheating = 0.1
	cfg.Behaviours.KeepFraction = 0.5
	w := newWorld(t, cfg, 300, 6, nil)
	w.upload(t, 150, 16<<20, sim.NewStreams(6).Named("test/files"))
	size := w.net.segShardSize(0)
	groups := (size + audit.GroupSize - 1) / audit.GroupSize
	kept := int64(float64(size)*0.5) / audit.GroupSize
	p := float64(kept*(kept-1)) / float64(groups*(groups-1))
	if groups != 257 || kept != 128 || math.Abs(p-0.2471) > 0.0001 {
		t.Fatalf("shard %d B: %d groups, %d kept, p = %v", size, groups, kept, p)
	}
	w.eng.Run(sim.Time(8 * sim.Day))
	c := w.net.Summary().Classes[AuditCheating]
	n := float64(c.AuditPass + c.AuditFail)
	sd := math.Sqrt(p * (1 - p) / n)
	if n < 500 || math.Abs(c.PassRate-p) > 3.29*sd {
		t.Fatalf("cheaters passed %d of %.0f audits (%.4f), want %.4f ± %.4f", c.AuditPass, n, c.PassRate, p, 3.29*sd)
	}
	audited := 0 // cheaters some steward audits: holding a shard of a file led by another
	for i := range int32(w.net.Len()) {
		if w.net.class[i] == AuditCheating && w.net.classAudited(i) {
			audited++
			if _, ok := w.net.TimeToDetection(i); !ok {
				t.Errorf("cheater %d (%d copies) not disqualified", i, w.net.stored[i])
			}
		}
	}
	if c.Nodes != 30 || c.Detected != audited || audited < 25 {
		t.Fatalf("%d of %d cheaters disqualified, %d audited", c.Detected, c.Nodes, audited)
	}
	if s := w.net.Summary(); s.FalseDisqualifications != 0 || s.SegmentsLost != 0 {
		t.Fatalf("false DQ %d, lost %d", s.FalseDisqualifications, s.SegmentsLost)
	}
	t.Logf("pass rate %.4f over %.0f audits (theory %.4f); detection median %v, max %v", c.PassRate, n, p, c.TTDMedian, c.TTDMax)
}

// sybilShardsPerSegment checks no Sybil group is listed for two shards of one segment
// (counting copies whose holder has the bytes only, if present) and returns the most shards
// the Sybils together hold in one segment.
func sybilShardsPerSegment(t *testing.T, n *Network, present bool) int {
	t.Helper()
	most := 0
	N := int32(n.cfg.N)
	for g := range int32(n.Segments()) {
		groups := map[int32]int32{} // subnet -> shard
		count := 0
		for s := g * N; s < (g+1)*N; s++ {
			held := false
			for c := n.shFirst[s]; c >= 0; c = n.cNextS[c] {
				h := n.cHolder[c]
				if n.class[h] != Sybil || present && n.cFlags[c]&flagPresent == 0 {
					continue
				}
				if prev, ok := groups[n.subnet[h]]; ok && prev != s {
					t.Fatalf("segment %d: Sybil /24 %s holds shards %d and %d", g, n.Subnet(h), prev%N, s%N)
				}
				groups[n.subnet[h]] = s
				held = true
			}
			if held {
				count++
			}
		}
		most = max(most, count)
	}
	return most
}

// TestSybilGroupsHoldOneShardASegment: four operators with 50 identities each, 40% of the
// nodes but four /24s, never hold two shards of a segment (Place's subnet diversity), so when
// they all delete their data at once no segment loses more than n − k = 4 shards, and repair
// brings every segment back.
func TestSybilGroupsHoldOneShardASegment(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Behaviours.Sybil = SybilGroups{Groups: 4, Size: 50, AttackAt: sim.Day}
	w := newWorld(t, cfg, 500, 7, nil)
	w.upload(t, 400, 8<<20, sim.NewStreams(7).Named("test/files"))
	w.eng.Run(sim.Time(sim.Day) - 1)
	if most := sybilShardsPerSegment(t, w.net, false); most < 2 || most > cfg.Behaviours.Sybil.Groups {
		t.Fatalf("Sybils hold at most %d shards of a segment; want 2..%d for a meaningful test", most, cfg.Behaviours.Sybil.Groups)
	}
	w.eng.Run(sim.Time(4 * sim.Day))
	sybilShardsPerSegment(t, w.net, true)
	s := w.net.Summary()
	if s.SegmentsLost != 0 || s.ShardsRebuilt == 0 || s.Classes[Sybil].TurnedBad != 200 {
		t.Fatalf("lost %d, rebuilt %d, %d Sybils attacked", s.SegmentsLost, s.ShardsRebuilt, s.Classes[Sybil].TurnedBad)
	}
	for f := range int32(w.net.Files()) {
		if any, _ := w.net.healthCounts(f); any {
			t.Fatalf("file %d still below threshold after the attack", f)
		}
	}
	t.Logf("Sybils: %d of %d detected, median %v; %d shards rebuilt", s.Classes[Sybil].Detected, s.Classes[Sybil].Nodes, s.Classes[Sybil].TTDMedian, s.ShardsRebuilt)
}

// TestRepairBeatsTheBinomial: under churn where about a quarter of the nodes depart, segments
// without repair are lost about as the binomial formula at the departed fraction predicts;
// with repair almost none are.
func TestRepairBeatsTheBinomial(t *testing.T) {
	run := func(repair bool) (lost, segs int, p float64) {
		cfg := DefaultConfig()
		cfg.DisableRepair = !repair
		m := durabilityChurn(0.08)
		w := newWorld(t, cfg, 800, 8, &m)
		files := 600
		if raceBuild {
			files = 300
		}
		w.upload(t, files, 4<<20, sim.NewStreams(8).Named("test/files"))
		copies := w.net.inUse
		w.eng.Run(sim.Time(3 * sim.Day))
		// Without repair no copy is added: the share of copies lost is the departed share of
		// holders (uploads pick up nodes, which depart less than average under Weibull churn).
		return w.net.SegmentsLost(), w.net.Segments(), float64(w.net.total.CopiesLost) / float64(copies)
	}
	lostNo, segs, p := run(false)
	lostRep, _, _ := run(true)
	theory, err := storage.SegmentLossProb(cfg().K, cfg().N, p)
	if err != nil {
		t.Fatal(err)
	}
	want := theory * float64(segs)
	t.Logf("holders departed %.3f: binomial %.1f segments, no repair %d, repair %d", p, want, lostNo, lostRep)
	if p < 0.2 || float64(lostNo) < want/2 || float64(lostNo) > want*2 {
		t.Fatalf("without repair %d lost, binomial %.1f (departed %.3f)", lostNo, want, p)
	}
	if lostRep*5 > lostNo || float64(lostRep) > want/5 {
		t.Fatalf("with repair %d lost, without %d, binomial %.1f", lostRep, lostNo, want)
	}
}

func cfg() Config { return DefaultConfig() }

// classAudited reports whether some file lists node and is led by another node.
func (n *Network) classAudited(node int32) bool {
	for c := n.copyHead[node]; c >= 0; c = n.cNext[c] {
		if n.leader(int(n.segFile[n.cShard[c]/int32(n.cfg.N)])) != node {
			return true
		}
	}
	return false
}
