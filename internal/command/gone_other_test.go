//go:build unix && !linux

package command

import "syscall"

// gone reports whether process pid has ended (signal 0 fails).
func gone(pid int) bool { return syscall.Kill(pid, 0) != nil }
