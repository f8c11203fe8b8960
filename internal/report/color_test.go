package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// unsetenv removes key for the duration of the test.
func unsetenv(t *testing.T, key string) {
	t.Helper()
	t.Setenv(key, "")
	os.Unsetenv(key)
}

// printAll writes one of every kind of output.
func printAll(p *Printer) {
	p.Line(OK, "checked")
	p.Line(Failed, "broken")
	p.Heading("Summary")
	p.Table([]string{"package", "result"}, [][]string{{"@s/a", "published"}})
}

// TestColorOnlyOnTerminals writes to a real file (never a terminal) and to
// a file the terminal check claims is one, with and without NO_COLOR and
// TERM=dumb.
func TestColorOnlyOnTerminals(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
		env      map[string]string // "" value: unset
		color    bool
	}{
		{"plain file", false, map[string]string{"NO_COLOR": "", "TERM": "xterm"}, false},
		{"terminal", true, map[string]string{"NO_COLOR": "", "TERM": "xterm"}, true},
		{"terminal with NO_COLOR", true, map[string]string{"NO_COLOR": "1", "TERM": "xterm"}, false},
		{"dumb terminal", true, map[string]string{"NO_COLOR": "", "TERM": "dumb"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				if v == "" {
					unsetenv(t, k)
				} else {
					t.Setenv(k, v)
				}
			}
			real := isTerminal
			t.Cleanup(func() { isTerminal = real })
			isTerminal = func(*os.File) bool { return tt.terminal }

			f, err := os.Create(filepath.Join(t.TempDir(), "out"))
			if err != nil {
				t.Fatal(err)
			}
			printAll(New(f))
			f.Close()
			data, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			out := string(data)
			if got := strings.Contains(out, "\x1b["); got != tt.color {
				t.Errorf("escape codes written = %v, want %v; output %q", got, tt.color, out)
			}
			for _, want := range []string{"checked", "broken", "Summary", "@s/a", "published"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q: %q", want, out)
				}
			}
			if tt.color && !strings.Contains(out, "\x1b[32m✓\x1b[0m checked") {
				t.Errorf("the OK mark is not green: %q", out)
			}
		})
	}
}

// TestRealTerminal checks the unfaked terminal test against a real
// pseudo-terminal and a real file.
func TestRealTerminal(t *testing.T) {
	unsetenv(t, "NO_COLOR")
	t.Setenv("TERM", "xterm")
	pts, err := openPTY(t)
	if err != nil {
		t.Skipf("no pseudo-terminal on this machine: %v", err)
	}
	if !UseColor(pts) {
		t.Error("a pseudo-terminal is not taken for a terminal")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if UseColor(f) {
		t.Error("a regular file is taken for a terminal")
	}
	t.Setenv("NO_COLOR", "1")
	if UseColor(pts) {
		t.Error("NO_COLOR is ignored on a terminal")
	}
}

// openPTY opens a pseudo-terminal pair and returns its terminal end.
func openPTY(t *testing.T) (*os.File, error) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetUint32(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		return nil, fmt.Errorf("ptsname: %w", err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { pts.Close() })
	return pts, nil
}
