//go:build !unix

package main

import (
	"errors"
	"os"
	"syscall"
)

// cairn-bench relies on process groups and rusage; elsewhere it only explains that.
const platformSupported = false

func sysProcAttr() *syscall.SysProcAttr { return nil }

func killGroup(int, syscall.Signal) error { return errors.New("process groups are not supported") }

func processExists(int) bool { return false }

func maxRSSKiB(*os.ProcessState) int64 { return 0 }
