// Package publish releases packages: it decides from the registry whether a
// version is already there (identical bytes: nothing to do; other bytes:
// stop), authenticates only when a write is needed, publishes with the npm
// CLI, and waits until the registry serves the exact bytes. publishCLI
// publishes the CLI package only once every platform package is confirmed,
// so users never see a partial release.
package publish

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/tarball"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/version"
)

// Auth supplies the credentials of `npm publish`.
type Auth interface {
	// Prepare checks, before any write, that pkg may be published on reg,
	// and returns the environment entries npm needs for it.
	Prepare(ctx context.Context, pkg, reg string) ([]string, error)
	// String names the method for output ("npm login", "OIDC (CircleCI)").
	String() string
}

// NpmLogin publishes with whatever credentials npm's configuration holds
// (a maintainer's login, or a rehearsal's local user).
type NpmLogin struct{}

// Prepare implements Auth.
func (NpmLogin) Prepare(context.Context, string, string) ([]string, error) { return nil, nil }
func (NpmLogin) String() string                                            { return "npm login" }

// Options tune a publish.
type Options struct {
	Auth Auth
	// Tag overrides the dist-tag (default: latest, or the configured
	// prerelease tag for a prerelease version).
	Tag string
	// Verify tunes the wait for the registry after publishing.
	Verify Verifier
	// Confirm tunes publishCLI's wait for the platform packages.
	Confirm Verifier
	// Release is the tag a library release acts on (<scope>/<name>@X.Y.Z,
	// or the CLI's tag); empty means the CI tag of the run, if any.
	Release string
	// Mode is the release mode, config.ModeDirect or config.ModeStage;
	// empty means release.mode.
	Mode string
	// Staged reads the staging area in stage mode; nil means a reader of
	// its own with Auth's credentials.
	Staged *StagedReader
}

// DifferentBytesError: the version is on the registry with other contents.
type DifferentBytesError struct {
	Name, Version, Local, Registry string
}

func (e *DifferentBytesError) Error() string {
	return fmt.Sprintf("%s@%s is already on the registry with different contents (local %s, registry %s): a published version cannot change; bump the version and release again",
		e.Name, e.Version, e.Local, e.Registry)
}

// Tag returns the dist-tag for version v: the override, else latest, else
// the prerelease tag for a prerelease.
func Tag(e *toolkit.Env, v, override string) string {
	if override != "" {
		return override
	}
	if version.IsPrerelease(v) {
		return e.Cfg.Release.PrereleaseTag
	}
	return "latest"
}

// One publishes a packed package: identical → nothing to do (no
// credentials needed); different bytes → error; else authenticate, publish,
// and verify the registry serves it.
func One(ctx context.Context, e *toolkit.Env, p *pack.Package, o Options) (outcome.Record, error) {
	start := time.Now()
	rec := outcome.Record{Package: p.Name, Version: p.Version, Integrity: p.Info.Integrity, Local: p.Info.Integrity}
	done := func(a outcome.Action, err error) (outcome.Record, error) {
		rec.Action, rec.Duration = a, time.Since(start)
		if err != nil {
			rec.Error = err.Error()
		}
		return rec, err
	}
	tag := Tag(e, p.Version, cmp.Or(o.Tag, p.Tag))
	if err := version.CheckTag(tag); err != nil {
		return done(outcome.Failed, fmt.Errorf("%s not published: %w", p, err))
	}
	reg := p.Registry
	if reg == "" {
		var err error
		if reg, err = e.Registry(ctx, p.Name); err != nil {
			return done(outcome.Failed, err)
		}
	}
	rec.Registry = registry.Redact(reg)
	st := e.Reg.Check(ctx, reg, registry.Spec{Name: p.Name, Version: p.Version}, true)
	if st.Err != nil {
		return done(outcome.Failed, fmt.Errorf("cannot tell whether %s is already published, so nothing was published: %w", p, st.Err))
	}
	if st.State == registry.Published {
		if st.Integrity == p.Info.Integrity {
			e.Out.Line(report.Skipped, "%s already published, identical (%s)", p, outcome.Short(p.Info.Integrity))
			return done(outcome.Identical, nil)
		}
		rec.Integrity = st.Integrity
		return done(outcome.Different, &DifferentBytesError{Name: p.Name, Version: p.Version, Local: p.Info.Integrity, Registry: st.Integrity})
	}
	if Staging(e, o) {
		return stageOne(ctx, e, p, o, reg, tag, st, &rec, done)
	}
	auth := o.Auth
	if auth == nil {
		auth = NpmLogin{}
	}
	if _, isOIDC := auth.(*OIDC); isOIDC && st.State == registry.PackageMissing {
		return done(outcome.Failed, fmt.Errorf("%s does not exist on the registry, and trusted publishing cannot create a package: seed it first (mage seedCLI / mage seedAdapters), attach its trusted publisher (mage trust:attach), then run this again", p.Name))
	}
	rec.Tag = tag
	if tag == "latest" && st.Latest != "" && version.Less(p.Version, st.Latest) {
		return done(outcome.Failed, fmt.Errorf("%s: latest is %s, newer than %s: publishing to latest would move it backwards; publish with another tag (-tag=...) if this is a backport", p.Name, st.Latest, p.Version))
	}
	// npm picks the registry it publishes to itself (a scope registry wins
	// over --registry; publishConfig may name another): it must be the one
	// checked above, and the one a token is minted for.
	pubOpts := npmcli.PublishOptions{Path: p.Tarball, Registry: reg, Tag: tag, Access: cmp.Or(p.Access, "public")}
	if err := samePublishRegistry(ctx, e, p, pubOpts); err != nil {
		return done(outcome.Failed, err)
	}
	env, err := auth.Prepare(ctx, p.Name, reg)
	if err != nil {
		return done(outcome.Failed, err)
	}
	e.Out.Line(report.Wait, "publishing %s to %s with tag %s (%s)", p, rec.Registry, tag, auth)
	pubOpts.Env = env
	err = e.NPM.Publish(ctx, pubOpts)
	if err != nil {
		// The write may have landed even though npm failed (a lost answer,
		// a retried PUT): the registry, not npm's exit code, decides.
		again := e.Reg.Check(ctx, reg, registry.Spec{Name: p.Name, Version: p.Version}, true)
		switch {
		case again.Err == nil && again.State == registry.Published && again.Integrity == p.Info.Integrity:
			e.Out.Line(report.Info, "npm reported a failure, but the registry has %s with the right bytes", p)
		case again.Err == nil && again.State == registry.Published:
			rec.Integrity = again.Integrity
			return done(outcome.Different, &DifferentBytesError{Name: p.Name, Version: p.Version, Local: p.Info.Integrity, Registry: again.Integrity})
		default:
			return done(outcome.Failed, fmt.Errorf("publish %s: %w%s", p, err, hint(err, auth)))
		}
	}
	v := o.Verify
	v.Env = e
	if err := v.Wait(ctx, p.String(), []Expect{{Name: p.Name, Version: p.Version, Integrity: p.Info.Integrity, Registry: p.Registry}}); err != nil {
		return done(outcome.Failed, fmt.Errorf("published %s, but: %w; run the same command again to keep waiting (it will not publish twice)", p, err))
	}
	e.Out.Line(report.Added, "%s published to %s (%s)", p, tag, outcome.Short(p.Info.Integrity))
	return done(outcome.Published, nil)
}

// samePublishRegistry refuses to publish p when `npm publish` with o would
// send it to another registry than o.Registry, the one the toolkit checked.
func samePublishRegistry(ctx context.Context, e *toolkit.Env, p *pack.Package, o npmcli.PublishOptions) error {
	var manifest struct {
		PublishConfig json.RawMessage `json:"publishConfig"`
	}
	if raw, err := tarball.ReadManifest(p.Tarball); err == nil {
		_ = json.Unmarshal(raw, &manifest)
	}
	npmReg, err := e.NPM.PublishRegistry(ctx, o, p.Name, manifest.PublishConfig)
	if err != nil {
		return fmt.Errorf("%s not published: cannot tell which registry npm would publish it to: %w", p, err)
	}
	if !npmcli.SameRegistry(npmReg, o.Registry) {
		why := "npm's configuration"
		if len(manifest.PublishConfig) > 0 && string(manifest.PublishConfig) != "null" {
			why = "publishConfig in its package.json, or npm's configuration"
		}
		return fmt.Errorf("%s not published: npm would publish it to %s (%s), not to %s, the registry the toolkit checked and would mint a token for; make them one: remove the registry from publishConfig, or set the scope's registry (@scope:registry) to the one you mean", p, registry.Redact(npmReg), why, registry.Redact(o.Registry))
	}
	return nil
}

// hint adds what usually fixes an npm publish failure.
func hint(err error, auth Auth) string {
	var ne *npmcli.Error
	if !errors.As(err, &ne) {
		return ""
	}
	switch ne.Code {
	case "ENEEDAUTH", "E401":
		if _, ok := auth.(NpmLogin); ok {
			return "; npm has no usable login for this registry: run `npm login`, or publish from CI with trusted publishing"
		}
		return "; the registry refused the trusted-publishing credentials: check the package's trusted publisher with `mage trust:check`"
	case "E403":
		return "; the account or trusted publisher may not publish this package: check `mage trust:check` and the package's access settings"
	case "E404":
		return "; the package or scope does not exist for this account: seed it first (`mage seedCLI` / `mage seedAdapters`)"
	case "E429":
		return "; the registry is rate limiting: wait a few minutes and run the same command again"
	case "EOTP":
		return "; this account needs a 2FA code for publishing: set NPM_OTP or publish with trusted publishing"
	case "E409":
		return "; the registry answered 409 Conflict: a publish of this version is under way or has just landed and is not visible yet (another job, or an earlier attempt whose answer was lost): wait a minute and run the same command again; it will not publish twice"
	}
	return ""
}
