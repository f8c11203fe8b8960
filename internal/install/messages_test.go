package install_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/agent-facets/release/npm"
	"github.com/agent-facets/release/platforms"
)

// catalogue is the launcher's message catalogue rendered for the installed
// manifest (npm.Messages). The tests build the text they expect from it
// with their own code, so the launcher's rendering (lib/messages.js) is
// checked against an independent one, word for word.
type catalogue struct {
	t   *testing.T
	m   npm.Manifest
	all []npm.Message
}

func newCatalogue(t *testing.T, m npm.Manifest) catalogue {
	t.Helper()
	all, err := npm.Messages(m)
	if err != nil {
		t.Fatal(err)
	}
	return catalogue{t: t, m: m, all: all}
}

func (c catalogue) entry(kind, id string) npm.Message {
	c.t.Helper()
	for _, msg := range c.all {
		if msg.Kind == kind && msg.ID == id {
			return msg
		}
	}
	c.t.Fatalf("the launcher's messages.json has no %s %q", kind, id)
	return npm.Message{}
}

// text is one entry's text with the run-time placeholders in vars filled in.
func (c catalogue) text(kind, id string, vars map[string]string) string {
	c.t.Helper()
	return npm.Fill(c.entry(kind, id).Text, vars)
}

// label names a context (a package manager, or a shell).
func (c catalogue) label(ctx string) string {
	c.t.Helper()
	return c.entry(npm.KindContext, ctx).Text
}

// cause is how the launcher prints one likely cause for the context ctx:
// the text, then each fix ("Fix:" for the first, "or:" for the others),
// with cd prepended to every fix.
func (c catalogue) cause(id, ctx, cd string, vars map[string]string) []string {
	c.t.Helper()
	e := c.entry(npm.KindCause, id)
	fixes, ok := e.Fixes[ctx]
	if !ok {
		c.t.Fatalf("cause %s has no fix for %s", id, ctx)
	}
	lines := []string{"  - " + npm.Fill(e.Text, vars)}
	for i, f := range fixes {
		prefix := "     or: "
		if i == 0 {
			prefix = "    Fix: "
		}
		lines = append(lines, prefix+cd+npm.Fill(f, vars))
	}
	return lines
}

// causes is the "Likely cause(s):" block for the given cause lines.
func causes(blocks ...[]string) []string {
	title := "Likely cause:"
	if len(blocks) > 1 {
		title = "Likely causes:"
	}
	out := []string{title}
	for _, b := range blocks {
		out = append(out, b...)
	}
	return out
}

// lines joins message lines as the launcher prints them.
func lines(ls ...[]string) string {
	var all []string
	for _, l := range ls {
		all = append(all, l...)
	}
	return strings.Join(all, "\n") + "\n"
}

// listBlock is a titled list as the launcher prints it.
func listBlock(title string, items []string) []string {
	out := []string{title}
	for _, it := range items {
		out = append(out, "  "+it)
	}
	return out
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// hostLabel describes h as the launcher's messages do: "linux-x64, glibc".
func hostLabel(h platforms.Host) string {
	s := h.OS + "-" + h.CPU
	if h.OS == "win32" {
		s = "windows-" + h.CPU
	}
	if h.OS == "linux" {
		s += ", " + h.Libc
	}
	return s
}

// launcherOrder names the packages the launcher looks for on h, in the
// order it tries them (the platform table's, best build first).
func launcherOrder(h platforms.Host) []string {
	var out []string
	for _, t := range h.Candidates() {
		out = append(out, platformPackage(t.Name))
	}
	return out
}

// assertMessage checks a launcher run that could not start a binary: exit
// code 1, nothing on stdout, and exactly want on stderr.
func assertMessage(t *testing.T, r result, want string) {
	t.Helper()
	if r.code != 1 || r.stdout != "" || r.stderr != want {
		t.Fatalf("want exit 1, no stdout and exactly this on stderr:\n%s\ngot: %s", want, r)
	}
}

// printedFix is the first "Fix:" command of a launcher message.
func printedFix(t *testing.T, stderr string) string {
	t.Helper()
	for _, l := range strings.Split(stderr, "\n") {
		if s, ok := strings.CutPrefix(l, "    Fix: "); ok {
			return s
		}
	}
	t.Fatalf("no fix printed in:\n%s", stderr)
	return ""
}
