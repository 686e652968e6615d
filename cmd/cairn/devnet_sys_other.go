//go:build !linux

package main

import "syscall"

// childSysProcAttr: without Pdeathsig, children of a killed devnet must be stopped by hand.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
