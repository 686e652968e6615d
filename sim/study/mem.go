package study

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
)

// memWatch keeps the largest heap seen. ReadMemStats stops the world briefly,
// so it is called once per sample, not per event.
type memWatch struct{ peakHeap uint64 }

func (m *memWatch) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.peakHeap = max(m.peakHeap, ms.HeapAlloc)
}

// peakRSS is the process's peak resident set (VmHWM in /proc/self/status), or
// 0 where there is no such file.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) == 3 && string(f[0]) == "VmHWM:" && string(f[2]) == "kB" {
			kb, err := strconv.ParseUint(string(f[1]), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
