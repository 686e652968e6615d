package node

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Stat reports a file's layout and, for every shard, whether its holder still answers that it
// has it. It asks each holder once for all the shards it holds.
func (n *Node) Stat(ctx context.Context, capStr string) (*api.StatResult, error) {
	cp, err := parseCap(capStr)
	if err != nil {
		return nil, err
	}
	res, err := n.resolve(ctx, cp.Manifest, true)
	if err != nil {
		return nil, err
	}
	m, loc := res.m, res.loc
	type ref struct{ seg, shard int }
	byHolder := map[peer.ID][]ref{}
	out := &api.StatResult{CID: cp.Manifest.String(), Name: m.Name, Size: m.Size, K: m.K, N: m.N,
		SegmentSize: m.SegmentSize, Cipher: m.Cipher, Retrievable: true}
	for _, s := range res.stewards {
		out.Stewards = append(out.Stewards, s.String())
	}
	for si, seg := range m.Segments {
		ss := api.SegmentStat{Index: si, Size: seg.Size, ShardSize: seg.ShardSize}
		for i, c := range seg.Shards {
			st := api.ShardStat{Index: i, CID: c.String()}
			if h, ok := loc.Holder(si, i); ok {
				st.Holder = h.String()
				byHolder[h] = append(byHolder[h], ref{si, i})
			} else {
				st.Error = "no known holder"
			}
			ss.Shards = append(ss.Shards, st)
		}
		out.Segments = append(out.Segments, ss)
	}

	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for h, refs := range byHolder {
		wg.Go(func() {
			cids := make([]cid.Cid, len(refs))
			for i, r := range refs {
				cids[i] = m.Segments[r.seg].Shards[r.shard]
			}
			hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			has, err := n.xfer.HasShards(hctx, h, cids)
			cancel()
			mu.Lock()
			defer mu.Unlock()
			for i, r := range refs {
				st := &out.Segments[r.seg].Shards[r.shard]
				switch {
				case err != nil:
					st.Error = brief(err)
				case has[i]:
					st.Answers = true
				default:
					st.Error = "holder does not have it"
				}
			}
		})
	}
	wg.Wait()
	for i := range out.Segments {
		s := &out.Segments[i]
		for _, sh := range s.Shards {
			if sh.Answers {
				s.Healthy++
			}
		}
		if s.Healthy < m.K {
			out.Retrievable = false
		}
	}
	sort.Strings(out.Stewards)
	return out, nil
}
