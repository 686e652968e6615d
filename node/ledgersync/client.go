package ledgersync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-storage/cairn/node/wire"
	"github.com/cairn-storage/cairn/payments"
)

// SyncWith runs one anti-entropy round with p: it pages through p's heads, and for every author
// p is ahead on fetches the missing entries in Seq order into the store. It waits while another
// round with p runs or maxRounds rounds run. A server that sends entries that do not chain or are
// invalid ends the round with ErrBadServer, and its gossipsub score takes an invalid delivery.
func (g *Gossip) SyncWith(ctx context.Context, p peer.ID) (SyncStats, error) {
	c := &syncClient{g: g, peer: p}
	if p == g.h.ID() {
		return c.stats, errors.New("ledgersync: cannot sync with self")
	}
	ctx, cancel := context.WithTimeout(ctx, roundTimeout)
	defer cancel()
	defer context.AfterFunc(g.ctx, cancel)() // Close ends the round
	end, err := g.sched.begin(ctx, p)
	if err != nil {
		return c.stats, err
	}
	defer end()

	octx, ocancel := context.WithTimeout(ctx, openTimeout)
	s, err := g.h.NewStream(octx, p, g.cfg.SyncProtocol)
	ocancel()
	if err != nil {
		return c.stats, fmt.Errorf("ledgersync: open sync stream to %s: %w", p.ShortString(), err)
	}
	defer context.AfterFunc(ctx, func() { _ = s.Reset() })()
	if err := s.Scope().SetService(serviceName); err != nil {
		_ = s.Reset()
		return c.stats, fmt.Errorf("ledgersync: resource manager: %w", err)
	}
	c.s = s
	err = c.run(ctx)
	if err != nil {
		_ = s.Reset()
	} else {
		_ = s.Close()
	}
	if errors.Is(err, ErrBadServer) {
		_ = g.ps.PeerFeedback(g.cfg.Topic, p, pubsub.PeerFeedbackInvalidMessage)
	}
	return c.stats, err
}

// syncClient is one round's state.
type syncClient struct {
	g     *Gossip
	peer  peer.ID
	s     network.Stream
	stats SyncStats
}

// pending is an author the server is ahead on: ask from next on, up to the server's target.
type pending struct {
	author       []byte
	next, target uint64
}

func badServer(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadServer, fmt.Sprintf(format, args...))
}

func (c *syncClient) run(ctx context.Context) error {
	own, err := c.g.st.Heads()
	if err != nil {
		return fmt.Errorf("ledgersync: own heads: %w", err)
	}
	mine := make(map[string]uint64, len(own))
	for _, h := range own {
		mine[string(h.Author)] = h.Seq
	}
	var after []byte
	for {
		page, more, err := c.heads(after)
		if err != nil {
			return err
		}
		var ahead []pending
		for _, h := range page {
			have := mine[string(h.Author)]
			if h.Seq <= have {
				continue
			}
			// From the Seq we hold, not the next: if the server holds another entry there, the
			// author forked, and the store turns the pair into a fork proof instead of refusing
			// everything after it as bad_chain.
			ahead = append(ahead, pending{author: h.Author, next: max(have, 1), target: h.Seq})
		}
		c.stats.Authors += len(ahead)
		if err := c.fetch(ctx, ahead); err != nil {
			return err
		}
		if !more {
			return nil
		}
		after = page[len(page)-1].Author
	}
}

// exchange sends req and reads the answer's header into resp, within requestTimeout.
func (c *syncClient) exchange(req *request, resp any, status func() wire.Status) error {
	_ = c.s.SetDeadline(time.Now().Add(requestTimeout))
	if err := wire.Write(c.s, req); err != nil {
		return fmt.Errorf("ledgersync: send %s request: %w", req.Op, err)
	}
	if err := wire.Read(c.s, resp); err != nil {
		return fmt.Errorf("ledgersync: read %s answer: %w", req.Op, err)
	}
	return status().Err()
}

// heads asks for a page of the server's heads after the author key after, and checks it.
func (c *syncClient) heads(after []byte) ([]headWire, bool, error) {
	var resp headsResp
	err := c.exchange(&request{Op: opHeads, After: after, Limit: MaxHeadsPage}, &resp, func() wire.Status { return resp.Status })
	if err != nil {
		return nil, false, err
	}
	if len(resp.Heads) > MaxHeadsPage || (len(resp.Heads) == 0 && resp.More) {
		return nil, false, badServer("heads page of %d, more %v", len(resp.Heads), resp.More)
	}
	prev := after
	for _, h := range resp.Heads {
		if len(h.Author) == 0 || len(h.Author) > maxAuthorLen || h.Seq == 0 || bytes.Compare(h.Author, prev) <= 0 {
			return nil, false, badServer("heads page out of order or malformed")
		}
		prev = h.Author
	}
	return resp.Heads, resp.More, nil
}

// fetch brings the entries of the authors in queue, maxWants authors and MaxRangeLimit entries
// per request, until each is caught up or the server has no more.
func (c *syncClient) fetch(ctx context.Context, queue []pending) error {
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := queue[:min(len(queue), maxWants)]
		rest := queue[len(batch):]
		counts, entries, err := c.ranges(batch)
		if err != nil {
			return err
		}
		if len(counts) == 0 {
			return nil // the server gives nothing more
		}
		next, err := c.store(batch[:len(counts)], counts, entries)
		if err != nil {
			return err
		}
		queue = append(append(append([]pending(nil), batch[len(counts):]...), next...), rest...)
	}
	return nil
}

// ranges asks for the entries of batch and reads them, checking every size and count before
// reading.
func (c *syncClient) ranges(batch []pending) ([]int, [][]byte, error) {
	req := &request{Op: opRange, Limit: MaxRangeLimit, Wants: make([]want, len(batch))}
	for i, p := range batch {
		req.Wants[i] = want{Author: p.author, From: p.next}
	}
	var resp rangeResp
	if err := c.exchange(req, &resp, func() wire.Status { return resp.Status }); err != nil {
		return nil, nil, err
	}
	if len(resp.Counts) > len(batch) {
		return nil, nil, badServer("answers %d wants of %d", len(resp.Counts), len(batch))
	}
	n := 0
	for _, k := range resp.Counts {
		if k < 0 || k > MaxRangeLimit {
			return nil, nil, badServer("count %d", k)
		}
		n += k
	}
	if n != len(resp.Sizes) || n > MaxRangeLimit {
		return nil, nil, badServer("%d entries counted, %d sized", n, len(resp.Sizes))
	}
	total := 0
	for _, sz := range resp.Sizes {
		if sz <= 0 || sz > payments.MaxForkProofSize {
			return nil, nil, badServer("entry of %d bytes", sz)
		}
		total += sz
	}
	if total > maxRangeBytes {
		return nil, nil, badServer("answer of %d bytes exceeds %d", total, maxRangeBytes)
	}
	if err := c.s.Scope().ReserveMemory(total, network.ReservationPriorityAlways); err != nil {
		return nil, nil, fmt.Errorf("ledgersync: resource manager: %w", err)
	}
	defer c.s.Scope().ReleaseMemory(total)
	buf := make([]byte, total)
	if _, err := io.ReadFull(c.s, buf); err != nil {
		return nil, nil, fmt.Errorf("ledgersync: read entries: %w", err)
	}
	entries := make([][]byte, n)
	for i, sz := range resp.Sizes {
		entries[i], buf = buf[:sz:sz], buf[sz:]
	}
	return resp.Counts, entries, nil
}

// store checks that the entries answer the wants (author, Seq in order from the one asked),
// adds them to the store in one batch, and returns the wants still behind their target.
func (c *syncClient) store(wants []pending, counts []int, entries [][]byte) ([]pending, error) {
	i := 0
	for w, k := range counts {
		for j := range k {
			e, err := payments.Decode(entries[i])
			i++
			if err == nil && (!bytes.Equal(e.Author, wants[w].author) || e.Seq != wants[w].next+uint64(j)) {
				err = fmt.Errorf("entry is seq %d of another chain or position, asked seq %d", e.Seq, wants[w].next+uint64(j))
			}
			if err != nil {
				c.stats.Fetched += len(entries)
				c.stats.Rejected += len(entries)
				return nil, badServer("%v", err)
			}
		}
	}
	c.stats.Fetched += len(entries)
	if len(entries) == 0 {
		return nil, nil
	}
	errs := c.g.st.Add(entries)
	if len(errs) != len(entries) {
		return nil, fmt.Errorf("ledgersync: store answered %d results for %d entries", len(errs), len(entries))
	}
	var next []pending
	var bad error
	i = 0
	for w, k := range counts {
		stopped := false
		for range k {
			err := errs[i]
			i++
			r := payments.ReasonOf(err)
			switch {
			case err == nil:
				c.stats.Accepted++
				c.g.synced.add(entries[i-1])
			case r == payments.ReasonDuplicate:
			default:
				c.stats.Rejected++
				if !stopped && invalidInItself(r) && bad == nil {
					bad = err
				}
				// The rest of this author's batch follows a refused entry: out of order.
				stopped = true
			}
		}
		p := wants[w]
		if k == 0 || stopped {
			continue // the server has no more of it, or we cannot take more of it now
		}
		if p.next += uint64(k); p.next <= p.target {
			next = append(next, p)
		}
	}
	if bad != nil {
		return nil, badServer("%v", bad)
	}
	return next, nil
}
