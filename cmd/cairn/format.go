package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-storage/cairn/node/api"
)

// humanSize prints bytes in binary units, e.g. "12.3 MiB".
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// shortID abbreviates a peer ID for tables; --json always has the full one.
func shortID(id string) string {
	if len(id) <= 16 {
		return id
	}
	return id[:8] + "…" + id[len(id)-6:]
}

// peerID is the peer's ID under its current name, or the old one from an older daemon.
func peerID(p api.PeerInfo) string {
	if p.ID != "" {
		return p.ID
	}
	return p.PeerID
}

// fixed4 prints a score in [0,1] with four decimals, enough to tell audits apart.
func fixed4(f float64) string {
	return strconv.FormatFloat(f, 'f', 4, 64)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func unixTime(sec int64) string {
	if sec == 0 {
		return "-"
	}
	return time.Unix(sec, 0).Format("2006-01-02 15:04")
}

// oneLine squeezes a possibly multi-line error into a table cell.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}
