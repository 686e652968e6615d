package kad

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

const minute = 60.0

// world is a network whose nodes die, return and arrive, with the times they
// did so: what a churn driver gives the Maintainer.
type world struct {
	tab   *Table
	up    []bool
	since []float64
	rng   *rand.Rand
}

func newWorld(t testing.TB, n int, seed uint64) *world {
	tab, _ := network(t, n, 0, seed)
	w := &world{tab: tab, up: make([]bool, n), since: make([]float64, n), rng: seeded(seed + 100)}
	for i := range w.up {
		w.up[i] = true
	}
	return w
}

func (w *world) alive(p int32) bool      { return w.up[p] }
func (w *world) sinceOf(p int32) float64 { return w.since[p] }

// kill takes a fraction of the nodes down at time at.
func (w *world) kill(frac, at float64) {
	for i := range w.up {
		if w.rng.Float64() < frac {
			w.up[i], w.since[i] = false, at
		}
	}
}

func (w *world) randomUp() int32 {
	for {
		if i := int32(w.rng.IntN(len(w.up))); w.up[i] {
			return i
		}
	}
}

// lookupConfig is the study's shape: 100 ms per request, 15 s dial timeout.
func lookupConfig() Config {
	cfg := DefaultConfig()
	cfg.Latency = func(int32, int32) float64 { return 0.1 }
	cfg.Timeout = 15
	return cfg
}

func (w *world) maintainer(t testing.TB, seed uint64) (*Maintainer, *Looker) {
	t.Helper()
	l, err := NewLooker(w.tab, lookupConfig())
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMaintainer(l, MaintainConfig{RefreshInterval: 10 * minute}, w.alive, w.sinceOf, seeded(seed))
	if err != nil {
		t.Fatal(err)
	}
	return m, l
}

func TestDefaultGrace(t *testing.T) {
	if g := DefaultGrace(10*minute, 20, 10); math.Abs(g/minute-43.22) > 0.01 {
		t.Fatalf("grace %.2f min for 10 min, K = 20, α = 10; go-libp2p-kad-dht's is 43.22", g/minute)
	}
	if g := DefaultGrace(10*minute, 20, 20); g != 10*minute {
		t.Fatalf("α = K: grace %v, want the interval", g)
	}
}

// repairRow is what one round of lookups saw.
type repairRow struct {
	at, dead, found, overlap, deadReqs float64
}

// runRepair kills 30% of a network at time 0, then every 10 minutes for 3
// hours runs lookups from random live nodes: with maintenance, or over the
// tables as they were.
func runRepair(t *testing.T, maintain bool) ([]repairRow, *world, MaintainStats) {
	const n, lookups = 4000, 200
	w := newWorld(t, n, 61)
	w.kill(0.3, 0)
	var m *Maintainer
	l, err := NewLooker(w.tab, lookupConfig())
	if err != nil {
		t.Fatal(err)
	}
	if maintain {
		m, l = w.maintainer(t, 62)
	}
	var rows []repairRow
	for step := range 19 {
		now := float64(step) * 10 * minute
		row := repairRow{at: now / minute}
		for range lookups {
			from, key := w.randomUp(), w.rng.Uint64()
			var r Result
			if maintain {
				m.Refresh(from, now)
			}
			dead, total := w.tab.Count(from, func(p int32) bool { return !w.up[p] })
			row.dead += float64(dead) / float64(total)
			if maintain {
				r = m.Lookup(from, key, now)
			} else {
				r = l.Lookup(from, key, w.alive)
			}
			if r.Found {
				row.found++
			}
			row.overlap += float64(r.Overlap) / float64(w.tab.K())
			row.deadReqs += float64(r.DeadRequests)
		}
		row.dead /= lookups
		row.found /= lookups
		row.overlap /= lookups
		row.deadReqs /= lookups
		rows = append(rows, row)
	}
	var st MaintainStats
	if m != nil {
		st = m.Stats
	}
	return rows, w, st
}

// With 30% of nodes dead, maintenance empties the tables of them within about
// one grace period plus one interval, and lookups then find more of the true
// closest and waste fewer requests than over the stale tables.
func TestMaintenanceRepairsTables(t *testing.T) {
	with, _, st := runRepair(t, true)
	without, _, _ := runRepair(t, false)
	for i := range with {
		a, b := with[i], without[i]
		t.Logf("t=%3.0f min: dead entries %.3f vs %.3f stale; found %.3f vs %.3f; overlap %.3f vs %.3f; dead requests %.1f vs %.1f",
			a.at, a.dead, b.dead, a.found, b.found, a.overlap, b.overlap, a.deadReqs, b.deadReqs)
	}
	t.Logf("stats %+v", st)
	first, end, stale := with[0], with[len(with)-1], without[len(without)-1]
	switch {
	case first.dead < 0.25 || stale.dead < 0.25:
		t.Errorf("dead entries at the start %.3f, stale at the end %.3f: want about 0.3", first.dead, stale.dead)
	case end.dead > 0.01:
		t.Errorf("dead entries after 3 h of maintenance %.3f, want < 0.01", end.dead)
	case with[3].dead < 0.1: // 30 min: before the grace of 43 min, only failed requests evict
		t.Errorf("dead entries at 30 min %.3f: evicted before the grace", with[3].dead)
	case end.overlap < stale.overlap+0.05 || end.found < stale.found:
		t.Errorf("after 3 h: overlap %.3f vs %.3f stale, found %.3f vs %.3f", end.overlap, stale.overlap, end.found, stale.found)
	case end.deadReqs > stale.deadReqs/4:
		t.Errorf("after 3 h: %.1f requests to dead peers per lookup, %.1f stale", end.deadReqs, stale.deadReqs)
	case st.Evicted == 0 || st.Failed == 0 || st.Filled == 0 || st.Learned == 0 || st.Refreshes == 0:
		t.Errorf("stats %+v: some mechanism never ran", st)
	}
}

// An arriving node that joins with a self-lookup through one bootstrap peer is
// found by lookups for its ID from anywhere, refreshes aside; one merely added
// to the ID space is not (nobody's table holds it).
func TestArrivalsReachable(t *testing.T) {
	for _, join := range []bool{true, false} {
		w := newWorld(t, 3000, 71)
		m, _ := w.maintainer(t, 72)
		var arrived []int32
		for i := range 60 {
			now := float64(i) * minute
			id := w.rng.Uint64()
			node, err := w.tab.Space().Add(id)
			if err != nil {
				t.Fatal(err)
			}
			w.up, w.since = append(w.up, true), append(w.since, now)
			if join {
				boot := w.randomUp()
				for boot == node {
					boot = w.randomUp()
				}
				if _, err := m.Join(node, boot, now); err != nil {
					t.Fatal(err)
				}
				if w.tab.Size(node) < 3*w.tab.K() {
					t.Fatalf("arrival %d knows %d peers after joining", node, w.tab.Size(node))
				}
			} else if err := w.tab.Extend(); err != nil {
				t.Fatal(err)
			}
			arrived = append(arrived, node)
		}
		plain, err := NewLooker(w.tab, lookupConfig()) // no refreshes: what the joins did
		if err != nil {
			t.Fatal(err)
		}
		found, total := 0, 0
		for _, x := range arrived {
			for range 5 {
				from := w.randomUp()
				if from == x {
					continue
				}
				r := plain.Lookup(from, w.tab.Space().ID(x), w.alive)
				total++
				if r.Found && r.Closest[0] == x {
					found++
				}
			}
		}
		rate := float64(found) / float64(total)
		t.Logf("join %v: %d of %d lookups for arrivals' IDs found them (%.3f); stats %+v", join, found, total, rate, m.Stats)
		if join && rate < 0.98 || !join && rate > 0.1 {
			t.Errorf("join %v: found rate %.3f", join, rate)
		}
		checkTable(t, w.tab, false)
	}
}

// A refresh evicts a dead entry only once it has been dead for the grace; a
// node back up evicts every dead entry at once; filled slots go to live peers.
func TestRefreshGraceAndUp(t *testing.T) {
	w := newWorld(t, 2000, 81)
	m, _ := w.maintainer(t, 82)
	grace := m.Config().Grace
	node := int32(5)
	victim := w.tab.Bucket(node, 0)[0]
	w.up[victim], w.since[victim] = false, 100
	m.Refresh(node, 1000)
	if !w.tab.Has(node, victim) {
		t.Fatal("evicted before the grace")
	}
	m.Refresh(node, 100+grace+10*minute)
	if w.tab.Has(node, victim) || len(w.tab.Bucket(node, 0)) != w.tab.K() {
		t.Fatalf("dead for the grace and still there, or not replaced: %v", w.tab.Bucket(node, 0))
	}
	for _, p := range w.tab.Bucket(node, 0) {
		if !w.up[p] {
			t.Fatalf("refresh filled with dead peer %d", p)
		}
	}
	// Just died, but node was down meanwhile: its first refresh evicts it.
	other := w.tab.Bucket(node, 1)[2]
	now := 100 + grace + 10*minute + 1
	w.up[other], w.since[other] = false, now
	w.since[node] = now // came back up
	m.Up(node)
	m.Refresh(node, now)
	if w.tab.Has(node, other) {
		t.Fatal("full refresh after coming up kept a dead entry")
	}
	if d, _ := w.tab.Count(node, func(p int32) bool { return !w.up[p] }); d != 0 {
		t.Fatalf("%d dead entries after a full refresh", d)
	}
	if _, err := NewMaintainer(m.l, MaintainConfig{}, w.alive, w.sinceOf, seeded(1)); err == nil {
		t.Fatal("zero interval accepted")
	}
}

// What a lookup learns updates the tables as go-libp2p-kad-dht does: failed
// peers leave the initiator's table, answering peers join it when their
// bucket has room, and the initiator joins theirs.
func TestLookupUpdatesTables(t *testing.T) {
	w := newWorld(t, 3000, 91)
	w.kill(0.3, 0)
	m, l := w.maintainer(t, 92)
	failed := 0
	for range 200 {
		from, key := w.randomUp(), w.rng.Uint64()
		before := map[int32]bool{}
		for b := range w.tab.Buckets(from) {
			for _, p := range w.tab.Bucket(from, b) {
				before[p] = true
			}
		}
		m.Lookup(from, key, 0) // no refresh is due at time 0
		l.Visit(func(p int32, answered bool) {
			if !answered {
				if w.up[p] || w.tab.Has(from, p) {
					t.Fatalf("failed peer %d (up %v) still in the table", p, w.up[p])
				}
				if before[p] {
					failed++
				}
				return
			}
			for _, c := range [][2]int32{{from, p}, {p, from}} {
				g, _ := w.tab.bucketOf(c[0], c[1])
				if !w.tab.Has(c[0], c[1]) && int(w.tab.fill[g]) < w.tab.K() {
					t.Fatalf("%d answered %d's lookup, but %d's bucket has room and lacks %d", p, from, c[0], c[1])
				}
			}
		})
	}
	if failed == 0 || m.Stats.Failed != uint64(failed) {
		t.Fatalf("%d table entries failed, stats %+v", failed, m.Stats)
	}
	checkTable(t, w.tab, false)
}

func TestMaintainerDeterministic(t *testing.T) {
	a, wa, sa := runRepair(t, true)
	b, wb, sb := runRepair(t, true)
	if !reflect.DeepEqual(a, b) || sa != sb || !slices.Equal(wa.tab.slots, wb.tab.slots) || !slices.Equal(wa.tab.fill, wb.tab.fill) {
		t.Fatal("two runs from the same seeds differ")
	}
}

// Add keeps the Space sorted (Closest agrees with brute force) and refuses a
// taken ID; Extend gives the newcomer an empty, well-formed table.
func TestSpaceAddAndExtend(t *testing.T) {
	tab, _ := network(t, 500, 0, 5)
	s := tab.Space()
	rng := seeded(6)
	tab.Reserve(100)
	for range 100 {
		id := rng.Uint64()
		node, err := s.Add(id)
		if err != nil || int(node) != s.Len()-1 || s.ID(node) != id || !s.Taken(id) {
			t.Fatalf("Add: node %d, %v", node, err)
		}
	}
	if _, err := s.Add(s.ID(3)); err == nil {
		t.Fatal("a taken ID was accepted")
	}
	if err := tab.Extend(); err != nil || tab.Len() != s.Len() {
		t.Fatalf("Extend: %v, %d tables for %d nodes", err, tab.Len(), s.Len())
	}
	for range 200 {
		key := rng.Uint64()
		if got, want := s.Closest(nil, key, 7, nil), bruteClosest(s, key, 7, nil); !slices.Equal(got, want) {
			t.Fatalf("Closest after Add: %v, want %v", got, want)
		}
	}
	for i := int32(500); i < 600; i++ {
		if tab.Size(i) != 0 || tab.Buckets(i) < 1 {
			t.Fatalf("new node %d: %d peers in %d buckets", i, tab.Size(i), tab.Buckets(i))
		}
	}
	checkTable(t, tab, false)
}
