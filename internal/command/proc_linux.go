package command

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// setDeathSignal makes the kernel kill the program when the toolkit dies,
// so that no npm holding a token outlives it.
func setDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }

// DieWithParent asks the kernel to kill this process when the process that
// started it dies (Linux; elsewhere it does nothing): for a program that
// only stands between its parent and the toolkit, such as `go tool mage`'s,
// so that killing the outermost process ends the whole chain.
func DieWithParent() {
	ppid := os.Getppid()
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
		return
	}
	if os.Getppid() != ppid { // the parent died before the call
		os.Exit(1)
	}
}

// rssUnit is the unit of ru_maxrss: kilobytes on Linux.
const rssUnit = 1024
