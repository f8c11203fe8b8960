package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/secret"
)

func TestLinesAndTable(t *testing.T) {
	var buf bytes.Buffer
	p := Plain(&buf)
	p.Line(Added, "%s@%s", "@s/a", "0.0.1")
	p.Line(Skipped, "@s/b (already on the registry)")
	p.Table([]string{"package", "state"}, [][]string{{"@s/a", "seeded"}, {"@s/long-name", "present"}})
	want := "+ @s/a@0.0.1\n~ @s/b (already on the registry)\n" +
		"package       state\n" +
		"------------  -------\n" +
		"@s/a          seeded\n" +
		"@s/long-name  present\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
	if strings.Contains(buf.String(), "\x1b[") {
		t.Error("colour written to a non-terminal")
	}
}

func TestNoColorAndRedaction(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	secret.Register("tok-abcdefgh-123")
	var buf bytes.Buffer
	p := Plain(&buf)
	p.Line(Failed, "exchange with tok-abcdefgh-123 failed")
	if got := buf.String(); got != "✗ exchange with [redacted] failed\n" {
		t.Errorf("got %q", got)
	}
}
