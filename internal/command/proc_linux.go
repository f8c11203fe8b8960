package command

import "syscall"

// setDeathSignal makes the kernel kill the program when the toolkit dies,
// so that no npm holding a token outlives it.
func setDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }

// rssUnit is the unit of ru_maxrss: kilobytes on Linux.
const rssUnit = 1024
