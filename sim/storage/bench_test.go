package storage

import (
	"runtime"
	"testing"

	"github.com/cairn-storage/cairn/sim"
)

// BenchmarkPlace places 1,048,576 shards (131,072 4-of-8 segments, 8 per
// file, 128 candidates a put) over 10,000 nodes with reputation.Place and
// reports segments/s and the heap the Store and its Tracker keep per shard.
//
//	go test ./sim/storage -run '^$' -bench Place -benchtime 1x
func BenchmarkPlace(b *testing.B) {
	const nodes, shards = 10000, 1 << 20
	l := Layout{Files: shards / 8 / 8, SegmentsPerFile: 8, K: 4, N: 8, ShardSize: 4 << 20}
	var storeBytes, trackerBytes float64
	for b.Loop() {
		ns, err := NewNodes(DefaultNodeConfig(nodes), sim.NewStreams(1))
		if err != nil {
			b.Fatal(err)
		}
		h0 := heap()
		st, err := Place(ns, l, sim.NewStreams(1))
		if err != nil {
			b.Fatal(err)
		}
		h1 := heap()
		tr, err := NewTracker(st, nodes)
		if err != nil {
			b.Fatal(err)
		}
		h2 := heap()
		runtime.KeepAlive(st)
		runtime.KeepAlive(tr)
		runtime.KeepAlive(ns)
		storeBytes, trackerBytes = float64(h1-h0)/shards, float64(h2-h1)/shards
	}
	segs := float64(l.Segments()) * float64(b.N)
	b.ReportMetric(segs/b.Elapsed().Seconds(), "segments/s")
	b.ReportMetric(storeBytes, "store-B/shard")
	b.ReportMetric(trackerBytes, "tracker-B/shard")
}

func heap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
