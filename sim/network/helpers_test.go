package network

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
)

// world is a network on an engine, optionally with churn and a Poisson workload.
type world struct {
	eng *sim.Engine
	net *Network
	drv *churn.Driver
}

// durabilityChurn is sim/scenarios/durability-10k.toml's churn.
func durabilityChurn(depart float64) churn.Model {
	return churn.Model{
		Session:    churn.Dist{Kind: churn.Weibull, Shape: 0.5, Mean: 6 * sim.Hour},
		Downtime:   churn.Dist{Kind: churn.Weibull, Shape: 0.7, Mean: 4 * sim.Hour},
		DepartProb: depart,
	}
}

func newWorld(t testing.TB, cfg Config, nodes int, seed uint64, m *churn.Model) *world {
	t.Helper()
	eng := sim.New()
	st := sim.NewStreams(seed)
	net, err := New(eng, cfg, nodes, st)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{eng: eng, net: net}
	if m != nil {
		d, err := churn.New(eng, *m, st, nodes)
		if err != nil {
			t.Fatal(err)
		}
		if err := net.Attach(d); err != nil {
			t.Fatal(err)
		}
		w.drv = d
	}
	return w
}

// upload stores count files of size bytes now, from random up uploaders.
func (w *world) upload(t testing.TB, count int, size int64, rng *rand.Rand) {
	t.Helper()
	for range count {
		u := w.net.upList[rng.IntN(len(w.net.upList))]
		if _, err := w.net.Upload(w.eng.Now(), u, size, "p"); err != nil {
			t.Fatal(err)
		}
	}
}

// workload drives Poisson uploads (lognormal sizes) and downloads of random files.
type workload struct {
	w                *world
	rng              *rand.Rand
	upRate, downRate float64 // per hour
	median           float64
	sigma            float64
	kUp, kDown       sim.Kind
	served           []Served
	upErrs, downErrs int
}

func (w *world) startWorkload(t testing.TB, seed uint64, upPerHour, downPerHour float64, median int64) *workload {
	t.Helper()
	wl := &workload{w: w, rng: sim.NewStreams(seed).Named("test/workload"), upRate: upPerHour, downRate: downPerHour,
		median: float64(median), sigma: 1}
	var err error
	wl.kUp, err = w.eng.Register("test.upload", func(e *sim.Engine, ev sim.Event) {
		if len(w.net.upList) > 0 {
			u := w.net.upList[wl.rng.IntN(len(w.net.upList))]
			size := int64(wl.median * math.Exp(wl.sigma*wl.rng.NormFloat64()))
			if _, err := w.net.Upload(e.Now(), u, size, "p"); err != nil {
				wl.upErrs++
			}
		}
		_ = e.After(wl.next(wl.upRate), wl.kUp, -1, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	wl.kDown, err = w.eng.Register("test.download", func(e *sim.Engine, ev sim.Event) {
		if len(w.net.upList) > 0 && w.net.Files() > 0 {
			d := w.net.upList[wl.rng.IntN(len(w.net.upList))]
			var err error
			wl.served, err = w.net.Download(e.Now(), d, wl.rng.IntN(w.net.Files()), wl.served[:0])
			if err != nil {
				wl.downErrs++
			}
		}
		_ = e.After(wl.next(wl.downRate), wl.kDown, -1, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	if upPerHour > 0 {
		_ = w.eng.After(wl.next(upPerHour), wl.kUp, -1, 0)
	}
	if downPerHour > 0 {
		_ = w.eng.After(wl.next(downPerHour), wl.kDown, -1, 0)
	}
	return wl
}

func (wl *workload) next(perHour float64) sim.Duration {
	return sim.Duration(wl.rng.ExpFloat64() / perHour * float64(sim.Hour))
}
