package store

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"lukechampine.com/blake3/bao"
)

// Index value layout (all integers little-endian):
//
//	version u8 (=1) | size u64 | outboard length u32 | outboard | ref count u32 | refs (32 bytes each)
//
// The outboard length is redundant with size but kept explicit so a damaged
// value is detected rather than mis-sliced.
const entryVersion = 1

// maxEntrySize bounds the size field before it is used in arithmetic and
// keeps the outboard length (size/16 KiB × 64 bytes) well inside its u32.
const maxEntrySize = 1 << 36

var errBadEntry = errors.New("store: malformed index entry")

type entry struct {
	size     int64
	outboard []byte // may alias the bbolt page; copy before leaving the transaction
	refs     [][32]byte
}

func (e entry) marshal() []byte {
	b := make([]byte, 0, 1+8+4+len(e.outboard)+4+32*len(e.refs))
	b = append(b, entryVersion)
	b = binary.LittleEndian.AppendUint64(b, uint64(e.size))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.outboard)))
	b = append(b, e.outboard...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.refs)))
	for i := range e.refs {
		b = append(b, e.refs[i][:]...)
	}
	return b
}

func decodeEntry(b []byte) (entry, error) {
	var e entry
	if len(b) < 1+8+4 || b[0] != entryVersion {
		return e, errBadEntry
	}
	size := binary.LittleEndian.Uint64(b[1:])
	if size > maxEntrySize {
		return e, fmt.Errorf("%w: size %d", errBadEntry, size)
	}
	e.size = int64(size)
	obLen := uint64(binary.LittleEndian.Uint32(b[9:]))
	b = b[13:]
	if obLen != uint64(bao.EncodedSize(int(size), baoGroup, true)) || uint64(len(b)) < obLen+4 {
		return e, fmt.Errorf("%w: outboard length", errBadEntry)
	}
	e.outboard, b = b[:obLen], b[obLen:]
	if binary.LittleEndian.Uint64(e.outboard) != size {
		return e, fmt.Errorf("%w: outboard header", errBadEntry)
	}
	n := uint64(binary.LittleEndian.Uint32(b))
	b = b[4:]
	// A blob with no references would have been deleted.
	if n == 0 || uint64(len(b)) != 32*n {
		return e, fmt.Errorf("%w: refs", errBadEntry)
	}
	e.refs = make([][32]byte, n)
	for i := range e.refs {
		copy(e.refs[i][:], b[32*i:])
	}
	return e, nil
}

func (e *entry) refIndex(h [32]byte) int {
	for i := range e.refs {
		if subtle.ConstantTimeCompare(e.refs[i][:], h[:]) == 1 {
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
