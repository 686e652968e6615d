package store

import (
	"fmt"
	"math"

	"github.com/ipfs/go-cid"
)

// charges is what one account or subnet is charged. stored is recomputed
// from the index by Open; reserved and pending live only in memory, so a
// crash leaves nothing charged for Puts that did not commit.
type charges struct {
	stored   int64 // sum of the sizes of the blobs its refs point at
	reserved int64 // promised to its Puts in flight
	pending  int   // its Puts in flight
}

// hold is what one Put (or record write) reserves before reading anything.
type hold struct {
	bytes   int64 // new bytes against capacity and disk: 0 when the blob exists
	charge  int64 // charged to account and subnet if the ref is added
	account string
	subnet  string
}

// admitLocked reports why h cannot be reserved now, if it cannot. The caller holds s.mu.
func (s *Store) admitLocked(h hold, disk int64) error {
	if h.account != "" {
		a, n := s.chargesOf(s.accounts, h.account), s.chargesOf(s.subnets, h.subnet)
		if m := s.opt.MaxPendingPerAccount; m > 0 && a.pending >= m {
			return fmt.Errorf("%w: account %s has %d Puts in flight, max %d", ErrQuota, h.account, a.pending, m)
		}
		if q := s.opt.PeerQuota; q > 0 && a.stored+a.reserved+h.charge > q {
			return fmt.Errorf("%w: account %s: %d stored + %d in flight + %d > %d",
				ErrQuota, h.account, a.stored, a.reserved, h.charge, q)
		}
		if q := s.opt.SubnetQuota; q > 0 && h.subnet != "" && n.stored+n.reserved+h.charge > q {
			return fmt.Errorf("%w: subnet %s: %d stored + %d in flight + %d > %d",
				ErrQuota, h.subnet, n.stored, n.reserved, h.charge, q)
		}
	}
	if h.bytes > 0 {
		if s.opt.Capacity > 0 && s.used+s.reserved+h.bytes > s.opt.Capacity {
			return fmt.Errorf("%w: %d used + %d in flight + %d > %d",
				ErrFull, s.used, s.reserved, h.bytes, s.opt.Capacity)
		}
		// Other reservations are not yet (fully) on disk, so count them too.
		if h.bytes > disk-s.reserved {
			return fmt.Errorf("%w: %d bytes free on disk, %d in flight, %d more", ErrFull, disk, s.reserved, h.bytes)
		}
	}
	return nil
}

// Admit reports whether a Put of blob c (size bytes) for account and subnet would be admitted
// now, without reserving anything: handlers ask before telling an uploader to send the body, so a
// refusal costs the uploader one round trip, not a shard's worth of bandwidth. Put still checks.
func (s *Store) Admit(c cid.Cid, size int64, account, subnet string) error {
	h := hold{bytes: size, charge: size, account: account, subnet: subnet}
	if s.Has(c) {
		h.bytes = 0
	}
	var disk int64
	if h.bytes > 0 {
		disk = diskFree(s.blobDir)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.admitLocked(h, disk)
}

// FreeFor is how many bytes of new blobs account (from subnet) may still store here: Free, bounded
// by what its quotas leave. Nodes advertise it to that uploader, so placement skips a node where
// the uploader is at its share.
func (s *Store) FreeFor(account, subnet string) int64 {
	free := s.Free()
	if account == "" {
		return free
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.opt.PeerQuota; q > 0 {
		a := s.chargesOf(s.accounts, account)
		free = min(free, q-a.stored-a.reserved)
	}
	if q := s.opt.SubnetQuota; q > 0 && subnet != "" {
		n := s.chargesOf(s.subnets, subnet)
		free = min(free, q-n.stored-n.reserved)
	}
	return max(free, 0)
}

// reserve checks capacity, disk, the account's quota and Puts in flight and
// the subnet's quota, and claims h, all under one lock so that concurrent
// Puts can never together overshoot any of them. Account "" (this node) is
// exempt from quotas and the pending bound, not from capacity.
func (s *Store) reserve(h hold) error {
	var disk int64
	if h.bytes > 0 {
		disk = diskFree(s.blobDir)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.admitLocked(h, disk); err != nil {
		return err
	}
	s.reserved += h.bytes
	if h.account != "" {
		a := s.charged(s.accounts, h.account)
		a.reserved += h.charge
		a.pending++
	}
	if h.subnet != "" {
		s.charged(s.subnets, h.subnet).reserved += h.charge
	}
	return nil
}

// settle ends a reservation: kept reports whether the bytes became a stored
// blob, added whether the ref (and so the charge) was committed.
func (s *Store) settle(h hold, kept, added bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reserved -= h.bytes
	if kept {
		s.used += h.bytes
	}
	if h.account != "" {
		a := s.charged(s.accounts, h.account)
		a.reserved -= h.charge
		a.pending--
	}
	if h.subnet != "" {
		s.charged(s.subnets, h.subnet).reserved -= h.charge
	}
	var delta int64
	if added {
		delta = h.charge
	}
	s.chargeLocked(Ref{Account: h.account, Subnet: h.subnet}, delta) // also forgets emptied entries
}

func (s *Store) chargesOf(m map[string]*charges, key string) charges {
	if c := m[key]; c != nil {
		return *c
	}
	return charges{}
}

// charged returns m[key], creating it if needed. s.mu is held.
func (s *Store) charged(m map[string]*charges, key string) *charges {
	c := m[key]
	if c == nil {
		c = &charges{}
		m[key] = c
	}
	return c
}

// chargeLocked adds delta to what r's account (even "") and subnet have
// stored, forgetting those charged nothing. s.mu is held.
func (s *Store) chargeLocked(r Ref, delta int64) {
	a := s.charged(s.accounts, r.Account)
	if a.stored += delta; *a == (charges{}) {
		delete(s.accounts, r.Account)
	}
	if r.Subnet != "" {
		n := s.charged(s.subnets, r.Subnet)
		if n.stored += delta; *n == (charges{}) {
			delete(s.subnets, r.Subnet)
		}
	}
}

// released accounts for a removed ref of a blob of size bytes; gone reports
// whether the blob went with it.
func (s *Store) released(r Ref, size int64, gone bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gone {
		s.used -= size
	}
	s.chargeLocked(r, -size)
}

// Used returns the bytes stored: committed blobs (each once, however many
// refs it has) and records.
func (s *Store) Used() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

// Usage returns the bytes account is charged: the size of every blob each
// of its refs points at, plus its Puts in flight. "" is this node's own.
func (s *Store) Usage(account string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[account]; a != nil {
		return a.stored + a.reserved
	}
	return 0
}

// SubnetUsage is Usage summed over the refs whose Subnet is subnet.
func (s *Store) SubnetUsage(subnet string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.subnets[subnet]; n != nil {
		return n.stored + n.reserved
	}
	return 0
}

func (s *Store) Capacity() int64 { return s.opt.Capacity }

// Free returns how many more bytes may be stored: capacity minus stored and
// in-flight (reserved) bytes, bounded by the filesystem's free space.
// Unlimited stores report the filesystem bound, or math.MaxInt64.
func (s *Store) Free() int64 {
	disk := diskFree(s.blobDir)
	s.mu.Lock()
	defer s.mu.Unlock()
	free := int64(math.MaxInt64)
	if s.opt.Capacity > 0 {
		free = s.opt.Capacity - s.used - s.reserved
	}
	free = min(free, disk-s.reserved)
	return max(free, 0)
}
