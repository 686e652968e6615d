package network

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-storage/cairn/reputation"
	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
)

// fullRun is a small run with everything on: churn with departures and arrivals, every
// behaviour, a workload; it returns what a study would write.
func fullRun(t *testing.T, seed uint64) ([]Sample, Summary, Evidence) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.SampleEvery = 3 * sim.Hour
	cfg.Behaviours.DataDropping, cfg.Behaviours.AuditCheating = 0.03, 0.03
	cfg.Behaviours.Onset = 6 * sim.Hour
	cfg.Behaviours.Sybil = SybilGroups{Groups: 2, Size: 10, AttackAt: 12 * sim.Hour}
	m := durabilityChurn(0.02)
	m.ArrivalsPerHour = 4
	w := newWorld(t, cfg, 400, seed, &m)
	w.upload(t, 100, 4<<20, sim.NewStreams(seed).Named("test/files"))
	w.startWorkload(t, seed, 20, 40, 4<<20)
	hours := sim.Duration(30)
	if raceBuild {
		hours = 15
	}
	w.eng.Run(sim.Time(hours * sim.Hour))
	if err := w.net.Err(); err != nil {
		t.Fatal(err)
	}
	return w.net.Samples(), w.net.Summary(), w.net.EpochEvidence(1)
}

func TestDeterministic(t *testing.T) {
	s1, sum1, ev1 := fullRun(t, 11)
	s2, sum2, ev2 := fullRun(t, 11)
	if !reflect.DeepEqual(s1, s2) || !reflect.DeepEqual(sum1, sum2) || !reflect.DeepEqual(ev1, ev2) {
		t.Fatal("same seed, different run")
	}
	j1, _ := json.Marshal(sum1)
	j2, _ := json.Marshal(sum2)
	if string(j1) != string(j2) {
		t.Fatal("summary JSON differs")
	}
	s3, _, _ := fullRun(t, 12)
	if reflect.DeepEqual(s1, s3) {
		t.Fatal("another seed, same samples")
	}
	if len(s1) < 6 || s1[len(s1)-1].Files <= 100 || sum1.Arrivals == 0 || sum1.Departed == 0 ||
		sum1.Classes[Sybil].TurnedBad != 20 || sum1.AuditFail == 0 || sum1.ShardsRebuilt == 0 {
		t.Fatalf("the run does not exercise the model: %d samples, %+v", len(s1), sum1)
	}
	if len(SampleHeader()) != len(s1[0].Record()) {
		t.Fatalf("header has %d columns, record %d", len(SampleHeader()), len(s1[0].Record()))
	}
}

func TestEpochEvidence(t *testing.T) {
	w := newWorld(t, DefaultConfig(), 200, 12, nil)
	rng := sim.NewStreams(12).Named("test/files")
	w.upload(t, 60, 40<<20, rng) // three segments each
	w.eng.Run(sim.Time(10*sim.Hour) - 1)
	ev := w.net.EpochEvidence(7)
	if ev.Epoch != 7 || len(ev.Stewards) == 0 {
		t.Fatalf("%+v", ev)
	}
	var passes int64
	files, shards := 0, 0
	for i, st := range ev.Stewards {
		if i > 0 && st.Steward <= ev.Stewards[i-1].Steward {
			t.Fatal("stewards not in index order")
		}
		for j, fe := range st.Files {
			if j > 0 && fe.File <= st.Files[j-1].File {
				t.Fatal("files not in index order")
			}
			if w.net.leader(int(fe.File)) != st.Steward || fe.Owner != w.net.File(int(fe.File)).Owner || fe.Partner != "p" {
				t.Fatalf("file %d: %+v under steward %d", fe.File, fe, st.Steward)
			}
			files++
			for k, h := range fe.Holders {
				if k > 0 && h.Holder <= fe.Holders[k-1].Holder {
					t.Fatal("holders not in index order")
				}
				if h.ReceiptTime != w.net.Unix(0) || h.Fails != 0 || h.Misses != 0 {
					t.Fatalf("holder %+v", h)
				}
				// Nine rounds, one audit per (file, holder) each, but none by the leader of itself.
				if want := uint32(9); h.Holder != st.Steward && h.Passes != want || h.Holder == st.Steward && h.Passes != 0 {
					t.Fatalf("holder %d of file %d (leader %d): %d passes", h.Holder, fe.File, st.Steward, h.Passes)
				}
				passes += int64(h.Passes)
				for _, sr := range h.Shards {
					f, _, _ := w.net.ShardOf(sr.Shard)
					if f != int(fe.File) || sr.Bytes != w.net.segShardSize(sr.Shard/8) {
						t.Fatalf("shard %+v in file %d", sr, fe.File)
					}
					shards++
				}
			}
		}
	}
	if files != 60 || shards != 60*3*8 || passes != w.net.Summary().AuditPass {
		t.Fatalf("%d files, %d shards, %d passes (audits %d)", files, shards, passes, w.net.Summary().AuditPass)
	}
	again := w.net.EpochEvidence(8)
	for _, st := range again.Stewards {
		for _, fe := range st.Files {
			for _, h := range fe.Holders {
				if h.Passes+h.Fails+h.Misses != 0 {
					t.Fatal("tallies not reset")
				}
			}
		}
	}
}

func TestDownload(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg, 100, 13, nil)
	f, err := w.net.Upload(0, 3, 20<<20, "x") // two segments
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.net.Upload(0, 3, 1, "Bad Tag"); err == nil || !strings.Contains(err.Error(), "partner") {
		t.Fatalf("an invalid partner tag: %v", err)
	}
	got, err := w.net.Download(0, 5, f, nil)
	if err != nil || len(got) != 2*cfg.K {
		t.Fatalf("%v %v", got, err)
	}
	for i, s := range got {
		if g, j := int(s.Shard)/8, int(s.Shard)%8; g != i/4 || j != i%4 || s.Bytes != w.net.segShardSize(int32(g)) {
			t.Fatalf("served %+v at %d: want the data shards first", s, i)
		}
	}
	// Take down the holders of shards 0 and 1 of segment 0: parity 4 and 5 stand in.
	n := w.net
	for _, j := range []int32{0, 1} {
		n.NodeDown(n.cHolder[n.shFirst[j]], 0, false)
	}
	got, err = n.Download(0, 5, f, got[:0])
	if err != nil || got[2].Shard != 4 || got[3].Shard != 5 {
		t.Fatalf("%v %v", got, err)
	}
	// Five of segment 1's holders down: unavailable, nothing served.
	for j := int32(8); j < 13; j++ {
		if h := n.cHolder[n.shFirst[j]]; n.IsUp(h) {
			n.NodeDown(h, 0, false)
		}
	}
	if got, err = n.Download(0, 5, f, got[:0]); !errors.Is(err, ErrUnavailable) || len(got) != 0 {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := n.Download(0, 5, 99, nil); err == nil {
		t.Fatal("unknown file downloaded")
	}
	if _, err := n.Upload(sim.Time(sim.Hour), 3, 1, ""); err == nil {
		t.Fatal("an upload at another time than now was accepted")
	}
}

func TestGini(t *testing.T) {
	for _, c := range []struct {
		v    []int64
		want float64
	}{
		{nil, 0}, {[]int64{0, 0}, 0}, {[]int64{5, 5, 5, 5}, 0}, {[]int64{0, 0, 0, 8}, 0.75}, {[]int64{3, 1, 2}, 2.0 / 9},
	} {
		v := slices.Clone(c.v)
		if g := Gini(v); g < c.want-1e-12 || g > c.want+1e-12 || !slices.Equal(v, c.v) {
			t.Errorf("Gini(%v) = %v, want %v (input unchanged)", c.v, g, c.want)
		}
	}
}

// TestArrivalsAndStewards: arrivals get fresh distinct IDs, enter the steward space (scanned
// until the next rebuild, then in the Space), and the stewards of new files are the exact
// closest up nodes.
func TestArrivalsAndStewards(t *testing.T) {
	cfg := DefaultConfig()
	m := durabilityChurn(0.01)
	m.ArrivalsPerHour = 20
	w := newWorld(t, cfg, 200, 14, &m)
	w.startWorkload(t, 14, 20, 0, 1<<20)
	w.eng.Run(sim.Time(20 * sim.Hour))
	n := w.net
	if n.Len() <= 200+rebuildEvery/2 || n.Len() != w.drv.Len() || n.Err() != nil {
		t.Fatalf("%d nodes, driver %d, err %v", n.Len(), w.drv.Len(), n.Err())
	}
	ids := slices.Clone(n.id)
	slices.Sort(ids)
	if len(slices.Compact(ids)) != n.Len() {
		t.Fatal("duplicate IDs")
	}
	for i := range int32(n.Len()) {
		if (n.state[i] == churn.Up) != (w.drv.State[i] == churn.Up) {
			t.Fatalf("node %d: network %v, driver %v", i, n.state[i], w.drv.State[i])
		}
	}
	rng := sim.NewStreams(14).Named("test/keys")
	for range 200 {
		key := rng.Uint64()
		got := n.space.closest(nil, key, 5, n.isUp)
		var want []int32
		for i := range int32(n.Len()) {
			if n.isUp(i) {
				want = append(want, i)
			}
		}
		slices.SortFunc(want, func(a, b int32) int {
			if n.id[a]^key < n.id[b]^key {
				return -1
			}
			return 1
		})
		if !slices.Equal(got, want[:5]) {
			t.Fatalf("closest to %x: %v, want %v", key, got, want[:5])
		}
	}
	// Some file placed or stewarded on an arrival, and arrivals unvetted.
	onArrival := false
	for c := range n.cHolder {
		onArrival = onArrival || n.cHolder[c] >= 200
	}
	if r := n.Record(int32(n.Len() - 1)); r.Vetted || !onArrival {
		t.Fatalf("arrival vetted %v; some shard on an arrival: %v", r.Vetted, onArrival)
	}
	if st := n.Status(int32(n.Len() - 1)); st != reputation.Unvetted && st != reputation.Healthy && st != reputation.Warned {
		t.Fatalf("fresh arrival has status %v", st)
	}
}

func TestChurnCallbacksChecked(t *testing.T) {
	w := newWorld(t, DefaultConfig(), 50, 15, nil)
	d, err := churn.New(w.eng, durabilityChurn(0), sim.NewStreams(1), 49)
	if err != nil {
		t.Fatal(err)
	}
	if w.net.Attach(d) == nil {
		t.Fatal("attached a driver of another size")
	}
	w.net.NodeArrive(60, 0)
	if w.net.Err() == nil {
		t.Fatal("an arrival out of sequence was accepted")
	}
}
