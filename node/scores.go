package node

import (
	"cmp"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/reputation"
	"github.com/libp2p/go-libp2p/core/peer"
)

// scoresFile keeps this node's reputation book across restarts.
const scoresFile = "reputation.cbor"

// scores is this node's reputation book of its peers, fed by its own audits and transfers
// (reputation.Book), saved to the repo by a chore and on Close.
type scores struct {
	mu    sync.Mutex
	book  *reputation.Book
	path  string
	dirty bool
	now   func() time.Time
}

// openScores loads the book from the repo; a missing file starts empty, a damaged one is set
// aside (scores are evidence, but never a reason not to start).
func openScores(repoPath string) (*scores, error) {
	s := &scores{path: filepath.Join(repoPath, scoresFile), now: time.Now}
	p := reputation.DefaultParams()
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.book = reputation.NewBook(p)
	case err != nil:
		return nil, err
	default:
		if s.book, err = reputation.DecodeBook(p, b); err != nil {
			_ = os.Rename(s.path, s.path+".damaged")
			s.book = reputation.NewBook(p)
		}
	}
	return s, nil
}

// observe records one of this node's own observations of p.
func (s *scores) observe(p peer.ID, o reputation.Outcome, throughput int64) {
	if p == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.book.Apply(reputation.Observation{Peer: reputation.NodeID(p), Outcome: o, Time: s.now().Unix(), Throughput: throughput})
	s.dirty = true
}

// record returns p's record and the book's parameters; known is false for a peer never observed.
func (s *scores) record(p peer.ID) (r reputation.Record, params reputation.Params, known bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, known = s.book.Get(reputation.NodeID(p))
	return r, s.book.Params(), known
}

// placement fills the reputation fields of a placement candidate.
func (s *scores) placement(c *reputation.Candidate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*c = s.book.Candidate(c.ID, c.Subnet, c.Free, s.now().Unix())
}

// eligible reports whether p may hold data: not disqualified, not suspended.
func (s *scores) eligible(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.book.Eligible(reputation.NodeID(p), s.now().Unix())
}

// peers lists every peer in the book.
func (s *scores) peers() []peer.ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.book.Peers()
	out := make([]peer.ID, len(ids))
	for i, id := range ids {
		out[i] = peer.ID(id)
	}
	return out
}

// save writes the book if it changed since the last save.
func (s *scores) save() error {
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	b, err := s.book.Encode()
	s.dirty = false
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := config.WriteFileAtomic(s.path, b, 0o600); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return err
	}
	return nil
}

// byReputation orders holders best first by this node's placement rank (stable, so equals keep
// the record's order): a reader tries liars and refusers last.
func (n *Node) byReputation(hs []peer.ID) []peer.ID {
	if len(hs) < 2 {
		return hs
	}
	rank := make(map[peer.ID]float64, len(hs))
	for _, h := range hs {
		c := reputation.Candidate{ID: reputation.NodeID(h)}
		n.scores.placement(&c)
		rank[h] = c.Score
	}
	slices.SortStableFunc(hs, func(a, b peer.ID) int { return cmp.Compare(rank[b], rank[a]) })
	return hs
}
