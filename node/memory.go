package node

import (
	"runtime/debug"
	"sync/atomic"
)

// bigTransfer is the size from which a finished put or get hands its buffers back to the OS.
const bigTransfer = 64 << 20

// releasing guards against piling up forced collections when many transfers end together.
var releasing atomic.Bool

// releaseMemory returns a large transfer's buffers to the OS once it ends. Without it the Go
// heap keeps the last transfer's garbage until the next collection, so the next transfer's
// buffers stack on top of it and peak RSS nearly doubles (GOGC lets the heap reach 2x live).
func releaseMemory(size int64) {
	if size < bigTransfer || !releasing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer releasing.Store(false)
		debug.FreeOSMemory()
	}()
}
