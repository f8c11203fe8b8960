// Package status reads the state of a release from the registry without
// changing anything (nothing is written, not even a tarball: local
// integrities are computed in memory): for every package, published /
// missing / different bytes, its integrity and latest tag, and the next
// action in words.
package status

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/library"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/version"
)

// Report is the state of a release.
type Report struct {
	Version string
	// Packages are the platform packages in target order, then the CLI
	// package. Action is what was found: published, missing, different
	// (the registry holds other bytes than the local build), or failed
	// (the registry could not be read; Error says why).
	Packages []outcome.Record
	Complete bool
	// AwaitingApproval is set when nothing is missing and some packages
	// are staged (stage mode): a maintainer's release:approve finishes it.
	AwaitingApproval bool
	Next             string
}

// Read reads the release state of version v: the CLI package and every
// platform package. The registry's bytes are compared with the local build
// when the dist holds the binaries (else with the records packing left
// beside the tarballs), and with the CLI package as this configuration
// makes it.
func Read(ctx context.Context, e *toolkit.Env, v string) (*Report, error) {
	if _, err := version.Validate(v); err != nil {
		return nil, err
	}
	targets := e.Cfg.PlatformTargets()
	names := []string{}
	for _, t := range targets {
		names = append(names, e.Cfg.PlatformPackage(t.Name))
	}
	names = append(names, e.Cfg.CLI.Package)
	regFor, err := e.RegistryFor(ctx, names)
	if err != nil {
		return nil, err
	}
	specs := make([]registry.Spec, len(names))
	for i, n := range names {
		specs[i] = registry.Spec{Name: n, Version: v}
	}
	results, _ := e.Reg.CheckAll(ctx, regFor, specs, true)
	r := &Report{Version: v}
	reader := &publish.StagedReader{Env: e}
	var missingTargets, bad, unknown, staged []string
	for i, res := range results {
		row := outcome.Record{Package: names[i], Version: v, Latest: res.Latest, Integrity: res.Integrity, Registry: registry.Redact(regFor(names[i]))}
		var local *pack.Contents
		if i < len(targets) {
			row.Target = targets[i].Name
			if _, err := os.Stat(e.Cfg.BinaryPath(targets[i])); err == nil {
				// Only a binary build made at v is this release's build.
				if verr := build.Vouch(e, targets[i], v); verr != nil {
					row.Note = "local binary not compared: " + verr.Error()
				} else {
					local, _ = pack.PlatformContents(e, targets[i], v)
				}
			}
		} else {
			local, _ = pack.CLIContents(e, v)
		}
		if local != nil {
			if info, err := local.Integrity(); err == nil {
				row.Local = info.Integrity
			}
		} else if i < len(targets) {
			// A CI job that has the platform jobs' records, not their binaries.
			if rec, err := pack.ReadRecord(e, row.Package, v); err == nil {
				row.Local = rec.Integrity
			}
		}
		switch {
		case res.Err != nil:
			row.Action, row.Error = outcome.Failed, "the registry could not be read: "+res.Err.Error()
			unknown = append(unknown, row.Package)
		case res.State != registry.Published && lookStaged(ctx, e, reader, regFor(names[i]), &row):
			switch row.Action {
			case outcome.Staged:
				staged = append(staged, row.Package)
			case outcome.Different:
				bad = append(bad, row.Package)
			default:
				unknown = append(unknown, row.Package)
			}
		case res.State != registry.Published:
			row.Action = outcome.Missing
			if row.Target != "" {
				missingTargets = append(missingTargets, row.Target)
			}
		case row.Local != "" && row.Local != res.Integrity:
			row.Action, row.Note = outcome.Different, "the registry holds other bytes than this build"
			bad = append(bad, row.Package)
		default:
			row.Action = outcome.Published
		}
		r.Packages = append(r.Packages, row)
	}
	cli := r.Packages[len(r.Packages)-1]
	switch {
	case len(unknown) > 0:
		r.Next = "the registry could not be read for " + strings.Join(unknown, ", ") + " (see above); fix that and run status again"
	case len(bad) > 0:
		r.Next = "the registry holds other bytes than this build for " + strings.Join(bad, ", ") + ": this build is not the release; bump the version to release it"
	case len(missingTargets) > 0:
		steps := make([]string, len(missingTargets))
		for i, t := range missingTargets {
			steps[i] = "publishPlatform " + t
		}
		r.Next = strings.Join(steps, ", ") + ", then publishCLI"
	case cli.Action == outcome.Missing:
		r.Next = "publishCLI"
	case len(staged) > 0:
		r.AwaitingApproval = true
		r.Next = fmt.Sprintf("release:approve %s (a maintainer, with 2FA: %d package(s) are staged)", v, len(staged))
	default:
		r.Complete = true
		r.Next = "nothing: the release is complete"
	}
	return r, nil
}

// Print writes the report as a table, the cause of every row that could
// not be read, and the next action.
func Print(out *report.Printer, r *Report) {
	rows := make([][]string, len(r.Packages))
	for i, row := range r.Packages {
		integrity := row.Integrity
		if len(integrity) > 24 {
			integrity = integrity[:24] + "…"
		}
		state := string(row.Action)
		if row.Action == outcome.Different {
			state = "different bytes"
		}
		rows[i] = []string{row.Package, state, integrity, row.Latest}
	}
	out.Heading("Release %s", r.Version)
	out.Table([]string{"package", "state", "integrity", "latest"}, rows)
	for _, row := range r.Packages {
		switch {
		case row.Error != "":
			out.Line(report.Failed, "%s: %s", row.Package, row.Error)
		case row.Action == outcome.Different:
			out.Line(report.Failed, "%s: %s (local %s, registry %s)", row.Package, row.Note, outcome.Short(row.Local), outcome.Short(row.Integrity))
		case row.Action == outcome.Staged:
			out.Line(report.Wait, "%s: %s", row.Package, row.Note)
		case row.Note != "":
			out.Line(report.Warn, "%s: %s", row.Package, row.Note)
		}
	}
	switch {
	case r.Complete:
		out.Line(report.OK, "complete: every package is published at %s", r.Version)
	case r.AwaitingApproval:
		out.Line(report.Wait, "staged, not public yet; next: %s", r.Next)
	default:
		out.Line(report.Warn, "incomplete; next: %s", r.Next)
	}
}

// Overall is the state of a release and, when lr is not nil, of its
// libraries: whether it is done (in stage mode, staged everywhere counts),
// the next action, and every row. Libraries waiting for approval while the
// rest is public make the next action theirs.
func Overall(r *Report, lr *LibraryReport, stage bool) (done bool, next string, rows []outcome.Record) {
	done, next, rows = r.Complete || stage && r.AwaitingApproval, r.Next, r.Packages
	if lr == nil {
		return done, next, rows
	}
	rows = append(slices.Clone(rows), lr.Packages...)
	switch libsDone := lr.Complete || stage && lr.AwaitingApproval; {
	case !libsDone && done:
		done, next = false, lr.Next
	case !libsDone:
		next += "; libraries: " + lr.Next
	case !lr.Complete && r.Complete:
		next = lr.Next
	}
	return done, next, rows
}

// ErrIncomplete is returned by the status target when the release is not
// complete, so its exit code tells.
var ErrIncomplete = fmt.Errorf("the release is not complete")

// LibraryReport is the state of the library packages, each at its
// workspace version.
type LibraryReport struct {
	// Packages are the libraries in dependency order: published, missing
	// (the seeded placeholder alone counts as missing) or failed (the
	// registry could not be read).
	Packages []outcome.Record
	// Skipped are the workspace packages that are not libraries, and why.
	Skipped  []toolkit.Skip
	Complete bool
	// AwaitingApproval is set when nothing is missing and some libraries
	// are staged (stage mode): a maintainer's release:approve finishes it.
	AwaitingApproval bool
	Next             string
}

// Libraries reads the state of every library package (the set
// publishAdapters releases) at its workspace version.
func Libraries(ctx context.Context, e *toolkit.Env) (*LibraryReport, error) {
	d, err := e.Libraries()
	if err != nil {
		return nil, err
	}
	if d.Workspace == nil {
		return nil, fmt.Errorf("status -adapters reads each library's version from the workspace, but %s lists adapters.packages by name: set adapters.workspace", e.Cfg.File)
	}
	r := &LibraryReport{Skipped: d.Skipped}
	regs := map[string]string{}
	specs := make([]registry.Spec, len(d.Packages))
	for i, p := range d.Packages {
		if regs[p.Name], err = library.RegistryOf(ctx, e, p); err != nil {
			return nil, err
		}
		specs[i] = registry.Spec{Name: p.Name, Version: p.Version}
	}
	results, _ := e.Reg.CheckAll(ctx, func(n string) string { return regs[n] }, specs, true)
	reader := &publish.StagedReader{Env: e}
	var missing, unknown, staged []string
	for _, res := range results {
		row := outcome.Record{Package: res.Spec.Name, Version: res.Spec.Version, Integrity: res.Integrity, Latest: res.Latest, Registry: registry.Redact(regs[res.Spec.Name])}
		switch {
		case res.Err != nil:
			row.Action, row.Error = outcome.Failed, "the registry could not be read: "+res.Err.Error()
			unknown = append(unknown, row.Package)
		case res.State == registry.Published && res.Spec.Version == e.Cfg.Release.PlaceholderVersion:
			row.Action, row.Note = outcome.Missing, "only the seeded placeholder"
			missing = append(missing, row.String())
		case res.State != registry.Published && lookStaged(ctx, e, reader, regs[res.Spec.Name], &row):
			// Libraries are packed by npm, so there are no local bytes to
			// compare here: release:approve checks them against CI's reports.
			if row.Action == outcome.Staged {
				staged = append(staged, row.String())
			} else {
				unknown = append(unknown, row.Package)
			}
		case res.State != registry.Published:
			row.Action = outcome.Missing
			missing = append(missing, row.String())
		default:
			row.Action = outcome.Published
		}
		r.Packages = append(r.Packages, row)
	}
	switch {
	case len(unknown) > 0:
		r.Next = "the registry could not be read for " + strings.Join(unknown, ", ") + " (see above); fix that and run status again"
	case len(missing) > 0:
		r.Next = "publishAdapters (or push the tag of each: " + strings.Join(missing, ", ") + ")"
	case len(staged) > 0:
		r.AwaitingApproval = true
		steps := make([]string, len(staged))
		for i, tag := range staged {
			steps[i] = "release:approve " + tag + " -reports=<dir>"
		}
		r.Next = strings.Join(steps, ", ") + " (a maintainer, with 2FA; release:approve of the CLI's version approves them too)"
	default:
		r.Complete = true
		r.Next = "nothing: every library is published at its version"
	}
	return r, nil
}

// PrintLibraries writes a library report: a line per workspace package
// that is not a library, a table, and the next action.
func PrintLibraries(out *report.Printer, r *LibraryReport) {
	out.Heading("Libraries")
	for _, s := range r.Skipped {
		out.Line(report.Skipped, "%s skipped: %s", s.Package.Name, s.Reason)
	}
	rows := make([][]string, len(r.Packages))
	for i, row := range r.Packages {
		state := string(row.Action)
		switch {
		case strings.HasPrefix(row.Note, state):
			state = row.Note // "staged (id …), waiting for …"
		case row.Note != "":
			state += " (" + row.Note + ")"
		}
		rows[i] = []string{row.Package, row.Version, state, outcome.Short(row.Integrity), row.Latest}
	}
	out.Table([]string{"package", "version", "state", "integrity", "latest"}, rows)
	for _, row := range r.Packages {
		if row.Error != "" {
			out.Line(report.Failed, "%s: %s", row.Package, row.Error)
		}
	}
	switch {
	case r.Complete:
		out.Line(report.OK, "every library is published at its version")
	case r.AwaitingApproval:
		out.Line(report.Wait, "libraries staged, not public yet; next: %s", r.Next)
	default:
		out.Line(report.Warn, "libraries incomplete; next: %s", r.Next)
	}
}
