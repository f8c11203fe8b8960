// Package report prints what a release target does, for people: one line per
// package with a status mark, and summary tables. Colour is used only on a
// terminal and never when NO_COLOR is set. Every line is redacted of secrets.
package report

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/agent-facets/release/internal/secret"
)

// Mark is the status symbol at the start of a line.
type Mark string

// The marks, as the old scripts printed them, plus a few more.
const (
	Added   Mark = "+" // published now
	Skipped Mark = "~" // nothing to do
	Failed  Mark = "✗" // failed
	OK      Mark = "✓" // checked and fine
	Warn    Mark = "!" // needs attention
	Wait    Mark = "…" // in progress
	Info    Mark = " " // plain text, indented like the others
)

var colors = map[Mark]string{Added: "32", Skipped: "2", Failed: "31", OK: "32", Warn: "33", Wait: "36"}

// Printer writes report lines. It is safe for concurrent use.
type Printer struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
}

// New returns a Printer on w, coloured when color is set (see UseColor).
func New(w io.Writer, color bool) *Printer {
	return &Printer{w: w, color: color}
}

// Plain returns a Printer on w without colour.
func Plain(w io.Writer) *Printer { return New(w, false) }

// UseColor reports whether output to w should be coloured: only on a
// terminal, and never when the environment asks for none (NO_COLOR set, or
// TERM=dumb; the caller reads those when a target starts).
func UseColor(w io.Writer, noColor bool) bool {
	f, ok := w.(*os.File)
	return !noColor && ok && IsTerminal(f)
}

// IsTerminal reports whether f is a terminal (a file, a pipe or /dev/null
// is not), on every OS.
func IsTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(int(f.Fd()))
}

// Writer is the underlying writer.
func (p *Printer) Writer() io.Writer { return p.w }

// Line prints one status line: "<mark> <text>".
func (p *Printer) Line(m Mark, format string, args ...any) {
	text := secret.Redact(fmt.Sprintf(format, args...))
	mark := string(m)
	if p.color && colors[m] != "" {
		mark = "\x1b[" + colors[m] + "m" + mark + "\x1b[0m"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s %s\n", mark, text)
}

// Text prints lines as they are (redacted), without a mark.
func (p *Printer) Text(format string, args ...any) {
	text := secret.Redact(fmt.Sprintf(format, args...))
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, text)
}

// Heading prints a section title, bold on a terminal.
func (p *Printer) Heading(format string, args ...any) {
	text := secret.Redact(fmt.Sprintf(format, args...))
	if p.color {
		text = "\x1b[1m" + text + "\x1b[0m"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\n%s\n", text)
}

// Table prints rows under headers, columns aligned.
func (p *Printer) Table(headers []string, rows [][]string) {
	widths := make([]int, len(headers))
	all := append([][]string{headers}, rows...)
	for _, r := range all {
		for i, c := range r {
			if i < len(widths) && utf8.RuneCountInString(c) > widths[i] {
				widths[i] = utf8.RuneCountInString(c)
			}
		}
	}
	var b strings.Builder
	for n, r := range all {
		for i, c := range r {
			if i >= len(widths) {
				break
			}
			if i == len(r)-1 {
				b.WriteString(c)
				continue
			}
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
		}
		b.WriteString("\n")
		if n == 0 {
			for i, w := range widths {
				b.WriteString(strings.Repeat("-", w))
				if i < len(widths)-1 {
					b.WriteString("  ")
				}
			}
			b.WriteString("\n")
		}
	}
	out := secret.Redact(b.String())
	if p.color {
		first := strings.Index(out, "\n")
		out = "\x1b[1m" + out[:first] + "\x1b[0m" + out[first:]
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	io.WriteString(p.w, out)
}
