package economy

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/cairn-storage/cairn/sim"
)

// benchWorld is a network of 10,000 nodes holding 12,500 files of 8 shards of 4 MiB (100,000
// shards, each on its own holder), each file attested by one steward, 2 % of holders having
// failed an audit, 1 % only missed; 10,000 downloads an epoch.
type benchWorld struct {
	nodes     int32
	evidence  []StewardEvidence
	downloads int
}

func newBenchWorld() *benchWorld {
	const nodes, files, k = 10_000, 12_500, 8
	rng := rand.New(rand.NewPCG(1, 2))
	w := &benchWorld{nodes: nodes, downloads: 10_000}
	byStewards := make([][]FileEvidence, nodes)
	shard := uint64(0)
	for f := range uint64(files) {
		fe := FileEvidence{File: f, Owner: rng.Int32N(nodes)}
		if f%4 == 0 {
			fe.Partner = "debian"
		}
		for range k {
			h := HolderEvidence{Node: rng.Int32N(nodes), Shards: []Shard{{shard, 4 << 20}}, Passes: 1 + uint32(rng.IntN(3))}
			switch x := rng.IntN(100); {
			case x < 2:
				h.Fails = 1
			case x < 3:
				h.Passes, h.Misses = 0, 2
			}
			shard++
			fe.Holders = append(fe.Holders, h)
		}
		s := rng.Int32N(nodes)
		byStewards[s] = append(byStewards[s], fe)
	}
	for s, fs := range byStewards {
		if len(fs) > 0 {
			w.evidence = append(w.evidence, StewardEvidence{Steward: int32(s), Files: fs})
		}
	}
	return w
}

// BenchmarkCloseEpoch is check (f): one epoch of the world above, from recording its 10,000
// receipts to the mapped statement (PlanStorage for 100,000 shards, ~98,000 attestations and
// 10,000 receipts built and chained, Settle, mapping). Keys are derived before timing, as a
// run derives each once (BenchmarkDerive prices that).
func BenchmarkCloseEpoch(b *testing.B) {
	w := newBenchWorld()
	cfg := DefaultConfig()
	cfg.FeeBPS = 500
	cfg.Partners = []Partner{{"debian", 1000}}
	l, err := New(cfg, sim.NewStreams(1))
	if err != nil {
		b.Fatal(err)
	}
	for n := range w.nodes {
		if _, err := l.Identities().Peer(n); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	b.ReportAllocs()
	b.ResetTimer()
	var r *EpochResult
	for e := range uint64(b.N) {
		start := sim.Time(e) * sim.Time(cfg.Epoch)
		for range w.downloads {
			dl, srv := rng.Int32N(w.nodes), rng.Int32N(w.nodes)
			if dl == srv {
				srv = (srv + 1) % w.nodes
			}
			at := start + sim.Time(rng.Int64N(int64(cfg.Epoch)))
			if err := l.Download(at, dl, srv, rng.Uint64N(12_500), rng.Int32N(w.nodes), "", 4<<20, 4<<20); err != nil {
				b.Fatal(err)
			}
		}
		if r, err = l.CloseEpoch(e, w.evidence); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(r.Attestations), "attestations")
	b.ReportMetric(float64(r.Receipts), "receipts")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(r.Attestations+r.Receipts), "ns/entry")
}

// BenchmarkDerive prices identities: each op derives 1,000 new nodes' keys (an Ed25519 key
// from its seed, its peer ID, the cache and reverse map entries). ns/node times a million is
// what deriving every node of a 1M-node run would cost; heap-bytes/node is what the cache keeps.
func BenchmarkDerive(b *testing.B) {
	const batch = 1000
	ids := NewIdentities(sim.NewStreams(1))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for j := range batch {
			if _, err := ids.Peer(int32(i*batch + j)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := float64(b.N * batch)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/node")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/node")
	runtime.KeepAlive(ids)
}
