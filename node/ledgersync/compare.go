package ledgersync

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
)

// HeadDiff is one author whose frontier differs between this store and a peer's.
type HeadDiff struct {
	Author       []byte
	Ours, Theirs uint64 // 0: that side holds none of the author's entries
}

// maxCompareAuthors bounds a comparison's answer.
const maxCompareAuthors = 1 << 16

// CompareHeads pages through p's heads and returns the authors on which p and this store
// differ, sorted by author (at most maxCompareAuthors): the entries behind a disagreement.
func (g *Gossip) CompareHeads(ctx context.Context, p peer.ID) ([]HeadDiff, error) {
	ctx, cancel := context.WithTimeout(ctx, roundTimeout)
	defer cancel()
	octx, ocancel := context.WithTimeout(ctx, openTimeout)
	s, err := g.h.NewStream(octx, p, g.cfg.SyncProtocol)
	ocancel()
	if err != nil {
		return nil, fmt.Errorf("ledgersync: open sync stream to %s: %w", p.ShortString(), err)
	}
	defer s.Reset()
	defer context.AfterFunc(ctx, func() { _ = s.Reset() })()
	if err := s.Scope().SetService(serviceName); err != nil {
		return nil, fmt.Errorf("ledgersync: resource manager: %w", err)
	}
	own, err := g.st.Heads()
	if err != nil {
		return nil, fmt.Errorf("ledgersync: own heads: %w", err)
	}
	mine := make(map[string]uint64, len(own))
	for _, h := range own {
		mine[string(h.Author)] = h.Seq
	}
	c := &syncClient{g: g, peer: p, s: s}
	var out []HeadDiff
	var after []byte
	for len(out) < maxCompareAuthors {
		page, more, err := c.heads(after)
		if err != nil {
			return nil, err
		}
		for _, h := range page {
			if ours := mine[string(h.Author)]; ours != h.Seq {
				out = append(out, HeadDiff{Author: bytes.Clone(h.Author), Ours: ours, Theirs: h.Seq})
			}
			delete(mine, string(h.Author))
		}
		if !more {
			for a, seq := range mine { // authors p holds nothing of
				if len(out) >= maxCompareAuthors {
					break
				}
				out = append(out, HeadDiff{Author: []byte(a), Ours: seq})
			}
			break
		}
		after = page[len(page)-1].Author
	}
	slices.SortFunc(out, func(a, b HeadDiff) int { return bytes.Compare(a.Author, b.Author) })
	return out, nil
}
