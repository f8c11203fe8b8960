// Package status reads the state of a release from the registry without
// changing anything: for every package, published / missing / different
// bytes, its integrity and latest tag, and the next action in words.
package status

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/version"
)

// State of one package in a release.
type State string

const (
	Published      State = "published"
	Missing        State = "missing"
	DifferentBytes State = "different bytes"
	Unknown        State = "unknown"
)

// Row is one package's state.
type Row struct {
	Package   string `json:"package"`
	Target    string `json:"target,omitempty"`
	State     State  `json:"state"`
	Integrity string `json:"integrity,omitempty"`
	Local     string `json:"localIntegrity,omitempty"`
	Latest    string `json:"latest,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Report is the state of a release.
type Report struct {
	Version  string `json:"version"`
	Rows     []Row  `json:"packages"`
	Complete bool   `json:"complete"`
	Next     string `json:"next"`
}

// Read reads the release state of version v: the CLI package and every
// platform package. Local integrities are compared when the dist holds the
// binaries.
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
		row := Row{Package: names[i], Latest: res.Latest, Integrity: res.Integrity}
		if i < len(targets) {
			row.Target = targets[i].Name
			if _, err := os.Stat(e.Cfg.BinaryPath(targets[i])); err == nil {
				if p, err := pack.Platform(e, targets[i], v); err == nil {
					row.Local = p.Info.Integrity
				}
			}
		}
		switch {
		case res.Err != nil:
			row.State, row.Error = Unknown, res.Err.Error()
			unknown = append(unknown, row.Package)
		case res.State != registry.Published:
			row.State = Missing
			if row.Target != "" {
				missingTargets = append(missingTargets, row.Target)
			}
		case row.Local != "" && row.Local != res.Integrity:
			row.State = DifferentBytes
			bad = append(bad, row.Package)
		default:
			row.State = Published
		}
		r.Rows = append(r.Rows, row)
	}
	cli := r.Rows[len(r.Rows)-1]
	switch {
	case len(unknown) > 0:
		r.Next = "the registry could not be read for " + strings.Join(unknown, ", ") + "; run status again"
	case len(bad) > 0:
		r.Next = "the registry holds other bytes than this build for " + strings.Join(bad, ", ") + ": this build is not the release; bump the version to release it"
	case len(missingTargets) > 0:
		steps := make([]string, len(missingTargets))
		for i, t := range missingTargets {
			steps[i] = "publishPlatform " + t
		}
		r.Next = strings.Join(steps, ", ") + ", then publishCLI"
	case cli.State == Missing:
		r.Next = "publishCLI"
	default:
		r.Complete = true
		r.Next = "nothing: the release is complete"
	}
	return r, nil
}

// Print writes the report as a table and the next action.
func Print(out *report.Printer, r *Report) {
	rows := make([][]string, len(r.Rows))
	for i, row := range r.Rows {
		integrity := row.Integrity
		if len(integrity) > 24 {
			integrity = integrity[:24] + "…"
		}
		rows[i] = []string{row.Package, string(row.State), integrity, row.Latest}
	}
	out.Heading("Release %s", r.Version)
	out.Table([]string{"package", "state", "integrity", "latest"}, rows)
	if r.Complete {
		out.Line(report.OK, "complete: every package is published at %s", r.Version)
	} else {
		out.Line(report.Warn, "incomplete; next: %s", r.Next)
	}
}

// ErrIncomplete is returned by the status target when the release is not
// complete, so its exit code tells.
var ErrIncomplete = fmt.Errorf("the release is not complete")
