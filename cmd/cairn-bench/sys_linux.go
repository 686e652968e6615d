//go:build linux

package main

import "syscall"

// sysProcAttr puts a child in its own process group, so a terminal's Ctrl-C reaches only the
// bench (which then stops children in order), and has the kernel SIGTERM it if the bench dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
