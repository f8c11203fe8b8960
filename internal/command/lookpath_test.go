package command

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWindowsLookup checks the Windows way of finding a program (PATHEXT)
// on any OS: "npm" is npm.cmd, an extension outside PATHEXT is not run.
func TestWindowsLookup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"npm.cmd", "node.exe", "tool.sh"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, pathext, want string
	}{
		{"npm", "", "npm.cmd"},
		{"npm", ".COM;.EXE;.BAT;.CMD", "npm.cmd"},
		{"node", ".COM;.EXE;.BAT;.CMD", "node.exe"},
		{"npm.cmd", "", "npm.cmd"},
		{"npm", ".EXE", ""},
		{"tool.sh", "", ""},
		{"missing", "", ""},
	}
	for _, tt := range tests {
		got, ok := withExtension(filepath.Join(dir, tt.name), tt.pathext)
		if want := tt.want; (want == "") == ok || (ok && got != filepath.Join(dir, want)) {
			t.Errorf("withExtension(%s, %q) = %q, %v; want %q", tt.name, tt.pathext, got, ok, want)
		}
	}
}
