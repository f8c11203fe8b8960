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
	"strings"
	"time"

	"github.com/agent-facets/release/internal/fanout"
	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/publisher"
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

// Record is s in the outcome vocabulary of every report.
func (s State) Record() outcome.Record {
	r := outcome.Record{Package: s.Package, Registry: registry.Redact(s.Registry), Note: s.Status.String()}
	switch s.Status {
	case Matches:
		r.Action = outcome.Identical
	case Missing:
		r.Action, r.Note = outcome.Missing, "not on the registry"
	case NoPublisher:
		r.Action = outcome.Missing
	case Drift:
		r.Action = outcome.Different
	default:
		r = outcome.Fail(s.Package, "", s.Err)
		r.Registry = registry.Redact(s.Registry)
	}
	return r
}

// Compare lists how have differs from want with the permission perm
// (Permission); empty means it matches.
func Compare(want publisher.Identity, perm string, have npmcli.Trust) []string {
	d := want.Diff(have.Identity())
	return append(d, permissionDiff(perm, have.Permissions)...)
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
	want, perm := e.Cfg.TrustedPublisher, Permission(e.Cfg)
	return fanout.Each(4, results, func(_ int, r registry.Result) State {
		s := State{Package: r.Spec.Name, Registry: regFor(r.Spec.Name)}
		switch {
		case r.Err != nil:
			s.Status, s.Err = Unknown, r.Err
		case r.State == registry.PackageMissing:
			s.Status = Missing
		default:
			s.Existing, s.Err = e.NPM.TrustList(ctx, s.Package, s.Registry, e.Facts.OTP)
			if s.Err != nil {
				s.Status = Unknown
				break
			}
			s.Status = classify(want, perm, s.Existing, &s.Diffs)
		}
		return s
	}), nil
}

func classify(want publisher.Identity, perm string, existing []npmcli.Trust, diffs *[]string) Status {
	if len(existing) == 0 {
		return NoPublisher
	}
	for _, t := range existing {
		if len(Compare(want, perm, t)) == 0 {
			return Matches
		}
	}
	for _, t := range existing {
		for _, d := range Compare(want, perm, t) {
			*diffs = append(*diffs, fmt.Sprintf("configuration %s: %s", t.ID, d))
		}
	}
	return Drift
}

// FixCommands returns the commands that replace a drifted configuration with
// the wanted one, granting perm (npm allows one configuration per package).
func FixCommands(s State, want publisher.Identity, perm string) []string {
	var cmds []string
	for _, t := range s.Existing {
		cmds = append(cmds, fmt.Sprintf("npm trust revoke %s --id %s --registry %s", s.Package, t.ID, s.Registry))
	}
	return append(cmds, npmcli.TrustCommand(want, s.Package, s.Registry, perm))
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
func PrintState(e *toolkit.Env, states []State) (notReady int) {
	out, want := e.Out, e.Cfg.TrustedPublisher
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
			for _, c := range FixCommands(s, want, Permission(e.Cfg)) {
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
	want := e.Cfg.TrustedPublisher
	e.Out.Heading("Trusted publishing still to configure for %d package(s):", len(todo))
	e.Out.Text("Enter these %s values under \"Trusted publishing\" on each package's access page:", want.Provider.Name())
	var rows [][]string
	for _, f := range want.Fields() {
		rows = append(rows, []string{f[0], f[1]})
	}
	e.Out.Table([]string{"field", "value"}, rows)
	for _, s := range todo {
		if page := AccessPage(s.Registry, s.Package); page != "" {
			e.Out.Line(report.Warn, "%s  %s", s.Package, page)
		} else {
			e.Out.Line(report.Warn, "%s", s.Package)
		}
	}
	perm := Permission(e.Cfg)
	e.Out.Text("Allow %s only (release.mode is %s).", publisher.PermissionName(perm), e.Cfg.Release.Mode)
	e.Out.Text("Or let the toolkit attach them all: mage trust:attach (runs `npm trust %s ... %s` per package; needs 2FA).", want.Provider, publisher.Flag(perm))
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

// Attach attaches the trusted publisher to every package that has none,
// leaves matching ones alone, and reports drift without touching it. It
// returns an error naming every package that is not ready afterwards.
func (a *Attacher) Attach(ctx context.Context, pkgs []string) ([]outcome.Record, error) {
	e := a.Env
	states, err := Check(ctx, e, pkgs)
	if err != nil {
		return nil, err
	}
	want := e.Cfg.TrustedPublisher
	pacing := a.Pacing
	if pacing == 0 {
		pacing = 2 * time.Second
	}
	sleep := a.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	var results []outcome.Record
	var problems []string
	wrote := false
	for _, s := range states {
		r := s.Record()
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
			if err := a.create(ctx, s, want); err != nil {
				r = outcome.Fail(s.Package, "", err)
				e.Out.Line(report.Failed, "%s: %v", s.Package, err)
				problems = append(problems, s.Package+" (attach failed)")
			} else {
				r.Action, r.Note = outcome.Published, "trusted publisher attached"
				e.Out.Line(report.Added, "%s: trusted publisher attached (%s, %s only)", s.Package, want, publisher.PermissionName(Permission(e.Cfg)))
			}
		case Missing:
			e.Out.Line(report.Failed, "%s: not on the registry: seed it first (mage seedCLI / mage seedAdapters)", s.Package)
			problems = append(problems, s.Package+" (missing)")
		case Drift:
			PrintState(e, []State{s})
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

// create runs `npm trust <provider>` with the mode's permission, retrying
// a rate-limited call after a growing pause.
func (a *Attacher) create(ctx context.Context, s State, want publisher.Identity) error {
	wait := 5 * time.Second
	for attempt := 1; ; attempt++ {
		err := a.Env.NPM.Trust(ctx, s.Package, s.Registry, a.Env.Facts.OTP, want, Permission(a.Env.Cfg))
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

// Report prints every package's trusted-publisher state, and what is left
// to configure, and fails (ErrNotReady) when any is not ready.
func Report(ctx context.Context, e *toolkit.Env, pkgs []string) error {
	states, err := Check(ctx, e, pkgs)
	if err != nil {
		return err
	}
	e.Out.Heading("Trusted publishing state of %d packages", len(pkgs))
	if n := PrintState(e, states); n > 0 {
		PrintTodo(e, states)
		return fmt.Errorf("%w: %d of %d need attention (see above)", ErrNotReady, n, len(pkgs))
	}
	e.Out.Text("All %d packages are ready for trusted publishing.", len(pkgs))
	return nil
}

// ErrNotReady is returned by a check that found packages not ready.
var ErrNotReady = errors.New("not every package is ready for trusted publishing")
