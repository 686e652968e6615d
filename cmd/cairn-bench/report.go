package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
)

// printHuman writes the result as a header, a per-run table with median/min/max rows, and the
// daemons' memory.
func printHuman(w io.Writer, r *result) {
	m, s := r.Machine, r.Setup
	fmt.Fprintf(w, "cairn-bench results\n")
	fmt.Fprintf(w, "  command   %s\n", r.Command)
	fmt.Fprintf(w, "  machine   %s/%s, %d CPUs (runtime.NumCPU), %s", m.OS, m.Arch, m.CPUs, m.CPUModel)
	if m.MemTotalKiB > 0 {
		fmt.Fprintf(w, ", %.1f GiB RAM", float64(m.MemTotalKiB)/(1<<20))
	}
	if m.Kernel != "" {
		fmt.Fprintf(w, ", kernel %s", m.Kernel)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  go        %s (bench)", m.GoVersion)
	if m.CairnGo != "" {
		fmt.Fprintf(w, ", cairn binary %s", m.CairnGo)
	}
	if m.CairnRev != "" {
		fmt.Fprintf(w, " at %s", m.CairnRev)
	}
	if !m.CairnBuilt {
		fmt.Fprintf(w, " (%s)", m.CairnBinary)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  network   %d-node loopback devnet, k=%d n=%d, %s; put on node-%d, get on node-%d\n",
		s.Nodes, s.K, s.N, plural(s.Segments, "segment"), s.Uploader, s.Downloader)
	fmt.Fprintf(w, "  file      %d bytes (%s), ChaCha8 seed %d, sha256 %s\n", s.SizeBytes, humanBytes(s.SizeBytes), s.Seed, s.InputSHA)
	fmt.Fprintf(w, "  units     MB/s = 10^6 bytes / wall-clock seconds of the CLI process; RSS in MiB (2^20 bytes);\n")
	fmt.Fprintf(w, "            cpu = CPU seconds of the CLI and all daemons per 10^9 bytes of the file\n\n")

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	// The trailing tab ends every cell, so AlignRight also right-aligns the last column.
	line := func(label string, putS, putMBps, putCPU, putKiB, getS, getMBps, getCPU, getKiB float64, sha string) {
		fmt.Fprintf(tw, "%s\t%.2f\t%.1f\t%.2f\t%.1f\t%.2f\t%.1f\t%.2f\t%.1f\t%s\t\n", label,
			putS, putMBps, putCPU, putKiB/1024, getS, getMBps, getCPU, getKiB/1024, sha)
	}
	fmt.Fprintln(tw, "run\tput s\tput MB/s\tput cpu\tput RSS\tget s\tget MB/s\tget cpu\tget RSS\tsha256\t")
	for _, x := range r.Runs {
		line(strconv.Itoa(x.Run), x.PutSeconds, x.PutMBps, x.PutCPUPerGB, float64(x.PutRSSKiB),
			x.GetSeconds, x.GetMBps, x.GetCPUPerGB, float64(x.GetRSSKiB), okStr(x.Verified))
	}
	sm := r.Summary
	for _, row := range []struct {
		name string
		f    func(stat) float64
	}{
		{"median", func(s stat) float64 { return s.Median }},
		{"min", func(s stat) float64 { return s.Min }},
		{"max", func(s stat) float64 { return s.Max }},
	} {
		line(row.name, row.f(sm.PutSeconds), row.f(sm.PutMBps), row.f(sm.PutCPU), row.f(sm.PutRSSKiB),
			row.f(sm.GetSeconds), row.f(sm.GetMBps), row.f(sm.GetCPU), row.f(sm.GetRSSKiB), "")
	}
	tw.Flush()

	d := r.Daemons
	fmt.Fprintf(w, "\n  daemon peak RSS (VmHWM after %s, MiB)\n", plural(len(r.Runs), "run"))
	fmt.Fprintf(w, "    uploader    node-%-3d %8s\n", d.Uploader.Node, kibNum(d.Uploader.HWMKiB))
	fmt.Fprintf(w, "    downloader  node-%-3d %8s\n", d.Downloader.Node, kibNum(d.Downloader.HWMKiB))
	if d.HolderCount > 0 {
		fmt.Fprintf(w, "    holders     %d nodes  max %s (node-%d), median %s\n", d.HolderCount,
			kibNum(d.HolderHWMMax), d.HolderHWMMaxAt, kibNum(int64(d.HolderHWMMedian)))
		fmt.Fprintf(w, "  idle baseline (holders' VmRSS before the first put): median %s MiB, max %s MiB\n",
			kibNum(int64(d.IdleRSSMedian)), kibNum(d.IdleRSSMax))
	}
	fmt.Fprintf(w, "  time      %.1f s total, %.1f s of it setup (build, input, devnet start)\n", r.TotalSecs, r.SetupSecs)
	if r.Kept {
		fmt.Fprintf(w, "  kept      devnet root %s, work dir %s\n", r.DevnetRoot, r.WorkDir)
	}
	for _, note := range r.Notes {
		fmt.Fprintf(w, "  note      %s\n", note)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "  warning   %s\n", warn)
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func okStr(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAIL"
}

// kibNum formats KiB as MiB without a unit; "n/a" for -1 (unreadable).
func kibNum(kib int64) string {
	if kib < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", float64(kib)/1024)
}

// kibMiB formats a CLI peak RSS; 0 means rusage gave nothing.
func kibMiB(kib int64) string {
	if kib <= 0 {
		return "n/a"
	}
	return kibNum(kib) + " MiB"
}

func humanBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f %s", v, units[i])
	}
	return fmt.Sprintf("%.2f %s", v, units[i])
}
