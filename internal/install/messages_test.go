package install_test

import (
	"strings"
	"testing"

	"github.com/agent-facets/release/npm"
	"github.com/agent-facets/release/platforms"
)

// message returns the launcher's text for one catalogue entry, rendered for
// the installed manifest (npm.Messages), with the run-time placeholders in
// vars ("host", "path", ...) filled in as lib/messages.js does.
func message(t *testing.T, m npm.Manifest, kind, id string, vars map[string]string) string {
	t.Helper()
	all, err := npm.Messages(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range all {
		if msg.Kind == kind && msg.ID == id {
			s := msg.Text
			for k, v := range vars {
				s = strings.ReplaceAll(s, "{"+k+"}", v)
			}
			return s
		}
	}
	t.Fatalf("the launcher's messages.json has no %s %q", kind, id)
	return ""
}

// causeLines is how the launcher prints one likely cause: the text, then
// each fix ("Fix:" for the first, "or:" for the others).
func causeLines(t *testing.T, m npm.Manifest, id string) []string {
	t.Helper()
	causes, err := npm.Causes(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range causes {
		if c.ID != id {
			continue
		}
		lines := []string{"  - " + c.Text}
		for i, f := range c.Fixes {
			if i == 0 {
				lines = append(lines, "    Fix: "+f)
			} else {
				lines = append(lines, "     or: "+f)
			}
		}
		return lines
	}
	t.Fatalf("the launcher's messages.json has no cause %q", id)
	return nil
}

// listBlock is a titled list as the launcher prints it.
func listBlock(title string, items []string) string {
	return title + "\n  " + strings.Join(items, "\n  ") + "\n"
}

// hostLabel describes h as the launcher's messages do: "linux-x64, glibc".
func hostLabel(h platforms.Host) string {
	s := h.OS + "-" + h.CPU
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

// assertFailure checks a launcher run that could not start a binary: a
// non-zero exit, nothing on stdout, and every expected piece of text on
// stderr, word for word.
func assertFailure(t *testing.T, r result, want []string, unwanted []string) {
	t.Helper()
	t.Logf("%s printed on stderr:\n%s", r.cmd, r.stderr)
	if r.code == 0 {
		t.Errorf("want a non-zero exit\n%s", r)
	}
	if r.stdout != "" {
		t.Errorf("want nothing on stdout\n%s", r)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q\n%s", w, r)
		}
	}
	for _, u := range unwanted {
		if strings.Contains(r.stderr, u) {
			t.Errorf("stderr has %q, which does not apply here\n%s", u, r)
		}
	}
}
