package command

import (
	"time"

	"golang.org/x/sys/unix"
)

// gone reports whether process pid ends: a SIGKILL sent to its group is
// delivered, but a process in the middle of running (state R) still shows
// until the kernel is done with it, so wait for its exit as an event (its
// pidfd becomes readable). The bound is reached only when it never ends.
func gone(pid int) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return err == unix.ESRCH
	}
	defer unix.Close(fd)
	n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(time.Minute.Milliseconds()))
	return err == nil && n == 1
}
