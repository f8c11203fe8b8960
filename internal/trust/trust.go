// Package trust reads and attaches npm trusted-publisher configurations (the
// CI identity allowed to publish a package with OIDC), idempotently: a
// matching configuration is left alone, a different one is reported as drift
// with the commands that would fix it, and nothing is ever revoked silently.
package trust

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
)

// Status is a package's readiness for trusted publishing.
type Status int

const (
	// Missing: the package is not on the registry; seed it first.
	Missing Status = iota
	// NoPublisher: the package exists without a trusted publisher.
	NoPublisher
	// Matches: the configured trusted publisher is attached.
	Matches
	// Drift: a different trusted publisher is attached.
	Drift
	// Unknown: the state could not be read (see State.Err).
	Unknown
)

func (s Status) String() string {
	return [...]string{"missing", "no publisher", "matches", "drift", "unknown"}[s]
}

// State is one package's trusted-publisher state.
type State struct {
	Package  string
	Registry string
	Status   Status
	// Existing are the configurations found on the registry.
	Existing []npmcli.Trust
	// Diffs say how each differing configuration differs (Drift only).
	Diffs []string
	Err   error
}

// Want returns the configured CircleCI identity.
func Want(e *toolkit.Env) npmcli.CircleCITrust {
	tp := e.Cfg.TrustedPublisher
	return npmcli.CircleCITrust{OrgID: tp.OrgID, ProjectID: tp.ProjectID, PipelineDefinitionID: tp.PipelineDefinitionID, VCSOrigin: tp.VCSOrigin, ContextIDs: tp.ContextIDs}
}

// Compare lists how have differs from want; empty means it matches.
func Compare(want npmcli.CircleCITrust, have npmcli.Trust) []string {
	var d []string
	if have.Type != "circleci" {
		return []string{fmt.Sprintf("type is %q, want \"circleci\"", have.Type)}
	}
	field := func(name, got, want string) {
		if got != want {
			d = append(d, fmt.Sprintf("%s is %q, want %q", name, got, want))
		}
	}
	field("org-id", have.OrgID, want.OrgID)
	field("project-id", have.ProjectID, want.ProjectID)
	field("pipeline-definition-id", have.PipelineDefinitionID, want.PipelineDefinitionID)
	field("vcs-origin", have.VCSOrigin, want.VCSOrigin)
	a, b := slices.Clone(have.ContextIDs), slices.Clone(want.ContextIDs)
	sort.Strings(a)
	sort.Strings(b)
	if !slices.Equal(a, b) {
		d = append(d, fmt.Sprintf("context-ids are %v, want %v", a, b))
	}
	if len(have.Permissions) > 0 && !slices.Contains(have.Permissions, "createPackage") {
		d = append(d, fmt.Sprintf("permissions are %v: publishing (createPackage) is not allowed", have.Permissions))
	}
	return d
}

// Check reads the state of every package: existence over HTTP, then
// `npm trust list` for those that exist.
func Check(ctx context.Context, e *toolkit.Env, pkgs []string) ([]State, error) {
	regFor, err := e.RegistryFor(ctx, pkgs)
	if err != nil {
		return nil, err
	}
	specs := make([]registry.Spec, len(pkgs))
	for i, p := range pkgs {
		specs[i] = registry.Spec{Name: p}
	}
	results, _ := e.Reg.CheckAll(ctx, regFor, specs, true)
	want := Want(e)
	states := make([]State, len(pkgs))
	g := new(errgroup.Group)
	g.SetLimit(4)
	for i, r := range results {
		g.Go(func() error {
			s := State{Package: r.Spec.Name, Registry: regFor(r.Spec.Name)}
			switch {
			case r.Err != nil:
				s.Status, s.Err = Unknown, r.Err
			case r.State == registry.PackageMissing:
				s.Status = Missing
			default:
				s.Existing, s.Err = e.NPM.TrustList(ctx, s.Package, s.Registry, e.OTP)
				if s.Err != nil {
					s.Status = Unknown
					break
				}
				s.Status = classify(want, s.Existing, &s.Diffs)
			}
			states[i] = s
			return nil
		})
	}
	_ = g.Wait()
	return states, nil
}

func classify(want npmcli.CircleCITrust, existing []npmcli.Trust, diffs *[]string) Status {
	if len(existing) == 0 {
		return NoPublisher
	}
	for _, t := range existing {
		if len(Compare(want, t)) == 0 {
			return Matches
		}
	}
	for _, t := range existing {
		for _, d := range Compare(want, t) {
			*diffs = append(*diffs, fmt.Sprintf("configuration %s: %s", t.ID, d))
		}
	}
	return Drift
}

// FixCommands returns the commands that replace a drifted configuration with
// the wanted one (npm allows one configuration per package).
func FixCommands(s State, want npmcli.CircleCITrust) []string {
	var cmds []string
	for _, t := range s.Existing {
		cmds = append(cmds, fmt.Sprintf("npm trust revoke %s --id %s --registry %s", s.Package, t.ID, s.Registry))
	}
	return append(cmds, CreateCommand(s.Package, s.Registry, want))
}

// CreateCommand is the `npm trust circleci` command line that attaches want.
func CreateCommand(pkg, reg string, want npmcli.CircleCITrust) string {
	return "npm " + strings.Join(want.Args(pkg), " ") + " --registry " + reg
}

// AccessPage returns the web page where a maintainer attaches a trusted
// publisher by hand. A registry at "registry.<domain>" has its website at
// "www.<domain>"; other registries have no known page.
func AccessPage(reg, pkg string) string {
	u, err := url.Parse(reg)
	if err != nil {
		return ""
	}
	rest, ok := strings.CutPrefix(u.Hostname(), "registry.")
	if !ok {
		return ""
	}
	return fmt.Sprintf("https://www.%s/package/%s/access", rest, pkg)
}

// PrintState prints one line per package and returns how many are not ready.
func PrintState(out *report.Printer, states []State, want npmcli.CircleCITrust) (notReady int) {
	for _, s := range states {
		switch s.Status {
		case Matches:
			out.Line(report.OK, "%s: trusted publisher matches", s.Package)
		case Missing:
			notReady++
			out.Line(report.Failed, "%s: not on the registry: seed it first (mage seedCLI / mage seedAdapters)", s.Package)
		case NoPublisher:
			notReady++
			out.Line(report.Warn, "%s: no trusted publisher", s.Package)
		case Drift:
			notReady++
			out.Line(report.Warn, "%s: a different trusted publisher is attached (drift)", s.Package)
			for _, d := range s.Diffs {
				out.Text("    %s", d)
			}
			out.Text("    to replace it (npm allows one per package):")
			for _, c := range FixCommands(s, want) {
				out.Text("      %s", c)
			}
		case Unknown:
			notReady++
			out.Line(report.Failed, "%s: cannot read its state: %v", s.Package, s.Err)
		}
	}
	return notReady
}

// PrintTodo prints, for every package without a trusted publisher, what to
// enter and where: the values, the web page when known, and the equivalent
// command.
func PrintTodo(e *toolkit.Env, states []State) {
	var todo []State
	for _, s := range states {
		if s.Status == NoPublisher {
			todo = append(todo, s)
		}
	}
	if len(todo) == 0 {
		return
	}
	want := Want(e)
	e.Out.Heading("Trusted publishing still to configure for %d package(s):", len(todo))
	e.Out.Text("Enter these CircleCI values under \"Trusted publishing\" on each package's access page:")
	e.Out.Table([]string{"field", "value"}, [][]string{
		{"Organization ID", want.OrgID},
		{"Project ID", want.ProjectID},
		{"Pipeline Definition ID", want.PipelineDefinitionID},
		{"Context IDs", strings.Join(want.ContextIDs, ", ")},
		{"VCS Origin", want.VCSOrigin},
	})
	for _, s := range todo {
		if page := AccessPage(s.Registry, s.Package); page != "" {
			e.Out.Line(report.Warn, "%s  %s", s.Package, page)
		} else {
			e.Out.Line(report.Warn, "%s", s.Package)
		}
	}
	e.Out.Text("Or let the toolkit attach them all: mage trust:attach (runs `npm trust circleci ... --allow-publish` per package; needs 2FA).")
}

// Attacher attaches the configured trusted publisher to packages.
type Attacher struct {
	Env *toolkit.Env
	// Pacing is the pause between two `npm trust` writes (npm recommends
	// about 2 s in bulk). Zero means 2 s.
	Pacing time.Duration
	// Sleep waits; nil means time.Sleep honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Result of Attach for one package.
type Result struct {
	State State
	// Attached is true when this run created the configuration.
	Attached bool
	Err      error
}

// Attach attaches the trusted publisher to every package that has none,
// leaves matching ones alone, and reports drift without touching it. It
// returns an error naming every package that is not ready afterwards.
func (a *Attacher) Attach(ctx context.Context, pkgs []string) ([]Result, error) {
	e := a.Env
	states, err := Check(ctx, e, pkgs)
	if err != nil {
		return nil, err
	}
	want := Want(e)
	pacing := a.Pacing
	if pacing == 0 {
		pacing = 2 * time.Second
	}
	sleep := a.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	var results []Result
	var problems []string
	wrote := false
	for _, s := range states {
		r := Result{State: s}
		switch s.Status {
		case Matches:
			e.Out.Line(report.Skipped, "%s: trusted publisher already matches", s.Package)
		case NoPublisher:
			if wrote {
				if err := sleep(ctx, pacing); err != nil {
					return results, err
				}
			}
			wrote = true
			r.Err = a.create(ctx, s, want)
			if r.Err != nil {
				e.Out.Line(report.Failed, "%s: %v", s.Package, r.Err)
				problems = append(problems, s.Package+" (attach failed)")
			} else {
				r.Attached = true
				e.Out.Line(report.Added, "%s: trusted publisher attached (CircleCI project %s)", s.Package, want.ProjectID)
			}
		case Missing:
			e.Out.Line(report.Failed, "%s: not on the registry: seed it first (mage seedCLI / mage seedAdapters)", s.Package)
			problems = append(problems, s.Package+" (missing)")
		case Drift:
			PrintState(e.Out, []State{s}, want)
			problems = append(problems, s.Package+" (drift)")
		case Unknown:
			e.Out.Line(report.Failed, "%s: cannot read its state: %v", s.Package, s.Err)
			problems = append(problems, s.Package+" (unknown)")
		}
		results = append(results, r)
	}
	if len(problems) > 0 {
		return results, fmt.Errorf("trusted publishing is not ready for %d package(s): %s", len(problems), strings.Join(problems, ", "))
	}
	return results, nil
}

// create runs `npm trust circleci`, retrying a rate-limited call after a
// growing pause.
func (a *Attacher) create(ctx context.Context, s State, want npmcli.CircleCITrust) error {
	wait := 5 * time.Second
	for attempt := 1; ; attempt++ {
		err := a.Env.NPM.TrustCircleCI(ctx, s.Package, s.Registry, a.Env.OTP, want)
		if err == nil || attempt == 4 || !npmcli.IsCode(err, "E429") {
			if npmcli.IsCode(err, "EOTP") {
				return fmt.Errorf("%w: this account needs a 2FA code: run again in a terminal, or set NPM_OTP", err)
			}
			return err
		}
		a.Env.Out.Line(report.Wait, "%s: rate limited by the registry; trying again in %s", s.Package, wait)
		if err := a.sleep(ctx, wait); err != nil {
			return err
		}
		wait *= 2
	}
}

func (a *Attacher) sleep(ctx context.Context, d time.Duration) error {
	if a.Sleep != nil {
		return a.Sleep(ctx, d)
	}
	return sleepCtx(ctx, d)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ErrNotReady is returned by a check that found packages not ready.
var ErrNotReady = errors.New("not every package is ready for trusted publishing")
