package main

import (
	"os"
	"runtime"
	"strings"
)

type machine struct {
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	CPUs        int    `json:"cpus"`
	CPUModel    string `json:"cpu_model"`
	MemTotalKiB int64  `json:"mem_total_kib,omitempty"`
	Kernel      string `json:"kernel,omitempty"`
	GoVersion   string `json:"go_version"`
	CairnGo     string `json:"cairn_go_version,omitempty"`
	CairnRev    string `json:"cairn_revision,omitempty"`
	CairnBinary string `json:"cairn_binary"`
	CairnBuilt  bool   `json:"cairn_built_by_bench"`
}

// describeMachine collects host facts; the /proc ones are left empty where /proc is missing.
func describeMachine() machine {
	m := machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		CPUModel: "unknown"}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		// The CPU's name is under a different key per architecture (x86, arm, mips, ppc, ...).
		for _, key := range []string{"model name", "Hardware", "cpu model", "Processor", "cpu"} {
			if v := procField(raw, key); v != "" {
				m.CPUModel = v
				break
			}
		}
	}
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotalKiB = parseKiB(procField(raw, "MemTotal"))
	}
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(raw))
	}
	return m
}

// procField returns the value of the first "key : value" line of a /proc file.
func procField(raw []byte, key string) string {
	for line := range strings.Lines(string(raw)) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
