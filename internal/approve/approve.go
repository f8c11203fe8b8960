// Package approve finishes a staged release, the maintainer's step in stage
// mode: CI staged every package (npm stage publish, with trusted
// publishing); Approve checks each staged tarball against what CI built,
// refuses before approving anything when one is missing or differs, then
// approves the platform packages and the libraries, waits until the
// registry serves them, and approves the CLI package last, so users never
// see the CLI before its binaries. Reject removes what is staged. Both need
// a one-time password (2FA), reused while npm accepts it, and both can be
// run again after any failure: what is done is skipped.
package approve

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/fanout"
	"github.com/agent-facets/release/internal/library"
	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/version"
	"github.com/agent-facets/release/internal/workspace"
)

// Options tune an approval or a rejection.
type Options struct {
	// Reports is a directory holding the JSON reports the CI jobs wrote
	// (RELEASE_REPORT): the integrities of what they staged. Empty: the
	// staged tarballs are compared with the local build (the dist
	// directory) instead.
	Reports string
	// OTP is the one-time password to start with (NPM_OTP).
	OTP string
	// AskOTP, when set, asks the person at the terminal for a one-time
	// password: at the start when OTP is empty, and again whenever npm
	// refuses the code in use. Without it a refused code stops the run.
	AskOTP func(ctx context.Context, prompt string) (string, error)
	// Verify tunes the wait for the registry to serve what was approved.
	Verify publish.Verifier
	// Staged reads the staging area; nil means a reader of its own, with
	// npm's login when the registry refuses anonymous reads.
	Staged *publish.StagedReader
}

// Kind is a package's part in the release.
type Kind int

// The kinds, in approval order: the CLI package comes last.
const (
	Platform Kind = iota
	Library
	CLI
)

// item is one package of the release and what was found about it.
type item struct {
	Kind     Kind
	Name     string
	Version  string
	Registry string
	Target   string
	// Pkg is a library's workspace package (its publishConfig.registry).
	Pkg    workspace.Package
	Expect expectation
	// Staged is the staged publish to approve (when Published is false);
	// All every staged publish of the version (Reject).
	Staged    registry.Staged
	All       []registry.Staged
	Published bool
	// Problem says why the release cannot be approved as it is.
	Problem string
	// Action is what was found (Staged, Identical) or done.
	Rec outcome.Record
}

func (it *item) String() string { return it.Name + "@" + it.Version }

// IsLibraryTag reports whether what names a library released on its own
// (<scope>/<name>@X.Y.Z, the tags changesets makes) rather than a version
// of the CLI.
func IsLibraryTag(e *toolkit.Env, what string) bool {
	rest, ok := strings.CutPrefix(what, e.Cfg.Scope+"/")
	return ok && e.Cfg.Scope != "" && strings.Contains(rest, "@")
}

// plan lists the release's packages: for a CLI version v the platform
// packages, the libraries (the adapters at their workspace versions) and
// the CLI package; for a library's tag that library alone; with the
// registries npm uses for them.
func plan(ctx context.Context, e *toolkit.Env, v string) ([]*item, error) {
	var items []*item
	if IsLibraryTag(e, v) {
		d, err := e.Libraries()
		if err != nil {
			return nil, fmt.Errorf("cannot tell which libraries there are: %w", err)
		}
		name, ver, err := library.ParseTag(e, d, v)
		if err != nil {
			return nil, err
		}
		p, _ := d.Lookup(name)
		items = append(items, &item{Kind: Library, Name: name, Version: ver, Pkg: p})
		return withRegistries(ctx, e, items)
	}
	if _, err := version.Validate(v); err != nil {
		return nil, err
	}
	for _, t := range e.Cfg.PlatformTargets() {
		items = append(items, &item{Kind: Platform, Name: e.Cfg.PlatformPackage(t.Name), Version: v, Target: t.Name})
	}
	libs, err := e.Adapters()
	if err != nil {
		return nil, fmt.Errorf("cannot tell which libraries belong to the release: %w", err)
	}
	for _, l := range libs {
		if l.Version == "" {
			e.Out.Line(report.Warn, "%s: no version known (listed by name in %s), so it is left alone", l.Name, e.Cfg.File)
			continue
		}
		items = append(items, &item{Kind: Library, Name: l.Name, Version: l.Version, Pkg: l})
	}
	items = append(items, &item{Kind: CLI, Name: e.Cfg.CLI.Package, Version: v})
	return withRegistries(ctx, e, items)
}

// withRegistries sets each item's registry, the one npm uses for it (for a
// library, its publishConfig.registry first, as it was staged).
func withRegistries(ctx context.Context, e *toolkit.Env, items []*item) ([]*item, error) {
	for _, it := range items {
		reg, err := e.Registry(ctx, it.Name)
		if it.Kind == Library {
			reg, err = library.RegistryOf(ctx, e, it.Pkg)
		}
		if err != nil {
			return nil, err
		}
		it.Registry = reg
		it.Rec = outcome.Record{Package: it.Name, Version: it.Version, Target: it.Target, Registry: registry.Redact(reg)}
	}
	return items, nil
}

func (o Options) reader(e *toolkit.Env) *publish.StagedReader {
	if o.Staged != nil {
		return o.Staged
	}
	return &publish.StagedReader{Env: e}
}

// inspect finds, for every item, whether it is published or staged at its
// version and whether its bytes are what CI built. It writes nothing.
func inspect(ctx context.Context, e *toolkit.Env, items []*item, r *publish.StagedReader, expect map[string]expectation) {
	fanout.Each(6, items, func(_ int, it *item) struct{} {
		it.Expect = expect[it.String()]
		x := it.Expect.Integrity
		st := e.Reg.Check(ctx, it.Registry, registry.Spec{Name: it.Name, Version: it.Version}, true)
		switch {
		case st.Err != nil:
			it.Problem = "cannot read it from the registry: " + st.Err.Error()
			return struct{}{}
		case st.State == registry.Published && x != "" && st.Integrity != x:
			it.Problem = fmt.Sprintf("published with other bytes (registry %s) than CI built (%s, from %s)", st.Integrity, x, it.Expect.From)
			it.Rec.Integrity, it.Rec.Local = st.Integrity, x
			it.Rec.Action = outcome.Different
			return struct{}{}
		case st.State == registry.Published:
			it.Published = true
			it.Rec.Action, it.Rec.Integrity, it.Rec.Note = outcome.Identical, st.Integrity, "already published"
			return struct{}{}
		}
		found, err := r.Find(ctx, it.Registry, it.Name, it.Version)
		switch {
		case err != nil:
			it.Problem = "cannot read its staged versions: " + err.Error()
			return struct{}{}
		case len(found) == 0:
			it.Problem = "neither staged nor published"
			it.Rec.Action = outcome.Missing
			return struct{}{}
		case len(found) > 1:
			ids := make([]string, len(found))
			for i, f := range found {
				ids[i] = f.ID
			}
			it.Problem = fmt.Sprintf("staged %d times (ids %s): reject all but one with `npm stage reject <id>`", len(found), strings.Join(ids, ", "))
			return struct{}{}
		}
		it.Staged = found[0]
		it.Rec.StageID, it.Rec.Tag = it.Staged.ID, it.Staged.Tag
		integrity, err := r.Integrity(ctx, it.Registry, it.Staged)
		if err != nil {
			it.Problem = "cannot read its staged tarball: " + err.Error()
			return struct{}{}
		}
		it.Rec.Integrity = integrity
		switch {
		case x == "":
			it.Problem = fmt.Sprintf("staged (id %s, %s) but nothing says what CI built: no report names it", it.Staged.ID, integrity)
			if it.Kind == Library {
				it.Problem += " (libraries are checked against the CI reports only: pass -reports)"
			}
		case integrity != x:
			it.Problem = fmt.Sprintf("staged (id %s) with other bytes (%s) than CI built (%s, from %s): reject it (`npm stage reject %s`), or stage again from the right build", it.Staged.ID, integrity, x, it.Expect.From, it.Staged.ID)
			it.Rec.Local = x
			it.Rec.Action = outcome.Different
			return struct{}{}
		}
		it.Rec.Action, it.Rec.Local = outcome.Staged, x
		return struct{}{}
	})
	for _, it := range items {
		if it.Problem == "" {
			continue
		}
		it.Rec.Error = it.Problem
		if it.Rec.Action != outcome.Different && it.Rec.Action != outcome.Missing {
			it.Rec.Action = outcome.Failed
		}
	}
}

// RefusedError: the staged release does not match what CI built, or is
// incomplete; nothing was approved.
type RefusedError struct {
	Version  string
	Problems []string // "name@version: why"
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("nothing was approved: %d package(s) of %s are not as CI built them: %s", len(e.Problems), e.Version, strings.Join(e.Problems, "; "))
}

// OTPError: npm refused the one-time password part of the way.
type OTPError struct {
	Version  string
	At       string
	Approved []string
	Left     []string
	Verb     string // "approve" or "reject"
	Err      error
}

func (e *OTPError) Error() string {
	done := "none"
	if len(e.Approved) > 0 {
		done = strings.Join(e.Approved, ", ")
	}
	verbed := e.Verb + "d"
	return fmt.Sprintf("npm refused the one-time password (EOTP: wrong, or expired) when asked to %s %s. %s so far: %s. Still staged: %s. Run `mage release:%s %s` again with a fresh code (NPM_OTP=<code>, or in a terminal): it skips what is %s",
		e.Verb, e.At, capital(verbed), done, strings.Join(e.Left, ", "), e.Verb, e.Version, verbed)
}

func (e *OTPError) Unwrap() error { return e.Err }

func capital(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// codes hands out the one-time password: the one given, or asked for, and
// a new one whenever npm refuses it.
type codes struct {
	code string
	ask  func(ctx context.Context, prompt string) (string, error)
}

// with runs do with the current code; when npm answers EOTP and a person
// can be asked, it asks for a new code and tries again (three times at
// most).
func (c *codes) with(ctx context.Context, what string, do func(code string) error) error {
	if c.code == "" && c.ask != nil {
		code, err := c.ask(ctx, "One-time password (2FA) to "+what+": ")
		if err != nil {
			return err
		}
		c.code = strings.TrimSpace(code)
	}
	err := do(c.code)
	for tries := 0; npmcli.IsCode(err, "EOTP") && c.ask != nil && tries < 3; tries++ {
		code, aerr := c.ask(ctx, "npm refused that one-time password (wrong or expired). A new one to "+what+": ")
		if aerr != nil {
			return aerr
		}
		c.code = strings.TrimSpace(code)
		err = do(c.code)
	}
	return err
}

// Approve approves the staged release v: it checks every package first and
// refuses, naming each one, when any is missing or has other bytes than
// CI built; then it approves the platform packages and the libraries,
// waits until the registry serves them, and approves the CLI package.
func Approve(ctx context.Context, e *toolkit.Env, v string, o Options) ([]outcome.Record, error) {
	items, err := plan(ctx, e, v)
	if err != nil {
		return nil, err
	}
	var expect map[string]expectation
	if o.Reports == "" && IsLibraryTag(e, v) {
		return nil, fmt.Errorf("a library is checked against what CI built only through its report: pass -reports=<dir> (the RELEASE_REPORT of the publishAdapters job that staged %s); nothing was approved", v)
	}
	if o.Reports != "" {
		if expect, err = fromReports(o.Reports); err != nil {
			return nil, err
		}
		e.Out.Line(report.Info, "comparing the staged tarballs with the CI reports in %s", o.Reports)
	} else {
		var binaries int
		if expect, binaries, err = fromBuild(e, v); err != nil {
			return nil, err
		}
		if binaries == 0 {
			return nil, fmt.Errorf("nothing to check the staged tarballs against: pass -reports=<dir> (the RELEASE_REPORT files of the CI jobs), or put the binaries CI built in %s; nothing was approved", e.Cfg.Path(e.Cfg.Dist.Dir))
		}
		e.Out.Line(report.Info, "comparing the staged tarballs with the local build (%d of %d platform binaries in %s)", binaries, len(e.Cfg.Targets), e.Cfg.Path(e.Cfg.Dist.Dir))
	}
	r := o.reader(e)
	e.Out.Line(report.Wait, "reading what is staged and published for %d packages", len(items))
	inspect(ctx, e, items, r, expect)
	var problems []string
	for _, it := range items {
		switch {
		case it.Problem != "":
			problems = append(problems, it.String()+": "+it.Problem)
			e.Out.Line(report.Failed, "%s: %s", it, it.Problem)
		case it.Published:
			e.Out.Line(report.Skipped, "%s already published (%s)", it, outcome.Short(it.Rec.Integrity))
		default:
			e.Out.Line(report.OK, "%s staged (id %s) with the bytes CI built (%s)", it, it.Staged.ID, outcome.Short(it.Rec.Integrity))
		}
	}
	recs := func() []outcome.Record {
		out := make([]outcome.Record, len(items))
		for i, it := range items {
			out[i] = it.Rec
		}
		return out
	}
	if len(problems) > 0 {
		return recs(), &RefusedError{Version: v, Problems: problems}
	}

	c := &codes{code: o.OTP, ask: o.AskOTP}
	var first, last []*item
	for _, it := range items {
		if it.Kind == CLI {
			last = append(last, it)
		} else {
			first = append(first, it)
		}
	}
	if err := approveWave(ctx, e, v, items, first, c, o); err != nil {
		return recs(), err
	}
	if err := approveWave(ctx, e, v, items, last, c, o); err != nil {
		return recs(), err
	}
	return recs(), nil
}

// approveWave approves the staged items of wave, one at a time, then waits
// until the registry serves every item of the wave.
func approveWave(ctx context.Context, e *toolkit.Env, v string, all, wave []*item, c *codes, o Options) error {
	for _, it := range wave {
		if it.Published {
			continue
		}
		e.Out.Line(report.Wait, "approving %s (id %s)", it, it.Staged.ID)
		start := time.Now()
		err := c.with(ctx, "approve the staged release "+v, func(code string) error {
			return e.NPM.StageApprove(ctx, it.Staged.ID, it.Registry, code, false)
		})
		if err != nil && !landed(ctx, e, it) {
			it.Rec.Error = err.Error()
			if npmcli.IsCode(err, "EOTP") {
				return otpError(v, "approve", it, all, err)
			}
			it.Rec.Action = outcome.Failed
			return fmt.Errorf("approve %s (id %s): %w; what is approved stays approved: run release:approve %s again to finish", it, it.Staged.ID, err, v)
		}
		it.Published = true
		it.Rec.Action, it.Rec.Note, it.Rec.Error = outcome.Published, "approved", ""
		it.Rec.Duration = time.Since(start)
		e.Out.Line(report.Added, "%s approved", it)
	}
	var xs []publish.Expect
	for _, it := range wave {
		xs = append(xs, publish.Expect{Name: it.Name, Version: it.Version, Integrity: it.Rec.Integrity, Registry: it.Registry})
	}
	if len(xs) == 0 {
		return nil
	}
	w := o.Verify
	w.Env = e
	what := fmt.Sprintf("the %d package(s) approved before %s", len(xs), last(all))
	if len(xs) == 1 {
		what = xs[0].String()
	}
	if err := w.Wait(ctx, what, xs); err != nil {
		return fmt.Errorf("approved, but: %w; run release:approve %s again to keep waiting (it approves nothing twice)", err, v)
	}
	return nil
}

// last is the package approved last: the CLI package.
func last(all []*item) string { return all[len(all)-1].String() }

// landed reports whether it is published with the staged bytes: an
// approval whose answer was lost may have happened.
func landed(ctx context.Context, e *toolkit.Env, it *item) bool {
	st := e.Reg.Check(ctx, it.Registry, registry.Spec{Name: it.Name, Version: it.Version}, true)
	return st.Err == nil && st.State == registry.Published && st.Integrity == it.Rec.Integrity
}

func otpError(v, verb string, at *item, all []*item, err error) error {
	oe := &OTPError{Version: v, At: at.String(), Verb: verb, Err: err}
	for _, it := range all {
		switch {
		case verb == "approve" && it.Published && it.Rec.Action == outcome.Published:
			oe.Approved = append(oe.Approved, it.String())
		case verb == "reject" && it.Rec.Action == outcome.Rejected:
			oe.Approved = append(oe.Approved, it.String())
		case verb == "approve" && !it.Published, verb == "reject" && it.Rec.Action == outcome.Staged:
			oe.Left = append(oe.Left, it.String())
		}
	}
	return oe
}
