package main

import "syscall"

// childSysProcAttr puts a devnet child in its own process group, so a terminal's Ctrl-C reaches
// only devnet (which then stops children in order), and has the kernel SIGTERM it if devnet dies,
// so no daemon outlives its devnet. Pdeathsig fires when the forking OS thread exits; the Go
// runtime never retires threads of unlocked goroutines, so that is when the process exits.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
