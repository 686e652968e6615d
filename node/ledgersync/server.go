package ledgersync

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/cairn-storage/cairn/node/wire"
	"github.com/cairn-storage/cairn/payments"
)

// headCost estimates what one cached Head holds in memory besides its author bytes (slice
// header, Seq, allocator slack), for the stream's memory reservation.
const headCost = 48

// maxPageBytes keeps a heads page inside one wire header, whatever the authors' lengths.
const maxPageBytes = wire.MaxHeader - 1024

// errEndStream ends a session after an answer that says why (a bad request, a failure here):
// the stream is closed, not reset, so the client reads the answer.
var errEndStream = errors.New("ledgersync: session ended")

// session is one sync stream as the server sees it.
type session struct {
	s     network.Stream
	heads []Head // Store.Heads, taken at the first heads request: one snapshot per round
	held  int    // bytes reserved in the stream's scope
}

func (ss *session) reserve(n int) error {
	if err := ss.s.Scope().ReserveMemory(n, network.ReservationPriorityAlways); err != nil {
		return err
	}
	ss.held += n
	return nil
}

func (ss *session) release(n int) {
	ss.s.Scope().ReleaseMemory(n)
	ss.held -= n
}

// serve answers one sync stream: up to maxRequests requests, each read and answered within
// requestTimeout.
func (g *Gossip) serve(s network.Stream) {
	remote := s.Conn().RemotePeer()
	if err := s.Scope().SetService(serviceName); err != nil {
		g.log.Debug("ledger sync refused by the resource manager", "peer", remote, "err", err)
		_ = s.Reset()
		return
	}
	if g.graylisted(remote) {
		_ = s.Reset()
		return
	}
	ss := &session{s: s}
	defer func() {
		if ss.held > 0 {
			ss.release(ss.held)
		}
	}()
	for range maxRequests {
		_ = s.SetDeadline(time.Now().Add(requestTimeout))
		var req request
		err := wire.Read(s, &req)
		if errors.Is(err, io.EOF) {
			_ = s.Close() // the client is done
			return
		}
		if err == nil {
			err = g.answer(ss, &req)
		}
		if errors.Is(err, errEndStream) {
			_ = s.Close()
			return
		}
		if err != nil {
			g.log.Debug("ledger sync stream failed", "peer", remote, "err", err)
			_ = s.Reset()
			return
		}
	}
	_ = s.Reset() // maxRequests used up: the client starts a new round later
}

// answer handles one request.
func (g *Gossip) answer(ss *session, req *request) error {
	switch req.Op {
	case opHeads:
		return g.answerHeads(ss, req)
	case opRange:
		return g.answerRange(ss, req)
	}
	return refuse(ss.s, wire.CodeBadInput, fmt.Errorf("unknown op %q", req.Op))
}

// refuse answers with a failed status and ends the session. A bare Status decodes as either
// response type, whose other fields are optional.
func refuse(s network.Stream, code string, err error) error {
	if werr := wire.Write(s, wire.Fail(code, err)); werr != nil {
		return werr
	}
	return errEndStream
}

func clampLimit(limit, most int) int {
	if limit <= 0 || limit > most {
		return most
	}
	return limit
}

func (g *Gossip) answerHeads(ss *session, req *request) error {
	if len(req.After) > maxAuthorLen || len(req.Wants) != 0 {
		return refuse(ss.s, wire.CodeBadInput, errors.New("malformed heads request"))
	}
	if ss.heads == nil {
		heads, err := g.st.Heads()
		if err != nil {
			g.log.Warn("ledger heads failed", "err", err)
			return refuse(ss.s, wire.CodeInternal, errors.New("heads unavailable"))
		}
		cost := 0
		for _, h := range heads {
			cost += len(h.Author) + headCost
		}
		if err := ss.reserve(cost); err != nil {
			return refuse(ss.s, wire.CodeBusy, fmt.Errorf("resource manager: %v", err))
		}
		cmp := func(a, b Head) int { return bytes.Compare(a.Author, b.Author) }
		if !slices.IsSortedFunc(heads, cmp) {
			heads = slices.Clone(heads)
			slices.SortFunc(heads, cmp)
		}
		if heads == nil {
			heads = []Head{}
		}
		ss.heads = heads
	}
	limit := clampLimit(req.Limit, MaxHeadsPage)
	i := sort.Search(len(ss.heads), func(i int) bool { return bytes.Compare(ss.heads[i].Author, req.After) > 0 })
	resp := headsResp{Status: wire.Status{OK: true}}
	size := 0
	for ; i < len(ss.heads) && len(resp.Heads) < limit; i++ {
		h := ss.heads[i]
		if size += len(h.Author) + 16; size > maxPageBytes {
			break
		}
		resp.Heads = append(resp.Heads, headWire{Author: h.Author, Seq: h.Seq})
	}
	resp.More = i < len(ss.heads)
	return wire.Write(ss.s, resp)
}

func (g *Gossip) answerRange(ss *session, req *request) error {
	if len(req.Wants) == 0 || len(req.Wants) > maxWants || len(req.After) != 0 {
		return refuse(ss.s, wire.CodeBadInput, fmt.Errorf("range request with %d wants, want 1..%d", len(req.Wants), maxWants))
	}
	for _, w := range req.Wants {
		if len(w.Author) == 0 || len(w.Author) > maxAuthorLen || w.From == 0 {
			return refuse(ss.s, wire.CodeBadInput, errors.New("malformed want"))
		}
	}
	limit := clampLimit(req.Limit, MaxRangeLimit)
	resp := rangeResp{Status: wire.Status{OK: true}}
	var entries [][]byte
	total := 0
	full := false
	for _, w := range req.Wants {
		left := limit - len(entries)
		if left == 0 || full {
			break
		}
		got, err := g.st.Range(w.Author, w.From, left)
		if err != nil {
			g.log.Warn("ledger range failed", "err", err)
			return refuse(ss.s, wire.CodeInternal, errors.New("range unavailable"))
		}
		n := 0
		for _, b := range got[:min(len(got), left)] {
			if len(b) == 0 || len(b) > payments.MaxForkProofSize {
				break // cannot be ours; never send what the client must refuse
			}
			if total+len(b) > maxRangeBytes && len(entries) > 0 {
				full = true
				break
			}
			total += len(b)
			entries = append(entries, b)
			resp.Sizes = append(resp.Sizes, len(b))
			n++
		}
		if n == 0 && full {
			break // not reached: the client asks again
		}
		resp.Counts = append(resp.Counts, n)
	}
	if err := ss.reserve(total); err != nil {
		return refuse(ss.s, wire.CodeBusy, fmt.Errorf("resource manager: %v", err))
	}
	defer ss.release(total)
	if err := wire.Write(ss.s, resp); err != nil {
		return err
	}
	for _, b := range entries {
		if _, err := ss.s.Write(b); err != nil {
			return err
		}
	}
	return nil
}
