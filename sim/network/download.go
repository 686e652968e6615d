package network

import (
	"fmt"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
)

// Served is one shard a download fetched: who served it and how many bytes.
type Served struct {
	Node  int32 // the holder that served it
	Shard int32 // global shard index: segment·N + position
	Bytes int64
}

// Download fetches file f for downloader at virtual time at (the engine's now), as node.Get
// does: per segment, shards in index order (the K data shards first, then parity) from the
// first listed holder of each that is up and still has every byte, until K are in hand. It
// appends the shards served to dst and returns it, or ErrUnavailable (with dst unchanged) if
// some segment cannot gather K. Whether downloader is up is the caller's business (a
// workload picks live downloaders); it serves nothing to itself differently.
func (n *Network) Download(at sim.Time, downloader int32, f int, dst []Served) ([]Served, error) {
	switch {
	case at != n.now():
		return dst, fmt.Errorf("network: download at %v, but the engine is at %v", at, n.now())
	case downloader < 0 || int(downloader) >= n.Len():
		return dst, fmt.Errorf("network: downloader %d out of range", downloader)
	case f < 0 || f >= len(n.fKey):
		return dst, fmt.Errorf("network: file %d out of range (%d files)", f, len(n.fKey))
	}
	n.total.Downloads++
	n.interval.Downloads++
	start := len(dst)
	N := int32(n.cfg.N)
	for g := n.fSeg[f]; g < n.fSeg[f]+n.fSegs[f]; g++ {
		size := n.segShardSize(g)
		got := 0
		for s := g * N; s < (g+1)*N && got < n.cfg.K; s++ {
			for c := n.shFirst[s]; c >= 0; c = n.cNextS[c] {
				if h := n.cHolder[c]; n.state[h] == churn.Up && n.cFlags[c]&flagPresent != 0 {
					dst = append(dst, Served{Node: h, Shard: s, Bytes: size})
					got++
					break
				}
			}
		}
		if got < n.cfg.K {
			n.total.DownloadsFailed++
			n.interval.DownloadsFailed++
			return dst[:start], ErrUnavailable
		}
	}
	return dst, nil
}
