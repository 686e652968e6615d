package main

import "slices"

func summarize(runs []runResult) summary {
	col := func(f func(r runResult) float64) stat {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		return stats(v)
	}
	return summary{
		PutSeconds: col(func(r runResult) float64 { return r.PutSeconds }),
		PutMBps:    col(func(r runResult) float64 { return r.PutMBps }),
		PutRSSKiB:  col(func(r runResult) float64 { return float64(r.PutRSSKiB) }),
		GetSeconds: col(func(r runResult) float64 { return r.GetSeconds }),
		GetMBps:    col(func(r runResult) float64 { return r.GetMBps }),
		GetRSSKiB:  col(func(r runResult) float64 { return float64(r.GetRSSKiB) }),
		PutCPU:     col(func(r runResult) float64 { return r.PutCPUPerGB }),
		GetCPU:     col(func(r runResult) float64 { return r.GetCPUPerGB }),
	}
}

func stats(v []float64) stat {
	if len(v) == 0 {
		return stat{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return stat{Median: median(s), Min: s[0], Max: s[len(s)-1]}
}

// median of a sorted, non-empty slice.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// daemonSummary singles out the uploader and downloader; every other node is a holder, whose
// peaks are summarised. Unreadable values (-1) are left out; -1 also means "none readable".
func daemonSummary(nodes []nodeMem, up, down int) daemonReport {
	d := daemonReport{Nodes: nodes, HolderHWMMax: -1, IdleRSSMax: -1}
	var hwm, idle []float64
	for _, n := range nodes {
		if n.Node == up {
			d.Uploader = n
		}
		if n.Node == down {
			d.Downloader = n
		}
		if n.Node == up || n.Node == down {
			continue
		}
		d.HolderCount++
		if n.HWMKiB >= 0 {
			hwm = append(hwm, float64(n.HWMKiB))
			if n.HWMKiB > d.HolderHWMMax {
				d.HolderHWMMax, d.HolderHWMMaxAt = n.HWMKiB, n.Node
			}
		}
		if n.IdleRSSKiB >= 0 {
			idle = append(idle, float64(n.IdleRSSKiB))
			d.IdleRSSMax = max(d.IdleRSSMax, n.IdleRSSKiB)
		}
	}
	d.HolderHWMMedian, d.IdleRSSMedian = medianOrNA(hwm), medianOrNA(idle)
	return d
}

// medianOrNA sorts v in place and returns its median, or -1 if v is empty.
func medianOrNA(v []float64) float64 {
	if len(v) == 0 {
		return -1
	}
	slices.Sort(v)
	return median(v)
}
