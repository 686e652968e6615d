package payments

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// benchWorld builds n entries of one epoch: half storage attestations (a third of them a second
// steward's view of a (holder, shard) already attested), half download receipts, over 1000
// owners, 1000 operators (each with a price) and 10 partners.
func benchWorld(n int) []Entry {
	const owners, operators, partners = 1000, 1000, 10
	p := benchParams()
	start, end, _ := p.Epoch.Bounds(1)
	entries := make([]Entry, 0, n+operators+partners)
	for i := range operators {
		entries = append(entries, testEntry(testPeer(i), 1, start-10, Price{FromEpoch: 1, StorageGiBMonth: Amount(1000 + i), EgressGiB: Amount(5000 + i)}))
	}
	for i := range partners {
		entries = append(entries, testEntry(testPeer(5000+i), 1, start-10, Partner{ID: "partner-" + string(rune('a'+i)), Payout: testPeer(6000 + i), ShareBPS: uint32(100 * (i + 1))}))
	}
	tag := func(i int) string {
		if i%3 == 0 {
			return ""
		}
		return "partner-" + string(rune('a'+i%partners))
	}
	span := end - start
	for i := 0; len(entries) < cap(entries); i++ {
		owner, op := 2000+i%owners, (i*7)%operators
		if i%2 == 0 {
			shard := i / 2
			steward := 3000 + i%50
			shift := int64(0)
			if shard%3 == 2 { // a second steward re-attests the previous shard, shifted
				shard--
				steward++
				shift = span / 10
			}
			from := start - span/4 + int64(shard%97)*span/100 + shift
			st := Storage{Holder: testPeer((shard * 7) % operators), Manifest: []byte("manifest"), Shard: testShard(shard), Owner: testPeer(2000 + shard%owners),
				Partner: tag(shard), Bytes: int64(1<<20 + shard%4096*1024), From: from, To: from + span/2, Audits: 3}
			entries = append(entries, testEntry(testPeer(steward), uint64(i), st.To, st))
			continue
		}
		d := Download{Server: testPeer(op), Manifest: []byte("manifest"), Shard: testShard(i), Owner: testPeer(owner), Partner: tag(i),
			Bytes: int64(1<<20 + i%1000), ShardSize: 1 << 22, Nonce: testNonce(i), ServerSig: make([]byte, 64), Downloader: testPeer(4000 + i%500)}
		entries = append(entries, testEntry(testPeer(4000+i%500), uint64(i), start+int64(i)%span, d))
	}
	return entries
}

func benchParams() SettleParams {
	return SettleParams{Epoch: EpochParams{Genesis: 1_700_000_000, Length: 86400}, FeeBPS: 250, DefaultPrice: Price{StorageGiBMonth: 1000, EgressGiB: 5000}}
}

var (
	benchOnce    sync.Once
	benchMillion []Entry
	inputMB      float64 // heap the million entries occupy
)

func loadMillion() {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	benchMillion = benchWorld(1_000_000)
	runtime.GC()
	runtime.ReadMemStats(&after)
	inputMB = float64(after.HeapAlloc-before.HeapAlloc) / 1e6
}

func BenchmarkSettleMillion(b *testing.B) {
	benchOnce.Do(loadMillion)
	benchSettle(b, benchMillion)
	b.ReportMetric(inputMB, "input-MB")
}

// BenchmarkSettleTenth settles a tenth as many entries, to show how time and memory scale.
func BenchmarkSettleTenth(b *testing.B) {
	benchOnce.Do(loadMillion)
	benchSettle(b, benchMillion[:100_000])
}

// benchSettle reports, besides time and -benchmem's allocations (an upper bound of the memory
// Settle needs beyond its input), the peak growth of heap objects during one more call started
// right after a collection (sampled every millisecond through runtime/metrics, which does not
// stop the world), in MB.
func benchSettle(b *testing.B, entries []Entry) {
	p := benchParams()
	b.ReportAllocs()
	b.ResetTimer()
	var st *Settlement
	for b.Loop() {
		var err error
		if st, err = Settle(1, entries, p); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := checkConservation(st, 1<<20); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(peakHeapMB(func() { _, _ = Settle(1, entries, p) }), "peak-heap-MB")
	b.ReportMetric(float64(len(st.Charges)), "charges")
	b.ReportMetric(float64(len(st.Payouts)), "payouts")
}

// peakHeapMB runs f after a collection and returns the largest growth of heap objects seen.
func peakHeapMB(f func()) float64 {
	const name = "/memory/classes/heap/objects:bytes"
	runtime.GC()
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	base, peak := s[0].Value.Uint64(), s[0].Value.Uint64()
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		s := []metrics.Sample{{Name: name}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				metrics.Read(s)
				peak = max(peak, s[0].Value.Uint64())
			}
		}
	}()
	f()
	close(done)
	<-stopped
	return float64(peak-base) / 1e6
}
