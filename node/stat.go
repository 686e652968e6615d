package node

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/node/manifest"
	"github.com/cairn-storage/cairn/reputation"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Stat reports a file's layout and, for every shard, whether a holder still answers that it has
// it. It asks each holder once (in batches) for all the shards it is said to hold.
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
	meta, err := manifest.OpenMeta(cp.Key, m.Meta)
	if err != nil {
		return nil, coded(api.CodeBadCap, "the capability's key does not open this file's metadata: %v", err)
	}
	type ref struct{ seg, shard int }
	byHolder := map[peer.ID][]ref{}
	out := &api.StatResult{CID: cp.Manifest.String(), Name: meta.Name, Size: m.Size, K: m.K, N: m.N,
		SegmentSize: m.SegmentSize, Cipher: m.Cipher, Owner: m.Owner.String(), Partner: m.Partner, Retrievable: true}
	for _, s := range res.stewards {
		out.Stewards = append(out.Stewards, s.String())
	}
	if len(loc.Stewards) > 0 {
		for _, s := range loc.Stewards[len(loc.Stewards)-1].Members {
			out.StewardSet = append(out.StewardSet, s.String())
		}
	}
	for si, seg := range m.Segments {
		ss := api.SegmentStat{Index: si, Size: seg.Size, ShardSize: seg.ShardSize}
		for i, c := range seg.Shards {
			st := api.ShardStat{Index: i, CID: c.String()}
			hs := loc.Holders(si, i, m.N)
			for _, h := range hs {
				st.Holders = append(st.Holders, h.String())
				byHolder[h] = append(byHolder[h], ref{si, i})
			}
			if len(hs) > 0 {
				st.Holder = hs[0].String()
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
				case st.Answers:
					// another holder already answers for this shard
				case err != nil:
					st.Error = brief(err)
				case has[i]:
					st.Answers, st.Holder, st.Error = true, h.String(), ""
				default:
					st.Error = "holder does not have it"
				}
			}
		})
	}
	wg.Wait()
	out.FullHealth = true
	now := time.Now().Unix()
	for i := range out.Segments {
		s := &out.Segments[i]
		answering := 0
		for j := range s.Shards {
			sh := &s.Shards[j]
			if !sh.Answers {
				continue
			}
			answering++
			if h, err := peer.Decode(sh.Holder); err == nil {
				r, params, _ := n.scores.record(h)
				sh.Healthy = params.Status(r, now) != reputation.Disqualified
			}
			if sh.Healthy {
				s.Healthy++
			}
		}
		if answering < m.K {
			out.Retrievable = false
		}
		if s.Healthy < m.N {
			out.FullHealth = false
		}
	}
	out.LastRepair = lastRepair(m, loc)
	sort.Strings(out.Stewards)
	return out, nil
}

// lastRepair is the time of the newest receipt that a steward majority, not the owner, made
// count: a repair's or a handover's. It is read from the signed record, so every reader agrees.
func lastRepair(m *manifest.Manifest, loc *manifest.Locations) int64 {
	var t int64
	for _, e := range loc.Entries {
		owner := false
		for _, s := range e.Endorsements {
			if s.Signer == m.Owner {
				owner = true
				break
			}
		}
		if !owner {
			t = max(t, e.Receipt.Time)
		}
	}
	return t
}
