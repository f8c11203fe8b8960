package command

import (
	"testing"

	"golang.org/x/sys/unix"
)

// exits waits for process pid, which is not our child, to exit (a pidfd
// becomes readable when it does) and reports whether it did within a
// minute: a killed process takes a moment to die, longer on a busy machine.
func exits(t *testing.T, pid int) bool {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err == unix.ESRCH {
		return true // gone already
	}
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 60_000)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		return n > 0
	}
}
