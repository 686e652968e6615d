package transfer

import (
	"context"
	"fmt"
	"testing"

	"github.com/cairn-storage/cairn/node/audit"
	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// BenchmarkAuditOverLoopback audits 16 stored 4 MiB shards, 2 ranges each, over libp2p on
// loopback: the challenger's whole round trip, holder included. The per-shard figures are the
// ones the README quotes; cpu-ns/shard is both ends' CPU (this process's user + system time,
// setup excluded), TLS and yamux included.
func BenchmarkAuditOverLoopback(b *testing.B) {
	const shards, size = 16, 4 << 20
	hosts := make([]host.Host, 2)
	for i := range hosts {
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { h.Close() })
		hosts[i] = h
	}
	srv, cl := hosts[0], hosts[1]
	st, err := store.Open(b.TempDir(), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	NewAuditor(srv, st, nil)
	NewServer(srv, st, NewStewardship(st, nil), nil, "bench", nil)
	if err := cl.Connect(context.Background(), peer.AddrInfo{ID: srv.ID(), Addrs: srv.Addrs()}); err != nil {
		b.Fatal(err)
	}
	c := NewClient(cl, nil, nil)
	items := make([]AuditItem, shards)
	for i := range items {
		data := auditData(fmt.Sprint("bench ", i), size)
		items[i] = AuditItem{Shard: shardCID(data), Size: size}
		if err := c.PutShard(b.Context(), srv.ID(), items[i].Shard, data, [32]byte{}); err != nil {
			b.Fatal(err)
		}
	}
	// What crosses the wire: both framed headers and the proofs.
	req, err := newAuditRequest(auditNonce, audit.DefaultRangesPerShard, items)
	if err != nil {
		b.Fatal(err)
	}
	reqHdr, _ := wire.Marshal(req.header())
	respHdr, _ := wire.Marshal(auditResp{Status: Status{OK: true}, Has: make([]bool, shards)})
	_, proofs := req.proofSizes()
	wireBytes := 4 + len(reqHdr) + 4 + len(respHdr) + proofs

	n := 0
	cpu := processCPU()
	for b.Loop() {
		nonce := auditNonce
		nonce[0], nonce[1] = byte(n), byte(n>>8)
		n++
		got, err := c.Audit(b.Context(), srv.ID(), nonce, audit.DefaultRangesPerShard, items)
		if err != nil {
			b.Fatal(err)
		}
		for i, v := range got {
			if v != AuditPassed {
				b.Fatalf("shard %d: %v", i, v)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n)/shards, "ns/shard")
	b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(n)/shards, "cpu-ns/shard")
	b.ReportMetric(float64(wireBytes)/shards, "wire-bytes/shard")
}
