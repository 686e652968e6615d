package reputation

import (
	"fmt"
	"strings"
)

// TooFewError reports that fewer eligible distinct nodes exist than shards to place.
type TooFewError struct {
	Need, Have int
	Reason     string // the eligibility requirement, e.g. "with >= 4.0 MiB free"
}

func (e *TooFewError) Error() string {
	return fmt.Sprintf("need %d nodes %s, have %d", e.Need, e.Reason, e.Have)
}

// rejections counts candidates dropped for reasons other than free space, so the error
// says why the pool shrank.
type rejections struct{ excluded, unscored, duplicate int }

func reason(shardSize int64, rej rejections) string {
	s := "with >= " + formatBytes(shardSize) + " free"
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{rej.excluded, "excluded"}, {rej.unscored, "with score <= 0"}, {rej.duplicate, "duplicate IDs"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	if len(parts) > 0 {
		s += " (not counting " + strings.Join(parts, ", ") + ")"
	}
	return s
}

// formatBytes renders n in binary units with one decimal, e.g. "4.0 MiB".
func formatBytes(n int64) string {
	if n < 1024 && n > -1024 {
		return fmt.Sprintf("%d B", n)
	}
	const units = "KMGTPE"
	v, u := float64(n)/1024, 0
	for (v >= 1024 || v <= -1024) && u < len(units)-1 {
		v /= 1024
		u++
	}
	return fmt.Sprintf("%.1f %ciB", v, units[u])
}
