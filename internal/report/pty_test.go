//go:build unix

package report

import (
	"testing"

	"github.com/creack/pty"
)

// TestRealTerminal checks the terminal test against a real pseudo-terminal.
func TestRealTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal on this machine: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if !IsTerminal(tty) || !UseColor(tty, false) {
		t.Error("a pseudo-terminal is not taken for a terminal")
	}
	if UseColor(tty, true) {
		t.Error("NO_COLOR is ignored on a terminal")
	}
}
