package releasereport

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"

	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/secret"
)

const token = "npm_reportTestSecret0123456789"

var start = time.Date(2025, 3, 4, 5, 6, 7, 891_000_000, time.UTC)

// records has one of every action, a secret in an error and credentials in
// a registry URL.
func records() []outcome.Record {
	return []outcome.Record{
		{Package: "@agent-facets/cli-linux-x64", Version: "1.2.3", Action: outcome.Published, Tag: "latest", Integrity: "sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAA", Registry: "http://user:pass@127.0.0.1:4873/", Duration: 812 * time.Millisecond},
		{Package: "@agent-facets/cli-darwin-arm64", Version: "1.2.3", Action: outcome.Identical, Integrity: "sha512-BBBB", Registry: "http://127.0.0.1:4873/", Duration: 40 * time.Millisecond},
		{Package: "@agent-facets/cli-win32-x64", Version: "1.2.3", Action: outcome.Failed, Duration: 1500 * time.Millisecond, Error: "exchange with " + token + " failed | status 403\nsecond line"},
		{Package: "@agent-facets/cli-linux-arm64", Version: "1.2.3", Action: outcome.Missing},
	}
}

func failed() *Report {
	return New("publishCLI", "agent-facets", "1.2.3", start, start.Add(3*time.Second+250*time.Millisecond), records(),
		errors.New("1 platform package(s) are not on the registry at 1.2.3 (token "+token+")"))
}

func TestJSONReportHasTheDocumentedShape(t *testing.T) {
	secret.Register(token)
	path := filepath.Join(t.TempDir(), "reports", "release.json") // the directory does not exist yet
	if err := Emit(failed(), path, ""); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(data); err != nil {
		t.Fatalf("the written report does not validate: %v\n%s", err, data)
	}

	// Decoded strictly, the values are the records'.
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var got Report
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Schema != 2 || got.Tool != "agent-facets" || got.Operation != "publishCLI" || got.Version != "1.2.3" || got.Result != Failure {
		t.Errorf("header = %+v", got)
	}
	if !got.Start.Equal(start) || !got.End.Equal(start.Add(3250*time.Millisecond)) || got.DurationMS != 3250 {
		t.Errorf("times = %s .. %s (%d ms)", got.Start, got.End, got.DurationMS)
	}
	if len(got.Packages) != 4 {
		t.Fatalf("%d packages, want 4", len(got.Packages))
	}
	want := []Package{
		{Name: "@agent-facets/cli-linux-x64", Version: "1.2.3", Action: "published", Tag: "latest", Integrity: "sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAA", Registry: "http://127.0.0.1:4873/", DurationMS: 812},
		{Name: "@agent-facets/cli-darwin-arm64", Version: "1.2.3", Action: "identical", Integrity: "sha512-BBBB", Registry: "http://127.0.0.1:4873/", DurationMS: 40},
		{Name: "@agent-facets/cli-win32-x64", Version: "1.2.3", Action: "failed", DurationMS: 1500, Error: "exchange with [redacted] failed | status 403\nsecond line"},
		{Name: "@agent-facets/cli-linux-arm64", Version: "1.2.3", Action: "missing"},
	}
	for i := range want {
		if got.Packages[i] != want[i] {
			t.Errorf("packages[%d] =\n%+v\nwant\n%+v", i, got.Packages[i], want[i])
		}
	}
	if got.Error != "1 platform package(s) are not on the registry at 1.2.3 (token [redacted])" {
		t.Errorf("error = %q", got.Error)
	}
	for _, leak := range []string{token, "user:pass"} {
		if strings.Contains(string(data), leak) {
			t.Errorf("the report holds %q", leak)
		}
	}
	// Timestamps are RFC 3339 in UTC, as documented.
	var raw map[string]any
	json.Unmarshal(data, &raw)
	if raw["start"] != "2025-03-04T05:06:07.891Z" {
		t.Errorf("start = %v", raw["start"])
	}
	// Optional keys are absent, not empty.
	if _, ok := raw["next"]; ok {
		t.Error("next is present in a publishing report")
	}
	pkg0 := raw["packages"].([]any)[3].(map[string]any)
	for _, k := range []string{"tag", "integrity", "registry", "error"} {
		if _, ok := pkg0[k]; ok {
			t.Errorf("packages[3] has an empty %q", k)
		}
	}
	// The write is atomic: no temporary file is left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 || entries[0].Name() != "release.json" {
		t.Errorf("directory holds %v, want only release.json", entries)
	}
}

func TestReportIsReplacedAtomically(t *testing.T) {
	path := filepath.Join(t.TempDir(), "release.json")
	if err := os.WriteFile(path, []byte(strings.Repeat("old report ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := New("publishPlatform", "agent-facets", "1.2.3", start, start.Add(time.Second), records()[:1], nil)
	if err := ok.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if err := Validate(data); err != nil || strings.Contains(string(data), "old report") {
		t.Errorf("replaced file: %v\n%s", err, data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(entries))
	}
}

func TestValidateRejectsOtherShapes(t *testing.T) {
	good, err := failed().JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(good); err != nil {
		t.Fatalf("a built report does not validate: %v", err)
	}
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(good, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	pkg := func(m map[string]any) map[string]any { return m["packages"].([]any)[0].(map[string]any) }
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"unknown key", edit(func(m map[string]any) { m["extra"] = 1 }), `unknown field "extra"`},
		{"missing tool", edit(func(m map[string]any) { delete(m, "tool") }), `report: "tool" is missing`},
		{"null packages", edit(func(m map[string]any) { m["packages"] = nil }), `"packages" is null, want array`},
		{"unknown operation", edit(func(m map[string]any) { m["operation"] = "deploy" }), `operation "deploy" is not one of`},
		{"unknown result", edit(func(m map[string]any) { m["result"] = "ok" }), `result "ok" is neither`},
		{"other schema", edit(func(m map[string]any) { m["schema"] = 1 }), "schema is 1, want 2"},
		{"package without name", edit(func(m map[string]any) { delete(pkg(m), "name") }), `packages[0]: "name" is missing`},
		{"unknown action", edit(func(m map[string]any) { pkg(m)["action"] = "deployed" }), `action "deployed" is not one of`},
		{"unknown package key", edit(func(m map[string]any) { pkg(m)["size"] = 3 }), `unknown field "size"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestStepSummaryIsAppended(t *testing.T) {
	secret.Register(token)
	summary := filepath.Join(t.TempDir(), "step_summary.md")
	if err := os.WriteFile(summary, []byte("## Build\n\nbuilt 12 targets\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok := New("publishPlatform", "agent-facets", "1.2.3", start, start.Add(852*time.Millisecond), records()[:2], nil)
	if err := Emit(ok, "", summary); err != nil {
		t.Fatal(err)
	}
	if err := Emit(failed(), "", summary); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	got := string(data)
	wantInOrder := []string{
		"## Build\n\nbuilt 12 targets\n\n",
		"### publishPlatform `agent-facets@1.2.3`\n\n",
		"| package | version | action | tag | integrity | time | error |\n| --- | --- | --- | --- | --- | ---: | --- |\n",
		"| `@agent-facets/cli-linux-x64` | 1.2.3 | published | latest | `sha512-AAAAAAAAAAAAA…` | 812 ms |  |\n",
		"| `@agent-facets/cli-darwin-arm64` | 1.2.3 | identical |  | `sha512-BBBB` | 40 ms |  |\n",
		"**✓ publishPlatform succeeded**: 1 published, 1 identical in 852 ms.\n\n",
		"### publishCLI `agent-facets@1.2.3`\n\n",
		// A pipe is escaped and a newline flattened, so the row stays one row.
		"| `@agent-facets/cli-win32-x64` | 1.2.3 | failed |  |  | 1.5 s | `exchange with [redacted] failed \\| status 403 second line` |\n",
		"| `@agent-facets/cli-linux-arm64` | 1.2.3 | missing |  |  |  |  |\n",
		"**✗ publishCLI failed**: 1 published, 1 identical, 1 missing, 1 failed; `1 platform package(s) are not on the registry at 1.2.3 (token [redacted])`.\n\n",
	}
	rest := got
	for _, w := range wantInOrder {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("summary lacks (in order) %q\n--- summary ---\n%s", w, got)
		}
		rest = rest[i+len(w):]
	}
	if strings.Contains(got, token) {
		t.Error("the summary holds the token")
	}
	// Every table row has as many cells as the header.
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "| ") {
			if n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"); n != 8 {
				t.Errorf("row with %d separators, want 8: %q", n, line)
			}
		}
	}
}

func TestEmitNothingOrFail(t *testing.T) {
	if err := Emit(failed(), "", ""); err != nil {
		t.Errorf("Emit with neither path: %v", err)
	}

	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, nil, 0o644)
	err := Emit(failed(), filepath.Join(file, "release.json"), filepath.Join(file, "summary.md"))
	if err == nil {
		t.Fatal("Emit under a regular file succeeded")
	}
	for _, want := range []string{
		"write the release report " + filepath.Join(file, "release.json"),
		"point RELEASE_REPORT at a writable file, or unset it",
		"append the release summary to " + filepath.Join(file, "summary.md"),
		"GITHUB_STEP_SUMMARY should name the file GitHub Actions provides",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestStatusReport: the status operation's records, as status.Read makes
// them, in the report: different bytes and unreadable rows carry why.
func TestStatusReport(t *testing.T) {
	recs := []outcome.Record{
		{Package: "@agent-facets/cli-linux-x64", Target: "linux-x64", Action: outcome.Published, Integrity: "sha512-AAAA", Latest: "1.2.3"},
		{Package: "@agent-facets/cli-linux-x64-musl", Target: "linux-x64-musl", Action: outcome.Missing},
		{Package: "@agent-facets/cli-darwin-arm64", Target: "darwin-arm64", Action: outcome.Different, Integrity: "sha512-REG", Local: "sha512-LOCAL"},
		{Package: "agent-facets", Action: outcome.Failed, Error: "the registry could not be read: GET …: 503"},
	}
	r := New("status", "agent-facets", "1.2.3", start, start.Add(time.Second), recs, errors.New("the release is not complete"))
	r.Next = "publishPlatform linux-x64-musl, then publishCLI"
	data, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(data); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if r.Operation != "status" || r.Result != Failure || r.Error != "the release is not complete" {
		t.Errorf("header = %+v", r)
	}
	want := []struct{ action, err string }{
		{"published", ""},
		{"missing", ""},
		{"different", "the registry holds other bytes (registry sha512-REG, local build sha512-LOCAL)"},
		{"failed", "the registry could not be read: GET …: 503"},
	}
	for i, w := range want {
		if p := r.Packages[i]; p.Action != w.action || p.Error != w.err || p.Version != "1.2.3" {
			t.Errorf("packages[%d] = %+v, want action %s error %q", i, p, w.action, w.err)
		}
	}
	if r := New("status", "agent-facets", "1.2.3", start, start, recs[:1], nil); r.Result != Success || r.Error != "" {
		t.Errorf("complete release: %+v", r)
	}
}

// hostile is what a registry (or something between it and us) could put in
// an error message.
const hostile = "denied: [click here](http://127.0.0.1:1/phish) ![x](http://127.0.0.1:1/x.png) <img src=\"http://127.0.0.1:1/y.png\"> " +
	"<a href=\"http://127.0.0.1:1/\">a</a> **bold** _em_ http://127.0.0.1:1/autolink www.example.invalid `tick` ``two`` | pipe &amp; <script>alert(1)</script>"

// renderGitHub renders Markdown as GitHub does for step summaries:
// CommonMark with GitHub's tables, autolinks and raw HTML.
func renderGitHub(t *testing.T, md string) string {
	t.Helper()
	var b strings.Builder
	gm := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(html.WithUnsafe()))
	if err := gm.Convert([]byte(md), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// MarkupIn returns the HTML elements in rendered that registry text could
// have made (links, images, any tag but the table's, code and emphasis the
// summary itself writes).
func markupIn(rendered string) []string {
	var found []string
	for _, m := range regexp.MustCompile(`<(/?[a-zA-Z][a-zA-Z0-9]*)`).FindAllStringSubmatch(rendered, -1) {
		switch strings.TrimPrefix(strings.ToLower(m[1]), "/") {
		case "h3", "p", "table", "thead", "tbody", "tr", "th", "td", "code", "strong":
		default:
			found = append(found, m[0])
		}
	}
	return found
}

func TestRegistryTextIsNotMarkdown(t *testing.T) {
	recs := []outcome.Record{{Package: "@agent-facets/cli-linux-x64", Version: "1.2.3", Action: outcome.Failed, Error: hostile},
		{Package: "@agent-facets/cli-linux-arm64", Version: "1.2.3", Action: outcome.Different, Integrity: "sha512-<img src=x>", Local: "sha512-[a](b)"}}
	r := New("publishPlatform", "agent-facets", "1.2.3", start, start.Add(time.Second), recs, errors.New(hostile))
	html := renderGitHub(t, r.Markdown())
	if m := markupIn(html); len(m) > 0 {
		t.Errorf("registry text became markup %v:\n%s", m, html)
	}
	// The words are all still there, as text.
	for _, w := range []string{"[click here](http://127.0.0.1:1/phish)", "&lt;img src=", "**bold**", "``two``", "| pipe"} {
		if !strings.Contains(html, w) {
			t.Errorf("rendered summary lacks %q:\n%s", w, html)
		}
	}
	// Every row is still one row of the table.
	if n := strings.Count(html, "<tr>"); n != 3 {
		t.Errorf("%d table rows, want 3:\n%s", n, html)
	}
}
