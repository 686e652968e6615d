package node_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node"
	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/testnet"
)

// BenchmarkRepair measures what repair reads per shard it rebuilds. A 16 MiB file (16 segments of
// 1 MiB, 4-of-8) loses three holders of segment 0 (they hold shards of other
// segments too); the stewards rebuild every segment that fell below the threshold. Plain
// Reed–Solomon repair reads k shards per rebuilt shard; Cairn reads k per segment and rebuilds
// all of its missing shards from them. Segments still at or above the threshold (6 of 8) are
// left alone, as in Storj: repairing one lost shard would cost k reads for one write. Run once: go test ./node -run '^$' -bench Repair -benchtime 1x
func BenchmarkRepair(b *testing.B) {
	net := testnet.Start(b, 12, func(_ int, c *config.Config) { config.Fast(c) })
	up := net.Nodes[0]
	data := randomBytes(16<<20, 77)
	ctx := context.Background()
	res, err := up.Put(ctx, bytes.NewReader(data), int64(len(data)), api.PutOptions{K: 4, N: 8})
	if err != nil {
		b.Fatal(err)
	}
	st, err := up.Stat(ctx, res.Cap)
	if err != nil {
		b.Fatal(err)
	}
	// Three holders of segment 0, not the uploader, a majority of the steward set surviving.
	var hs []string
	for _, s := range st.Segments[0].Shards {
		hs = append(hs, s.Holder)
	}
	set := slices.DeleteFunc(slices.Clone(st.StewardSet), func(s string) bool { return s == up.Host().ID().String() })
	dead, ok := pickVictims(hs, up.Host().ID().String(), set, 3)
	if !ok {
		b.Skipf("only %d holders of segment 0 may be killed", len(dead))
	}
	b.ResetTimer()
	start := time.Now()
	for _, id := range dead {
		_, nd := nodeByID(net, id)
		nd.Close()
	}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("segments still below the repair threshold after 3 minutes")
		}
		if s, err := up.Stat(ctx, res.Cap); err == nil && s.LastRepair > 0 && aboveThreshold(s, 6) {
			break
		}
	}
	b.StopTimer()
	var sum node.RepairStats
	for _, nd := range net.Nodes {
		if slices.Contains(dead, nd.Host().ID().String()) {
			continue
		}
		s := nd.RepairStats()
		sum.ShardsRead += s.ShardsRead
		sum.BytesRead += s.BytesRead
		sum.ShardsRebuilt += s.ShardsRebuilt
		sum.BytesWritten += s.BytesWritten
	}
	if sum.ShardsRebuilt == 0 {
		b.Fatal("nothing was rebuilt")
	}
	shard := float64(st.Segments[0].ShardSize)
	perShard := float64(sum.BytesRead) / float64(sum.ShardsRebuilt)
	b.ReportMetric(float64(sum.ShardsRebuilt), "shards-rebuilt")
	b.ReportMetric(perShard, "read-B/rebuilt-shard")
	b.ReportMetric(perShard/shard, "read-shards/rebuilt-shard")
	b.ReportMetric(perShard/(4*shard), "vs-plain-RS")
	b.ReportMetric(time.Since(start).Seconds(), "s-to-repaired")
}

// aboveThreshold reports whether every segment has at least t healthy shards.
func aboveThreshold(s *api.StatResult, t int) bool {
	for _, seg := range s.Segments {
		if seg.Healthy < t {
			return false
		}
	}
	return true
}
