// Package releasereport writes what a release target did for machines and
// for CI pages: a JSON file (at $RELEASE_REPORT), replaced atomically after
// each release target, and a Markdown table appended to GitHub Actions'
// step summary ($GITHUB_STEP_SUMMARY). Errors and registry URLs in both
// are redacted of secrets.
//
// The JSON report has this shape (keys marked * are always present):
//
//	{
//	  "schema":     2,              * integer; this shape's version
//	  "tool":       "agent-facets", * string; the CLI package being released (release.json cli.package)
//	  "operation":  "publishCLI",   * string; publishPlatform | publishCLI | publishAdapters | release:approve | release:reject | rehearse | status | releaseAssets | githubRelease | notify
//	  "version":    "1.2.3",          string; the release version (absent for publishAdapters: each adapter has its own)
//	  "start":      "2025-01-02T03:04:05.678Z", * string; RFC 3339, UTC
//	  "end":        "2025-01-02T03:04:09.012Z", * string; RFC 3339, UTC
//	  "durationMs": 3334,           * integer; end - start in milliseconds
//	  "result":     "success",      * string; success | failure (status: success when the release is complete)
//	  "error":      "…",              string; why the operation failed (absent on success)
//	  "next":       "publishCLI",     string; status only: the next step in words
//	  "packages": [                 * array, possibly empty, in the operation's order
//	    {
//	      "name":       "@agent-facets/cli-linux-x64", * string
//	      "version":    "1.2.3",                       * string
//	      "action":     "published",  * string; published | identical | staged | missing | different | skipped | failed
//	      "tag":        "latest",       string; the dist-tag published to
//	      "integrity":  "sha512-…",     string; the tarball's sha512 integrity (a standalone archive's: "sha256:<hex>")
//	      "stageId":    "0b6c…",        string; the registry's id of a staged publish (stage mode)
//	      "registry":   "https://…/",   string; the registry URL, without credentials
//	      "durationMs": 812,          * integer; time spent on this package
//	      "error":      "…"             string; why this package failed
//	    }
//	  ]
//	}
//
// "identical" means the registry already held the version with the same
// bytes, so nothing was published; "staged" that the version waits in the
// registry's staging area for a maintainer's approval (stage mode; its
// "integrity" is what was staged, which release:approve checks the staged
// tarball against); "missing" means a package the operation
// needed was not on the registry; "different" that the registry holds the
// version with other bytes than this build. For status, "action" is the
// state found: published, missing, different, or failed (the registry
// could not be read, with the reason in "error"). For releaseAssets and
// githubRelease the "packages" are files (the archives, the checksums file)
// and the GitHub Release itself, "published" meaning written, created or
// uploaded now; for notify, the notice ("skipped" when not sent).
package releasereport

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/atomicfile"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/secret"
)

// Schema is the version of the JSON shape described in the package doc.
const Schema = 2

// Results of an operation.
const (
	Success = "success"
	Failure = "failure"
)

// Operations is every value of "operation": the targets that write a report.
var Operations = []string{"publishPlatform", "publishCLI", "publishAdapters", "release:approve", "release:reject", "rehearse", "status", "releaseAssets", "githubRelease", "notify"}

// Report is the JSON report of one operation.
type Report struct {
	Schema     int       `json:"schema"`
	Tool       string    `json:"tool"`
	Operation  string    `json:"operation"`
	Version    string    `json:"version,omitempty"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	DurationMS int64     `json:"durationMs"`
	Result     string    `json:"result"`
	Error      string    `json:"error,omitempty"`
	Next       string    `json:"next,omitempty"`
	Packages   []Package `json:"packages"`
}

// Package is one package's outcome.
type Package struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	Action     string `json:"action"`
	Tag        string `json:"tag,omitempty"`
	Integrity  string `json:"integrity,omitempty"`
	StageID    string `json:"stageId,omitempty"`
	Registry   string `json:"registry,omitempty"`
	DurationMS int64  `json:"durationMs"`
	Error      string `json:"error,omitempty"`
}

func newReport(op, tool, version string, start, end time.Time) *Report {
	return &Report{
		Schema:     Schema,
		Tool:       tool,
		Operation:  op,
		Version:    version,
		Start:      start.UTC().Truncate(time.Millisecond),
		End:        end.UTC().Truncate(time.Millisecond),
		DurationMS: end.Sub(start).Milliseconds(),
		Result:     Success,
		Packages:   []Package{},
	}
}

// New builds the report of operation op (publishPlatform, publishCLI,
// publishAdapters, rehearse, status) on tool at version (empty for
// publishAdapters) from its records and its error.
func New(op, tool, version string, start, end time.Time, recs []outcome.Record, err error) *Report {
	r := newReport(op, tool, version, start, end)
	for _, rec := range recs {
		p := Package{
			Name:       rec.Package,
			Version:    cmp.Or(rec.Version, version),
			Action:     string(rec.Action),
			Tag:        rec.Tag,
			Integrity:  rec.Integrity,
			StageID:    rec.StageID,
			Registry:   cleanURL(rec.Registry),
			DurationMS: rec.Duration.Milliseconds(),
			Error:      secret.Redact(rec.Error),
		}
		if rec.Action == outcome.Different && p.Error == "" {
			p.Error = fmt.Sprintf("the registry holds other bytes (registry %s, local build %s)", rec.Integrity, rec.Local)
		}
		r.Packages = append(r.Packages, p)
	}
	if err != nil {
		r.Result, r.Error = Failure, secret.Redact(err.Error())
	}
	return r
}

// Validate checks that data is a report of the shape described in the
// package doc: no unknown keys, every always-present key there with its
// type, and known values of schema, operation, result and action.
func Validate(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return fmt.Errorf("release report: %w", err)
	}
	var top map[string]any
	if err := json.Unmarshal(data, &top); err != nil {
		return fmt.Errorf("release report: %w", err)
	}
	var errs []error
	need := func(where string, m map[string]any, keys map[string]string) {
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			kind := keys[k]
			v, ok := m[k]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: %q is missing", where, k))
				continue
			}
			if got := jsonKind(v); got != kind {
				errs = append(errs, fmt.Errorf("%s: %q is %s, want %s", where, k, got, kind))
			}
		}
	}
	need("report", top, map[string]string{"schema": "number", "tool": "string", "operation": "string", "start": "string", "end": "string", "durationMs": "number", "result": "string", "packages": "array"})
	pkgs, _ := top["packages"].([]any)
	for i, p := range pkgs {
		m, ok := p.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("packages[%d] is %s, want object", i, jsonKind(p)))
			continue
		}
		need(fmt.Sprintf("packages[%d]", i), m, map[string]string{"name": "string", "version": "string", "action": "string", "durationMs": "number"})
	}
	if r.Schema != Schema {
		errs = append(errs, fmt.Errorf("report: schema is %d, want %d", r.Schema, Schema))
	}
	if !slices.Contains(Operations, r.Operation) {
		errs = append(errs, fmt.Errorf("report: operation %q is not one of %s", r.Operation, strings.Join(Operations, ", ")))
	}
	if r.Result != Success && r.Result != Failure {
		errs = append(errs, fmt.Errorf("report: result %q is neither %s nor %s", r.Result, Success, Failure))
	}
	if r.End.Before(r.Start) {
		errs = append(errs, fmt.Errorf("report: end %s is before start %s", r.End, r.Start))
	}
	var actions []string
	for _, a := range outcome.Actions {
		actions = append(actions, string(a))
	}
	for i, p := range r.Packages {
		if !slices.Contains(actions, p.Action) {
			errs = append(errs, fmt.Errorf("packages[%d]: action %q is not one of %s", i, p.Action, strings.Join(actions, ", ")))
		}
	}
	return errors.Join(errs...)
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	}
	return "object"
}

// cleanURL drops credentials from a registry URL.
func cleanURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return secret.Redact(s)
	}
	u.User = nil
	return secret.Redact(u.String())
}

// JSON returns the report as indented JSON, ending in a newline.
func (r *Report) JSON() ([]byte, error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(secret.Redact(string(data))), '\n'), nil
}

// Emit writes r where the run asks: the JSON report to reportPath
// ($RELEASE_REPORT) and the Markdown summary to summaryPath
// ($GITHUB_STEP_SUMMARY). An empty path: nothing written there.
func Emit(r *Report, reportPath, summaryPath string) error {
	var errs []error
	if reportPath != "" {
		if err := r.WriteJSON(reportPath); err != nil {
			errs = append(errs, fmt.Errorf("%w; point RELEASE_REPORT at a writable file, or unset it", err))
		}
	}
	if summaryPath != "" {
		if err := r.AppendMarkdown(summaryPath); err != nil {
			errs = append(errs, fmt.Errorf("%w; GITHUB_STEP_SUMMARY should name the file GitHub Actions provides", err))
		}
	}
	return errors.Join(errs...)
}

// WriteJSON writes the JSON report to path atomically: readers see the old
// file or the new one, never a part. Missing parent directories are made.
func (r *Report) WriteJSON(path string) error {
	data, err := r.JSON()
	if err != nil {
		return fmt.Errorf("release report: %w", err)
	}
	if err := writeAtomic(path, data); err != nil {
		return fmt.Errorf("write the release report %s: %w", path, err)
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, 0o644)
}

// AppendMarkdown appends the Markdown summary to path (GitHub Actions'
// step summary file), creating it when missing.
func (r *Report) AppendMarkdown(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("append the release summary to %s: %w", path, err)
	}
	if _, err := f.WriteString(r.Markdown()); err != nil {
		f.Close()
		return fmt.Errorf("append the release summary to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("append the release summary to %s: %w", path, err)
	}
	return nil
}

// Markdown returns a section for a CI page: a heading naming the operation,
// a table of the packages, and a one-line result.
func (r *Report) Markdown() string {
	var b strings.Builder
	title := r.Tool
	if r.Version != "" {
		title += "@" + r.Version
	}
	fmt.Fprintf(&b, "### %s %s\n\n", text(r.Operation), span(title))
	if len(r.Packages) > 0 {
		b.WriteString("| package | version | action | tag | integrity | time | error |\n")
		b.WriteString("| --- | --- | --- | --- | --- | ---: | --- |\n")
		for _, p := range r.Packages {
			cells := []string{code(p.Name), text(p.Version), text(p.Action), text(p.Tag), code(shorten(p.Integrity, 20)), duration(p.DurationMS), code(shorten(p.Error, 300))}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
		b.WriteString("\n")
	}
	b.WriteString(r.ResultLine())
	b.WriteString("\n\n")
	return secret.Redact(b.String())
}

// ResultLine says in one line how the operation ended: the counts per
// action and the time on success, the first line of the error on failure.
func (r *Report) ResultLine() string {
	counts := map[string]int{}
	for _, p := range r.Packages {
		counts[p.Action]++
	}
	var parts []string
	for _, a := range outcome.Actions {
		if n := counts[string(a)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a))
		}
	}
	what := strings.Join(parts, ", ")
	if what == "" {
		what = "no packages"
	}
	if r.Result == Success {
		return fmt.Sprintf("**✓ %s succeeded**: %s in %s.", r.Operation, what, cmp.Or(duration(r.DurationMS), "0 ms"))
	}
	line, _, _ := strings.Cut(r.Error, "\n")
	return fmt.Sprintf("**✗ %s failed**: %s; %s.", r.Operation, what, span(shorten(line, 500)))
}

// Text from a registry (error messages, integrities) may hold anything:
// links, images, HTML, emphasis. It is rendered as inline code, which
// Markdown (GitHub's included) shows as it is: no link, image, tag or
// autolink is ever made of it.

// span is s as inline code on one line, fenced with more backticks than s
// holds in a row, so that nothing in s can end it.
func span(s string) string {
	s = strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s))
	if s == "" {
		return ""
	}
	longest, run := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// code is s as inline code inside a table cell: a pipe is escaped, which
// GitHub's tables undo inside code too, so the row stays one row.
func code(s string) string {
	return strings.ReplaceAll(span(s), "|", `\|`)
}

// text is a cell of the toolkit's own words (versions, actions, tags),
// with Markdown's punctuation escaped all the same.
func text(s string) string {
	s = strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s))
	var b strings.Builder
	for _, c := range s {
		if c < 128 && strings.ContainsRune("\\`*_{}[]()<>#+!|~&", c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// duration formats milliseconds for people: "" for none, "812 ms", "3.2 s".
func duration(ms int64) string {
	switch {
	case ms <= 0:
		return ""
	case ms < 1000:
		return fmt.Sprintf("%d ms", ms)
	}
	return fmt.Sprintf("%.1f s", float64(ms)/1000)
}
