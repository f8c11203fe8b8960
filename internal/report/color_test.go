package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// printAll writes one of every kind of output.
func printAll(p *Printer) {
	p.Line(OK, "checked")
	p.Line(Failed, "broken")
	p.Heading("Summary")
	p.Table([]string{"package", "result"}, [][]string{{"@s/a", "published"}})
}

// TestColorOnlyWhenAsked prints with and without colour and checks the
// escape codes and the text.
func TestColorOnlyWhenAsked(t *testing.T) {
	for _, color := range []bool{false, true} {
		var b strings.Builder
		printAll(New(&b, color))
		out := b.String()
		if got := strings.Contains(out, "\x1b["); got != color {
			t.Errorf("color=%v: escape codes written = %v; output %q", color, got, out)
		}
		for _, want := range []string{"checked", "broken", "Summary", "@s/a", "published"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q: %q", want, out)
			}
		}
		if color && !strings.Contains(out, "\x1b[32m✓\x1b[0m checked") {
			t.Errorf("the OK mark is not green: %q", out)
		}
	}
}

// TestNotATerminal: a regular file, a pipe and the null device are never
// terminals, so output to them has no colour.
func TestNotATerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for _, f := range []*os.File{f, w, null} {
		if IsTerminal(f) || UseColor(f, false) {
			t.Errorf("%s is taken for a terminal", f.Name())
		}
	}
	var b strings.Builder
	if UseColor(&b, false) {
		t.Error("a buffer is taken for a terminal")
	}
}
