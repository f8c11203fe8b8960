//go:build unix && !linux

package command

import "testing"

// exits cannot wait for another process's exit without pidfds (Linux):
// the check is skipped here.
func exits(t *testing.T, pid int) bool {
	t.Helper()
	t.Skipf("waiting for process %d to exit needs pidfds (Linux)", pid)
	return false
}
