package store

import "math"

// reserve claims size bytes for a Put before any data is written, so that
// concurrent Puts can never together overshoot the capacity.
func (s *Store) reserve(size int64) error {
	disk := diskFree(s.blobDir)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opt.Capacity > 0 && s.used+s.reserved+size > s.opt.Capacity {
		return ErrFull
	}
	// Other reservations are not yet (fully) on disk, so count them too.
	if size > disk-s.reserved {
		return ErrFull
	}
	s.reserved += size
	return nil
}

// settle ends a reservation; kept reports whether the bytes became a stored blob.
func (s *Store) settle(size int64, kept bool) {
	s.mu.Lock()
	s.reserved -= size
	if kept {
		s.used += size
	}
	s.mu.Unlock()
}

func (s *Store) released(size int64) {
	s.mu.Lock()
	s.used -= size
	s.mu.Unlock()
}

// Used returns the bytes of blob data stored (committed blobs only).
func (s *Store) Used() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

func (s *Store) Capacity() int64 { return s.opt.Capacity }

// Free returns how many more bytes of blob data may be stored: capacity minus
// stored and in-flight (reserved) bytes, bounded by the filesystem's free
// space. Unlimited stores report the filesystem bound, or math.MaxInt64.
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
