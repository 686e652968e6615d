//go:build unix && !linux

package main

import "syscall"

// sysProcAttr: without Pdeathsig, children of a killed bench must be stopped by hand.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
