package transfer

import (
	"container/list"
	"slices"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Bounds on what a server remembers of the shards it served, for countersigning download
// receipts: a downloader asks within seconds of its get, so an hour is ample, and a record
// costs about 150 bytes, so the whole book stays under 10 MiB.
const (
	MaxServedPerPeer = 4096
	MaxServed        = 64 << 10
	ServedTTL        = time.Hour
)

// Served is a bounded book of whole shards this node sent to each peer: what a download
// receipt may claim. Each record backs one countersignature (Take removes it), so a replayed
// request finds nothing. The oldest records go first, per peer and overall; records expire
// after a TTL. Safe for concurrent use.
type Served struct {
	perPeer, total int
	ttl            time.Duration
	now            func() time.Time

	mu    sync.Mutex
	order *list.List // of *servedRecord, oldest first (records are added in time order)
	peers map[peer.ID]*servedPeer
}

type servedRecord struct {
	peer  peer.ID
	shard string // binary CID
	size  int64
	at    time.Time
	all   *list.Element // in Served.order
	mine  *list.Element // in servedPeer.order
}

type servedPeer struct {
	order   *list.List // of *servedRecord, oldest first
	byShard map[string][]*servedRecord
}

// NewServed returns an empty book with the default bounds.
func NewServed() *Served { return newServed(MaxServedPerPeer, MaxServed, ServedTTL, time.Now) }

func newServed(perPeer, total int, ttl time.Duration, now func() time.Time) *Served {
	return &Served{perPeer: perPeer, total: total, ttl: ttl, now: now,
		order: list.New(), peers: map[peer.ID]*servedPeer{}}
}

// Record notes that the whole of shard (size bytes) was sent to p.
func (s *Served) Record(p peer.ID, shard cid.Cid, size int64) {
	if s == nil || size <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	if sp := s.peers[p]; sp != nil && sp.order.Len() >= s.perPeer {
		s.remove(sp.order.Front().Value.(*servedRecord))
	}
	if s.order.Len() >= s.total {
		s.remove(s.order.Front().Value.(*servedRecord))
	}
	sp := s.peers[p]
	if sp == nil {
		sp = &servedPeer{order: list.New(), byShard: map[string][]*servedRecord{}}
		s.peers[p] = sp
	}
	r := &servedRecord{peer: p, shard: string(shard.Bytes()), size: size, at: now}
	r.all = s.order.PushBack(r)
	r.mine = sp.order.PushBack(r)
	sp.byShard[r.shard] = append(sp.byShard[r.shard], r)
}

// Take consumes the oldest record of shard served whole to p at size bytes, if there is one,
// and reports whether it found one.
func (s *Served) Take(p peer.ID, shard cid.Cid, size int64) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(s.now())
	sp := s.peers[p]
	if sp == nil {
		return false
	}
	for _, r := range sp.byShard[string(shard.Bytes())] {
		if r.size == size {
			s.remove(r)
			return true
		}
	}
	return false
}

// Len is the number of records held.
func (s *Served) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.order.Len()
}

// expire drops records older than the TTL; s.mu is held.
func (s *Served) expire(now time.Time) {
	for e := s.order.Front(); e != nil; e = s.order.Front() {
		r := e.Value.(*servedRecord)
		if now.Sub(r.at) < s.ttl {
			return
		}
		s.remove(r)
	}
}

// remove unlinks r everywhere; s.mu is held.
func (s *Served) remove(r *servedRecord) {
	s.order.Remove(r.all)
	sp := s.peers[r.peer]
	sp.order.Remove(r.mine)
	rs := sp.byShard[r.shard]
	if i := slices.Index(rs, r); i >= 0 {
		rs = slices.Delete(rs, i, i+1)
	}
	if len(rs) == 0 {
		delete(sp.byShard, r.shard)
	} else {
		sp.byShard[r.shard] = rs
	}
	if sp.order.Len() == 0 {
		delete(s.peers, r.peer)
	}
}
