package main

import (
	"os"
	"strings"
	"time"
)

// result is everything a bench reports; its JSON form is the -json output.
type result struct {
	Command    string       `json:"command"`
	Args       []string     `json:"args"`
	Dir        string       `json:"working_dir"`
	Started    time.Time    `json:"started"`
	Machine    machine      `json:"machine"`
	Setup      setup        `json:"setup"`
	Units      string       `json:"units"`
	Runs       []runResult  `json:"runs"`
	Summary    summary      `json:"summary"`
	Daemons    daemonReport `json:"daemons"`
	Notes      []string     `json:"notes,omitempty"`
	Warnings   []string     `json:"warnings,omitempty"`
	TotalSecs  float64      `json:"total_seconds"`
	SetupSecs  float64      `json:"setup_seconds"`
	DevnetRoot string       `json:"devnet_root"`
	WorkDir    string       `json:"work_dir"`
	Kept       bool         `json:"kept"` // -keep: both dirs are still there
}

type setup struct {
	Nodes      int    `json:"nodes"`
	SizeBytes  int64  `json:"size_bytes"`
	Runs       int    `json:"runs"`
	K          int    `json:"k"`
	N          int    `json:"n"`
	Segments   int    `json:"segments"`
	Seed       uint64 `json:"seed"`
	InputSHA   string `json:"input_sha256"`
	Uploader   int    `json:"uploader_node"`
	Downloader int    `json:"downloader_node"`
}

type runResult struct {
	Run         int     `json:"run"`
	PutSeconds  float64 `json:"put_seconds"`
	PutMBps     float64 `json:"put_mb_per_s"`
	PutRSSKiB   int64   `json:"put_cli_maxrss_kib"`
	PutCPUPerGB float64 `json:"put_cpu_s_per_gb"` // CLI + all daemons
	GetCPUPerGB float64 `json:"get_cpu_s_per_gb"`
	GetSeconds  float64 `json:"get_seconds"`
	GetMBps     float64 `json:"get_mb_per_s"`
	GetRSSKiB   int64   `json:"get_cli_maxrss_kib"`
	Verified    bool    `json:"verified"`
	RmSeconds   float64 `json:"rm_seconds"`
	RmShardsDel int     `json:"rm_shards_deleted"`
	RmFailed    int     `json:"rm_shards_failed"` // -1: rm itself failed
}

type stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

type summary struct {
	PutSeconds stat `json:"put_seconds"`
	PutMBps    stat `json:"put_mb_per_s"`
	PutRSSKiB  stat `json:"put_cli_maxrss_kib"`
	GetSeconds stat `json:"get_seconds"`
	GetMBps    stat `json:"get_mb_per_s"`
	GetRSSKiB  stat `json:"get_cli_maxrss_kib"`
	PutCPU     stat `json:"put_cpu_s_per_gb"`
	GetCPU     stat `json:"get_cpu_s_per_gb"`
}

type nodeMem struct {
	Node       int   `json:"node"`
	PID        int   `json:"pid"`
	IdleRSSKiB int64 `json:"idle_vmrss_kib"` // before the first put; -1 if unreadable
	HWMKiB     int64 `json:"vmhwm_kib"`      // after all runs; -1 if unreadable
}

type daemonReport struct {
	Uploader        nodeMem   `json:"uploader"`
	Downloader      nodeMem   `json:"downloader"`
	HolderCount     int       `json:"holder_count"`
	HolderHWMMax    int64     `json:"holder_vmhwm_max_kib"`
	HolderHWMMaxAt  int       `json:"holder_vmhwm_max_node"`
	HolderHWMMedian float64   `json:"holder_vmhwm_median_kib"`
	IdleRSSMedian   float64   `json:"idle_holder_vmrss_median_kib"`
	IdleRSSMax      int64     `json:"idle_holder_vmrss_max_kib"`
	Nodes           []nodeMem `json:"nodes"`
}

// commandLine is the invocation as a shell would take it back, for the report.
func commandLine() string {
	parts := []string{"cairn-bench"}
	for _, a := range os.Args[1:] {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?&;|<>(){}[]#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
