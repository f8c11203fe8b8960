package publish

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/agent-facets/release/internal/library"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/workspace"
)

// Adapters releases library (adapter) packages. What it releases depends on
// the tag that started the run (o.Release, else the CI tag):
//
//   - a library tag <scope>/<name>@X.Y.Z: that one package, whose
//     package.json version must be the tag's;
//   - the CLI's tag: the libraries the CLI's source (cli.source) depends on
//     whose versions are not on the registry;
//   - no tag: every library whose version is not on the registry.
//
// The packages to release are built in dependency order, packed as their
// package manager's publish would (library.Pack) and linted, all before
// anything is written; then each is published and verified in order, as
// platform packages are (identical bytes: nothing to do; other bytes: stop).
func Adapters(ctx context.Context, e *toolkit.Env, o Options) ([]outcome.Record, error) {
	d, err := e.Libraries()
	if err != nil {
		return nil, err
	}
	d.PrintSkipped(e.Out)
	plan, err := library.NewPlan(ctx, e, d, cmp.Or(o.Release, e.Facts.Tag))
	if err != nil {
		return nil, err
	}
	recs := append([]outcome.Record(nil), plan.Others...)
	for _, r := range plan.Others {
		e.Out.Line(report.Skipped, "%s: %s", r, r.Note)
	}
	switch {
	case len(plan.Units) == 0 && plan.Mode == library.CLITag:
		e.Out.Line(report.OK, "every library the CLI depends on is on the registry: nothing to release before it")
		return recs, nil
	case len(plan.Units) == 0:
		e.Out.Line(report.OK, "every library's version is on the registry: nothing to release")
		return recs, nil
	}
	ws := plan.Discovery.Workspace
	names := make([]string, len(plan.Units))
	for i, u := range plan.Units {
		names[i] = u.String()
	}
	e.Out.Heading("Releasing %d librar%s: %s", len(names), plural(len(names), "y", "ies"), strings.Join(names, ", "))

	run, cleanup, err := library.ScriptRunner(ctx, e)
	if err != nil {
		return recs, err
	}
	defer cleanup()
	fail := func(u workspace.Package, err error) ([]outcome.Record, error) {
		return append(recs, outcome.Fail(u.Name, u.Version, err)), err
	}
	for _, u := range plan.Units {
		if err := library.Build(ctx, e, ws, u, run); err != nil {
			return fail(u, err)
		}
	}
	var packed []*library.Packed
	for _, u := range plan.Units {
		p, err := library.Pack(ctx, e, ws, u, run)
		if err != nil {
			return fail(u, fmt.Errorf("%w; nothing was published", err))
		}
		e.Out.Line(report.OK, "packed %s: %d files, %s", p.Package.String(), len(p.Files), outcome.Short(p.Info.Integrity))
		for _, c := range p.Rewritten.Changes {
			e.Out.Line(report.Info, "  %s", c)
		}
		packed = append(packed, p)
	}

	// Lint every tarball before the first write.
	earlier := map[string]bool{}
	var problems []library.Problem
	for _, p := range packed {
		problems = append(problems, library.Lint(p, library.LintContext{
			Workspace:   ws,
			Placeholder: e.Cfg.Release.PlaceholderVersion,
			Available: func(name, v string) bool {
				return earlier[name+"@"+v] || plan.Released(e, name, v)
			},
		})...)
		earlier[p.Package.String()] = true
	}
	if len(problems) > 0 {
		err := &library.LintError{Problems: problems}
		for _, p := range packed {
			recs = append(recs, outcome.Fail(p.Name, p.Version, errors.New(problemsOf(problems, p.Package.String()))))
		}
		return recs, err
	}

	for i, p := range packed {
		rec, err := One(ctx, e, &p.Package, o)
		recs = append(recs, rec)
		if err != nil {
			if rest := len(packed) - i - 1; rest > 0 {
				err = fmt.Errorf("%w; the %d librar%s after it were not published", err, rest, plural(rest, "y", "ies"))
			}
			return recs, err
		}
	}
	return recs, nil
}

// problemsOf is the problems of one package, for its record.
func problemsOf(problems []library.Problem, id string) string {
	var mine []string
	for _, p := range problems {
		if p.Package == id {
			mine = append(mine, p.Field+" "+p.Problem)
		}
	}
	if len(mine) == 0 {
		return "not published: another library of this run has problems"
	}
	return strings.Join(mine, "; ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// LibrariesMissingError: publishCLI found public workspace packages the
// CLI's source depends on that are not on the registry at their workspace
// versions, and published nothing.
type LibrariesMissingError struct {
	Source  string
	Missing []string // name@version
}

func (e *LibrariesMissingError) Error() string {
	return fmt.Sprintf("the CLI's source (%s) depends on %d librar%s not on the registry at the workspace's version: %s; the CLI package was not published. Release %s first (go tool mage publishAdapters, or push a tag named as each is listed here), then run publishCLI again",
		e.Source, len(e.Missing), plural(len(e.Missing), "y", "ies"), strings.Join(e.Missing, ", "), plural(len(e.Missing), "it", "them"))
}

// LibrariesReady checks, when cli.source is set, that every public
// workspace package the CLI's source depends on is on the registry at its
// workspace version (the seeded placeholder does not count); in stage mode
// a staged version counts too, as it does for the platform packages.
func LibrariesReady(ctx context.Context, e *toolkit.Env, o Options) error {
	if e.Cfg.CLI.Source == "" {
		return nil
	}
	if e.Cfg.Adapters.Workspace == "" {
		return fmt.Errorf("%s: cli.source is set but adapters.workspace is not: cli.source is a directory of that workspace", e.Cfg.File)
	}
	ws, err := workspace.Load(e.Cfg.Path(e.Cfg.Adapters.Workspace))
	if err != nil {
		return err
	}
	needs, src, err := library.CLINeeds(e, ws)
	if err != nil {
		return err
	}
	if len(needs) == 0 {
		return nil
	}
	regs := map[string]string{}
	specs := make([]registry.Spec, len(needs))
	for i, n := range needs {
		if regs[n.Name], err = library.RegistryOf(ctx, e, n); err != nil {
			return err
		}
		specs[i] = registry.Spec{Name: n.Name, Version: n.Version}
	}
	results, err := e.Reg.CheckAll(ctx, func(n string) string { return regs[n] }, specs, true)
	if err != nil {
		return fmt.Errorf("cannot tell whether the libraries the CLI depends on are on the registry, so the CLI package was not published: %w", err)
	}
	me := &LibrariesMissingError{Source: ws.Rel(src)}
	staged := 0
	for _, r := range results {
		if r.Spec.Version == e.Cfg.Release.PlaceholderVersion {
			me.Missing = append(me.Missing, r.Spec.String())
			continue
		}
		if r.State == registry.Published {
			continue
		}
		if Staging(e, o) {
			found, err := o.reader(e, cmp.Or[Auth](o.Auth, NpmLogin{})).Find(ctx, regs[r.Spec.Name], r.Spec.Name, r.Spec.Version)
			if err != nil {
				return fmt.Errorf("cannot tell whether %s is staged, so the CLI package was not staged: %w", r.Spec, err)
			}
			if len(found) > 0 {
				staged++
				continue
			}
		}
		me.Missing = append(me.Missing, r.Spec.String())
	}
	if len(me.Missing) > 0 {
		return me
	}
	where := "on the registry"
	if staged > 0 {
		where = fmt.Sprintf("on the registry (%d staged)", staged)
	}
	e.Out.Line(report.OK, "the %d librar%s the CLI depends on %s %s", len(needs), plural(len(needs), "y", "ies"), plural(len(needs), "is", "are"), where)
	return nil
}
