package ledgersync

import (
	"sync"
	"time"

	"lukechampine.com/blake3"
)

// Entries a sync round brings in are not gossiped by this node, and when their gossip messages
// reach it afterwards the store calls them duplicates, which the validator ignores: not
// forwarded. The hosts behind this one, which may lack them just as it did, would then wait
// for their own sync. So a sync round notes what it stored, and the first gossip copy of each
// within recentTTL is accepted and forwarded. Plain duplicates stay ignored: replaying old
// entries must not make the network flood them again.
const (
	recentTTL = 2 * time.Minute // pubsub's seen-messages TTL: later copies are new messages
	maxRecent = 8192
)

// recentSet holds entry IDs for recentTTL, at most maxRecent at once.
type recentSet struct {
	mu sync.Mutex
	m  map[[32]byte]time.Time
}

func entryKey(b []byte) [32]byte { return blake3.Sum256(b) }

func (s *recentSet) add(b []byte) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[[32]byte]time.Time)
	}
	if len(s.m) >= maxRecent {
		for k, t := range s.m {
			if now.Sub(t) > recentTTL {
				delete(s.m, k)
			}
		}
		if len(s.m) >= maxRecent {
			return // the periodic round covers the hosts behind us
		}
	}
	s.m[entryKey(b)] = now
}

// take reports whether b was added within recentTTL, and forgets it.
func (s *recentSet) take(b []byte) bool {
	k := entryKey(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[k]
	if ok {
		delete(s.m, k)
	}
	return ok && time.Since(t) <= recentTTL
}
