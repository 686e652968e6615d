package store

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"lukechampine.com/blake3/bao"
)

// Index value layout (all integers little-endian):
//
//	version u8 (=2) | size u64 | outboard length u32 | outboard | ref count u32 | refs
//	ref: delete hash [32] | lease u64 | account len u8 | account | subnet len u8 | subnet | manifest len u8 | manifest
//
// The outboard length is redundant with size but kept explicit so a damaged
// value is detected rather than mis-sliced. Version 1 entries (refs of 32
// bytes, delete hash only) are still read, as confirmed refs of this node
// (Account "", Lease 0), and rewritten as version 2 on their next change.
const entryVersion = 2

// maxEntrySize bounds the size field before it is used in arithmetic and
// keeps the outboard length (size/16 KiB × 64 bytes) well inside its u32.
const maxEntrySize = 1 << 36

// minRefSize is a version 2 ref with empty strings: the decoder allocates no
// more refs than the value has room for.
const minRefSize = 32 + 8 + 3

var errBadEntry = errors.New("store: malformed index entry")

type entry struct {
	size     int64
	outboard []byte // may alias the bbolt page; copy before leaving the transaction
	refs     []Ref  // never alias the page
}

func (e entry) marshal() []byte {
	n := 1 + 8 + 4 + len(e.outboard) + 4
	for i := range e.refs {
		n += minRefSize + len(e.refs[i].Account) + len(e.refs[i].Subnet) + len(e.refs[i].Manifest)
	}
	b := make([]byte, 0, n)
	b = append(b, entryVersion)
	b = binary.LittleEndian.AppendUint64(b, uint64(e.size))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.outboard)))
	b = append(b, e.outboard...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.refs)))
	for i := range e.refs {
		r := &e.refs[i]
		b = append(b, r.DeleteHash[:]...)
		b = binary.LittleEndian.AppendUint64(b, uint64(r.Lease))
		b = append(b, byte(len(r.Account)))
		b = append(b, r.Account...)
		b = append(b, byte(len(r.Subnet)))
		b = append(b, r.Subnet...)
		b = append(b, byte(len(r.Manifest)))
		b = append(b, r.Manifest...)
	}
	return b
}

// decodeHead decodes size and outboard, returning the encoded refs that
// follow (their count first). Readers that need no refs stop here.
func decodeHead(b []byte) (e entry, rest []byte, err error) {
	if len(b) < 1+8+4 || (b[0] != entryVersion && b[0] != 1) {
		return e, nil, errBadEntry
	}
	size := binary.LittleEndian.Uint64(b[1:])
	if size > maxEntrySize {
		return e, nil, fmt.Errorf("%w: size %d", errBadEntry, size)
	}
	e.size = int64(size)
	obLen := uint64(binary.LittleEndian.Uint32(b[9:]))
	rest = b[13:]
	if obLen != uint64(bao.EncodedSize(int(size), baoGroup, true)) || uint64(len(rest)) < obLen+4 {
		return e, nil, fmt.Errorf("%w: outboard length", errBadEntry)
	}
	e.outboard, rest = rest[:obLen], rest[obLen:]
	if binary.LittleEndian.Uint64(e.outboard) != size {
		return e, nil, fmt.Errorf("%w: outboard header", errBadEntry)
	}
	return e, rest, nil
}

func decodeEntry(b []byte) (entry, error) {
	e, rest, err := decodeHead(b)
	if err != nil {
		return e, err
	}
	n := uint64(binary.LittleEndian.Uint32(rest))
	rest = rest[4:]
	// A blob with no references would have been deleted.
	if n == 0 || n > maxRefs {
		return e, fmt.Errorf("%w: %d refs", errBadEntry, n)
	}
	if b[0] == 1 {
		return decodeRefsV1(e, n, rest)
	}
	if uint64(len(rest)) < n*minRefSize {
		return e, fmt.Errorf("%w: %d refs in %d bytes", errBadEntry, n, len(rest))
	}
	e.refs = make([]Ref, n)
	for i := range e.refs {
		r := &e.refs[i]
		if len(rest) < 32+8 {
			return e, fmt.Errorf("%w: ref %d truncated", errBadEntry, i)
		}
		copy(r.DeleteHash[:], rest)
		lease := binary.LittleEndian.Uint64(rest[32:])
		if lease > math.MaxInt64 {
			return e, fmt.Errorf("%w: ref %d lease", errBadEntry, i)
		}
		r.Lease = int64(lease)
		rest = rest[40:]
		var f [3][]byte
		for j, limit := range [3]int{maxAccount, maxSubnet, maxManifest} {
			if len(rest) < 1 || int(rest[0]) > limit || len(rest) < 1+int(rest[0]) {
				return e, fmt.Errorf("%w: ref %d field %d", errBadEntry, i, j)
			}
			f[j], rest = rest[1:1+int(rest[0])], rest[1+int(rest[0]):]
		}
		r.Account, r.Subnet = string(f[0]), string(f[1])
		if len(f[2]) > 0 {
			r.Manifest = bytes.Clone(f[2])
		}
	}
	if len(rest) != 0 {
		return e, fmt.Errorf("%w: %d trailing bytes", errBadEntry, len(rest))
	}
	return e, nil
}

func decodeRefsV1(e entry, n uint64, rest []byte) (entry, error) {
	if uint64(len(rest)) != 32*n {
		return e, fmt.Errorf("%w: refs", errBadEntry)
	}
	e.refs = make([]Ref, n)
	for i := range e.refs {
		copy(e.refs[i].DeleteHash[:], rest[32*i:])
	}
	return e, nil
}

func (e *entry) refIndex(h [32]byte) int {
	for i := range e.refs {
		if subtle.ConstantTimeCompare(e.refs[i].DeleteHash[:], h[:]) == 1 {
			return i
		}
	}
	return -1
}

// bufferAt is the io.WriterAt bao.Encode fills out of order.
type bufferAt struct{ buf []byte }

func (b *bufferAt) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(b.buf)) {
		return 0, errors.New("store: outboard write out of range")
	}
	return copy(b.buf[off:], p), nil
}
