// Package outcome is the one vocabulary for what happened to a package in
// any operation (publish, seed, trust, status) and in every report: an
// Action, and a Record per package for progress lines, summary tables and
// the JSON report.
package outcome

import (
	"strings"
	"time"

	"github.com/agent-facets/release/internal/report"
)

// Action is what happened to a package, or, for a read-only operation, what
// was found.
type Action string

const (
	// Published: written now (a version, a placeholder, a trusted publisher).
	Published Action = "published"
	// Identical: already there as wanted (same bytes, same publisher):
	// nothing to do.
	Identical Action = "identical"
	// Staged: uploaded for approval, not public yet.
	Staged Action = "staged"
	// Rejected: a staged upload deleted unapproved (release:reject).
	Rejected Action = "rejected"
	// Missing: not on the registry.
	Missing Action = "missing"
	// Different: there with other contents than wanted (other bytes, or a
	// different trusted publisher).
	Different Action = "different"
	// Skipped: not part of this run (a private package, say), with a note why.
	Skipped Action = "skipped"
	// Failed: could not be done or read; Error says why.
	Failed Action = "failed"
)

// Actions is every Action, for documentation and validation.
var Actions = []Action{Published, Identical, Staged, Rejected, Missing, Different, Skipped, Failed}

// Mark is the status mark of a line about an Action.
func (a Action) Mark() report.Mark {
	switch a {
	case Published, Staged:
		return report.Added
	case Identical, Skipped, Rejected:
		return report.Skipped
	case Missing, Different:
		return report.Warn
	case Failed:
		return report.Failed
	}
	return report.Info
}

// Record is one package's outcome.
type Record struct {
	Package string
	Version string
	Action  Action
	// Target is the platform target of a platform package.
	Target string
	// Tag is the dist-tag published to.
	Tag string
	// Integrity is the registry's (or the published) tarball integrity;
	// Local the local build's, when it was compared.
	Integrity, Local string
	// Latest is the registry's latest dist-tag.
	Latest string
	// StageID is the registry's id of a staged publish (Staged).
	StageID  string
	Registry string
	Duration time.Duration
	// Note says more about the Action ("placeholder", "drift", why skipped).
	Note string
	// Error is why it failed (redacted).
	Error string
}

// Fail returns the Record of a package that failed with err.
func Fail(pkg, version string, err error) Record {
	r := Record{Package: pkg, Version: version, Action: Failed}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// String is "name@version", or the name alone.
func (r Record) String() string {
	if r.Version == "" {
		return r.Package
	}
	return r.Package + "@" + r.Version
}

// Count returns how many records have one of the actions.
func Count(recs []Record, actions ...Action) int {
	n := 0
	for _, r := range recs {
		for _, a := range actions {
			if r.Action == a {
				n++
				break
			}
		}
	}
	return n
}

// Summary prints one row per record.
func Summary(out *report.Printer, recs []Record) {
	rows := make([][]string, len(recs))
	for i, r := range recs {
		d := ""
		if r.Duration > 0 {
			d = r.Duration.Round(100 * time.Millisecond).String()
		}
		note := r.Tag
		if r.Note != "" {
			note = strings.TrimSpace(note + " " + r.Note)
		}
		if r.Error != "" {
			note = FirstLine(r.Error)
		}
		rows[i] = []string{r.Package, r.Version, string(r.Action), Short(r.Integrity), d, note}
	}
	out.Table([]string{"package", "version", "result", "integrity", "time", "tag / note"}, rows)
}

// Short abbreviates an integrity for a line or a table cell.
func Short(integrity string) string {
	if len(integrity) > 20 {
		return integrity[:20] + "…"
	}
	return integrity
}

// FirstLine is the first line of s, at most 100 characters.
func FirstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return s
}
