package publish

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/version"
)

// Mode is the release mode o asks for: o.Mode, else release.mode.
func Mode(e *toolkit.Env, o Options) string {
	if o.Mode != "" {
		return o.Mode
	}
	return e.Cfg.Release.Mode
}

// Staging reports whether o stages rather than publishes.
func Staging(e *toolkit.Env, o Options) bool { return Mode(e, o) == config.ModeStage }

// StagedDifferentError: the version is already staged with other contents.
type StagedDifferentError struct {
	Name, Version, Local, Staged, ID string
}

func (e *StagedDifferentError) Error() string {
	return fmt.Sprintf("%s@%s is already staged (id %s) with different contents (local %s, staged %s): a maintainer rejects it (`npm stage reject %s` with 2FA, or `mage release:reject`), then run this again; or bump the version",
		e.Name, e.Version, e.ID, e.Local, e.Staged, e.ID)
}

func (o Options) reader(e *toolkit.Env, auth Auth) *StagedReader {
	if o.Staged != nil {
		return o.Staged
	}
	return &StagedReader{Env: e, Auth: auth}
}

// stagedMatch compares what is staged for a version with x: the one
// staged publish with x's bytes, or a *StagedDifferentError. The listed
// shasum settles a difference; an equal shasum is confirmed with the
// tarball's sha512 integrity when deep is set (or no shasum is listed).
func stagedMatch(ctx context.Context, r *StagedReader, reg string, found []registry.Staged, x Expect, deep bool) (registry.Staged, error) {
	for _, it := range found {
		sameSHA1 := x.Shasum != "" && it.Shasum != "" && it.Shasum == x.Shasum
		if x.Shasum != "" && it.Shasum != "" && !sameSHA1 {
			return it, &StagedDifferentError{Name: x.Name, Version: x.Version, Local: x.Integrity, Staged: "shasum " + it.Shasum, ID: it.ID}
		}
		if x.Integrity == "" || (sameSHA1 && !deep && it.Integrity == "") {
			continue
		}
		integrity, err := r.Integrity(ctx, reg, it)
		if err != nil {
			return it, err
		}
		if integrity != x.Integrity {
			return it, &StagedDifferentError{Name: x.Name, Version: x.Version, Local: x.Integrity, Staged: integrity, ID: it.ID}
		}
	}
	return found[0], nil
}

// stageOne is One in stage mode, once the registry said the version is
// not published: already staged with the same bytes → nothing to do (no
// credentials needed); staged with other bytes → error; else authenticate,
// `npm stage publish`, and confirm the staging area lists it.
func stageOne(ctx context.Context, e *toolkit.Env, p *pack.Package, o Options, reg, tag string, st registry.Result, rec *outcome.Record, done func(outcome.Action, error) (outcome.Record, error)) (outcome.Record, error) {
	auth := o.Auth
	if auth == nil {
		auth = NpmLogin{}
	}
	if st.State == registry.PackageMissing {
		return done(outcome.Failed, fmt.Errorf("%s does not exist on the registry, so nothing was staged: seed it first (mage seedCLI / mage seedAdapters), attach its trusted publisher (mage trust:attach), then run this again", p.Name))
	}
	r := o.reader(e, auth)
	x := Expect{Name: p.Name, Version: p.Version, Integrity: p.Info.Integrity, Shasum: p.Info.Shasum}
	found, err := r.Find(ctx, reg, p.Name, p.Version)
	if err != nil {
		return done(outcome.Failed, fmt.Errorf("cannot tell whether %s is already staged, so nothing was staged: %w", p, err))
	}
	if len(found) > 0 {
		it, err := stagedMatch(ctx, r, reg, found, x, true)
		rec.StageID = it.ID
		if err != nil {
			var sd *StagedDifferentError
			if errors.As(err, &sd) {
				rec.Integrity = sd.Staged
				return done(outcome.Different, err)
			}
			return done(outcome.Failed, err)
		}
		rec.Note = "already staged"
		e.Out.Line(report.Skipped, "%s already staged, identical (id %s, %s)", p, it.ID, outcome.Short(p.Info.Integrity))
		return done(outcome.Staged, nil)
	}
	rec.Tag = tag
	if tag == "latest" && st.Latest != "" && version.Less(p.Version, st.Latest) {
		return done(outcome.Failed, fmt.Errorf("%s: latest is %s, newer than %s: approving it on latest would move it backwards; stage with another tag (-tag=...) if this is a backport", p.Name, st.Latest, p.Version))
	}
	env, err := auth.Prepare(ctx, p.Name, reg)
	if err != nil {
		return done(outcome.Failed, err)
	}
	e.Out.Line(report.Wait, "staging %s on %s with tag %s (%s)", p, rec.Registry, tag, auth)
	pubOpts := npmcli.PublishOptions{Path: p.Tarball, Registry: reg, Tag: tag, Access: cmp.Or(p.Access, "public")}
	if err := samePublishRegistry(ctx, e, p, pubOpts); err != nil {
		return done(outcome.Failed, err)
	}
	pubOpts.Env = env
	id, err := e.NPM.StagePublish(ctx, pubOpts)
	if err != nil {
		// The upload may have landed although npm failed: the staging area
		// decides.
		again, lerr := r.Find(ctx, reg, p.Name, p.Version)
		if lerr != nil || len(again) == 0 {
			return done(outcome.Failed, fmt.Errorf("stage %s: %w%s", p, err, stageHint(err, auth)))
		}
		it, merr := stagedMatch(ctx, r, reg, again, x, true)
		rec.StageID = it.ID
		var sd *StagedDifferentError
		switch {
		case errors.As(merr, &sd):
			rec.Integrity = sd.Staged
			return done(outcome.Different, merr)
		case merr != nil:
			return done(outcome.Failed, merr)
		}
		e.Out.Line(report.Info, "npm reported a failure, but the registry has %s staged with the right bytes", p)
		id = it.ID
	}
	rec.StageID = id
	// The staging area must list exactly this upload.
	listed, err := r.Find(ctx, reg, p.Name, p.Version)
	if err != nil {
		return done(outcome.Failed, fmt.Errorf("staged %s (id %s), but cannot read it back: %w; run the same command again to check (it will not stage twice)", p, id, err))
	}
	ok := false
	for _, it := range listed {
		ok = ok || (it.ID == id && (it.Shasum == "" || it.Shasum == p.Info.Shasum))
	}
	if !ok {
		return done(outcome.Failed, fmt.Errorf("staged %s (id %s), but the registry does not list it with shasum %s; run the same command again to check (it will not stage twice)", p, id, p.Info.Shasum))
	}
	e.Out.Line(report.Added, "%s staged with id %s (%s); nothing is public until a maintainer runs release:approve", p, id, outcome.Short(p.Info.Integrity))
	return done(outcome.Staged, nil)
}

// stageHint adds what usually fixes an npm stage publish failure.
func stageHint(err error, auth Auth) string {
	var ne *npmcli.Error
	if errors.As(err, &ne) && (ne.Code == "E403" || ne.Code == "E401") {
		if _, ok := auth.(*OIDC); ok {
			return "; the trusted publisher may not stage (it needs the stage publish permission, createStagedPackage): check `mage trust:check` with release.mode stage"
		}
	}
	if errors.As(err, &ne) && strings.Contains(strings.Join(ne.Lines, " "), "Unknown command") {
		return "; this npm has no `npm stage`: staged publishing needs npm 11.15.0 or newer"
	}
	return hint(err, auth)
}

// stageCLI is CLI in stage mode: every platform package must be staged or
// published at v (with the local build's bytes when the dist is at hand)
// before the CLI package is staged; no wait, the staging area is read
// directly and consistently.
func stageCLI(ctx context.Context, e *toolkit.Env, v string, xs []Expect, local int, o Options) ([]outcome.Record, error) {
	auth := o.Auth
	if auth == nil {
		auth = NpmLogin{}
	}
	r := o.reader(e, auth)
	o.Staged = r
	e.Out.Line(report.Wait, "confirming %d platform packages staged or published at %s (%d compared with the local build)", len(xs), v, local)
	names := make([]string, len(xs))
	for i, x := range xs {
		names[i] = x.Name
	}
	regFor, err := e.RegistryFor(ctx, names)
	if err != nil {
		return nil, err
	}
	me := &MissingPlatformsError{Version: v, Staged: true}
	for _, x := range xs {
		reg := regFor(x.Name)
		st := e.Reg.Check(ctx, reg, registry.Spec{Name: x.Name, Version: x.Version}, true)
		switch {
		case st.Err != nil:
			return nil, fmt.Errorf("the CLI package was not staged: cannot read %s: %w", x, st.Err)
		case st.State == registry.Published && x.Integrity != "" && st.Integrity != x.Integrity:
			return nil, &DifferentBytesError{Name: x.Name, Version: x.Version, Local: x.Integrity, Registry: st.Integrity}
		case st.State == registry.Published:
			continue
		}
		found, err := r.Find(ctx, reg, x.Name, x.Version)
		if err != nil {
			return nil, fmt.Errorf("the CLI package was not staged: cannot read the staged versions of %s: %w", x.Name, err)
		}
		if len(found) == 0 {
			me.Missing = append(me.Missing, x.String()+" (neither staged nor published)")
			me.Targets = append(me.Targets, strings.TrimPrefix(x.Name, e.Cfg.Scope+"/"+e.Cfg.CLI.PlatformPrefix))
			continue
		}
		if _, err := stagedMatch(ctx, r, reg, found, x, false); err != nil {
			return nil, err
		}
	}
	if len(me.Missing) > 0 {
		return nil, me
	}
	e.Out.Line(report.OK, "all %d platform packages are staged or published at %s", len(xs), v)
	p, err := pack.CLI(e, v)
	if err != nil {
		return nil, err
	}
	rec, err := One(ctx, e, p, o)
	return []outcome.Record{rec}, err
}
