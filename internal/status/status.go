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
	"strings"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/pack"
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
	Next     string
}

// Read reads the release state of version v: the CLI package and every
// platform package. The registry's bytes are compared with the local build
// when the dist holds the binaries, and with the CLI package as this
// configuration makes it.
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
	var missingTargets, bad, unknown []string
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
		}
		switch {
		case res.Err != nil:
			row.Action, row.Error = outcome.Failed, "the registry could not be read: "+res.Err.Error()
			unknown = append(unknown, row.Package)
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
		case row.Note != "":
			out.Line(report.Warn, "%s: %s", row.Package, row.Note)
		}
	}
	if r.Complete {
		out.Line(report.OK, "complete: every package is published at %s", r.Version)
	} else {
		out.Line(report.Warn, "incomplete; next: %s", r.Next)
	}
}

// ErrIncomplete is returned by the status target when the release is not
// complete, so its exit code tells.
var ErrIncomplete = fmt.Errorf("the release is not complete")
