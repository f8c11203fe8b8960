// Package tasks is the toolkit's Mage surface: every exported function and
// namespace here is a target (magefiles/magefile.go imports the package with
// `// mage:import`), and nothing else is exported, so that Mage picks up the
// targets alone. ("Tasks", so as not to be confused with the build targets
// of the platform table.)
//
// A task reads the environment once (toolkit.ReadFacts), loads the
// configuration, calls one operation, prints its summary and report, and
// returns an error fit for a person, redacted of secrets.
package tasks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/ciconfig"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/rehearse"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/report/releasereport"
	"github.com/agent-facets/release/internal/secret"
	"github.com/agent-facets/release/internal/seed"
	"github.com/agent-facets/release/internal/status"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/trust"
	"github.com/agent-facets/release/internal/version"
	"github.com/agent-facets/release/platforms"
)

// Trust groups the trusted-publisher targets.
type Trust mg.Namespace

// CI groups the targets that write and check the release pipelines.
type CI mg.Namespace

// facts reads the environment of this run: the one place that does.
func facts() toolkit.Facts {
	return toolkit.ReadFacts(os.Environ(), report.IsTerminal(os.Stdin))
}

// withEnv loads the configuration and runs f; its error comes back
// redacted.
func withEnv(f func(e *toolkit.Env) error) error {
	e, err := toolkit.Load(facts(), os.Stdout)
	if err != nil {
		return secret.Error(err)
	}
	return secret.Error(f(e))
}

// Rehearse runs a whole release against a throwaway local registry: build, seed, trust, publish, install, archives, GitHub Release, notice.
//
// It starts a local Verdaccio (installed from the pinned lock file on first
// use; no uplinks, nothing leaves this machine), builds the demo CLI for
// every target, makes the standalone archives and checksums.txt, seeds
// every package as a maintainer, attaches the trusted publisher, publishes
// the platform packages concurrently with OIDC tokens from a stand-in
// circleci, then the libraries the CLI needs (built, rewritten and linted
// from a demo monorepo shaped like agent-facets') and the CLI, installs the
// CLI from the registry and runs it, and installs every library and imports
// it in Node. Then it creates the GitHub Release with the archives on a
// local GitHub emulator (twice: the second run changes nothing), downloads
// them back and posts the notice to a local Slack emulator. The registry
// and the emulators are removed at the end.
//
// Environment: RELEASE_CONFIG (default: the embedded release.json),
// RELEASE_REPORT.
//
// Example: go tool mage rehearse -version=2.0.0 -keep
func Rehearse(ctx context.Context,
	version *string, // the rehearsed version (default 1.0.0)
	keep *bool, // keep the work directory (dist, tarballs)
	stage *bool, // rehearse a staged release: CI stages, a maintainer approves
) error {
	f := facts()
	start := time.Now()
	res, err := rehearse.Run(ctx, rehearse.Options{Version: str(version), Keep: flag(keep), Stage: flag(stage), Facts: f})
	recs := append(append(append([]outcome.Record(nil), res.Records...), res.Assets...), res.GitHub...)
	if res.Notice.Action != "" {
		recs = append(recs, res.Notice)
	}
	rep := releasereport.New("rehearse", res.Tool, res.Version, start, time.Now(), recs, err)
	return secret.Error(errors.Join(err, releasereport.Emit(rep, f.ReportPath, f.StepSummary)))
}

// LocalRegistry runs a throwaway local registry until Ctrl-C, to try the targets by hand.
//
// It prints (and writes to <dir>/maintainer.env and <dir>/ci.env) the
// environment of a maintainer logged in to it and that of a CircleCI job
// publishing to it with trusted publishing: npm without a login and a
// stand-in circleci minting tokens for release.json's trusted publisher.
// Export one in another shell and run any target against the registry;
// nothing reaches any other registry. The registry, its storage, the npm
// configurations (a login token) and the env files are removed when it
// stops; <dir> stays.
//
// Example: go tool mage localRegistry -dir=/tmp/reg
func LocalRegistry(ctx context.Context,
	dir *string, // where the npm configurations and env files go (default .release/local-registry)
) error {
	f := facts()
	out := report.New(os.Stdout, report.UseColor(os.Stdout, f.NoColor))
	return secret.Error(rehearse.Serve(ctx, rehearse.ServeOptions{Facts: f, Dir: or(dir, ".release/local-registry")}, out))
}

// Build compiles the CLI for every configured target (or one) with the configured build command.
//
// Binaries land at dist.binary (default dist/<target>/facet[.exe]); each is
// checked against its target (format, OS, architecture, libc) and recorded
// (version, SHA-256, command) in dist/build-manifest.json, which the
// publishing targets check; the one this machine runs is run with
// --version, which must print the version. The version must be the one in
// cli.source's package.json, when that has one. -target names one target
// or several, comma-separated.
//
// Example: go tool mage build -version=1.2.3 -target=linux-x64,linux-arm64
func Build(ctx context.Context,
	target *string, // build only this target, or these (comma-separated), e.g. linux-x64
	version *string, // the release version (default: from the CI tag)
) error {
	return withEnv(func(e *toolkit.Env) error {
		v, err := e.Version(str(version))
		if err != nil {
			return err
		}
		ts := e.Cfg.PlatformTargets()
		if names := str(target); names != "" {
			ts = nil
			for _, name := range strings.Split(names, ",") {
				t, err := e.Cfg.Target(strings.TrimSpace(name))
				if err != nil {
					return err
				}
				ts = append(ts, t)
			}
		}
		e.Out.Heading("Building %d target(s) at %s", len(ts), v)
		_, err = build.Build(ctx, e, ts, v)
		return err
	})
}

// PublishPlatform publishes one target's platform package, then waits until the registry serves it.
//
// The binary must be the one build made at this version (see
// dist/build-manifest.json). Already published with the same bytes:
// nothing to do, no token minted.
// Published with other bytes: stops and shows both integrities. Otherwise it
// authenticates (on CI: OIDC, minted with `circleci run oidc get`, its claims
// checked and the registry's token exchange tried first), publishes to latest
// (a prerelease to release.prereleaseTag) and verifies. Safe to re-run.
//
// Environment: CIRCLE_TAG or GITHUB_REF_NAME (the release tag), NPM_ID_TOKEN,
// RELEASE_CONFIG, RELEASE_REPORT, GITHUB_STEP_SUMMARY.
//
// In stage mode (release.mode "stage", or -mode=stage) it stages instead
// (npm stage publish): a staged version with the same bytes is already
// staged and needs no token; nothing is public until release:approve.
//
// Example (one CircleCI matrix job): go tool mage publishPlatform linux-x64-musl
func PublishPlatform(ctx context.Context,
	target string, // the platform target, e.g. linux-x64-musl
	version *string, // the release version (default: from the CI tag)
	tag *string, // publish under this dist-tag instead of latest
	auth *string, // oidc (trusted publishing) or npm (npm's own login); default oidc on CI
	mode *string, // direct (publish) or stage (stage for a maintainer's approval); default release.mode
) error {
	return publishing("publishPlatform", true, publishFlags{str(version), str(tag), str(auth), str(mode)},
		func(e *toolkit.Env, v string, o publish.Options) ([]outcome.Record, error) {
			rec, err := publish.Platform(ctx, e, target, v, o)
			return []outcome.Record{rec}, err
		})
}

// PublishCLI publishes the CLI package, only once every platform package is confirmed at the exact version.
//
// It waits (up to 5 minutes, the registry CDN's usual lag) until the
// registry serves all platform packages at the version, with the bytes of
// the local build when the dist is at hand. If any is missing it publishes
// nothing and names them. In stage mode every platform package must be
// staged or published at the version, and the CLI package is staged.
//
// Example: go tool mage publishCLI
func PublishCLI(ctx context.Context,
	version *string, // the release version (default: from the CI tag)
	tag *string, // publish under this dist-tag instead of latest
	auth *string, // oidc (trusted publishing) or npm (npm's own login); default oidc on CI
	mode *string, // direct (publish) or stage (stage for a maintainer's approval); default release.mode
) error {
	return publishing("publishCLI", true, publishFlags{str(version), str(tag), str(auth), str(mode)},
		func(e *toolkit.Env, v string, o publish.Options) ([]outcome.Record, error) {
			return publish.CLI(ctx, e, v, o)
		})
}

// PublishAdapters builds, packs, lints and publishes the library (adapter) packages a tag or the registry calls for.
//
// Which: on a library tag <scope>/<name>@X.Y.Z (-release, or CIRCLE_TAG /
// GITHUB_REF_NAME), that one package, whose package.json version must be
// the tag's; on the CLI's tag, the libraries cli.source depends on that are
// not on the registry; without a tag, every library whose version is not on
// the registry (the seeded placeholder never counts). Each is built in
// dependency order (adapters.build, or its own build script with the
// workspace's package manager), packed as pnpm or bun would publish it
// (workspace: and catalog: ranges resolved, publishConfig applied) and
// linted, all before the first write; then published (in stage mode,
// staged), in order, and verified. An identical version is skipped; a
// different one stops the run. The working tree is never rewritten.
//
// Environment: CIRCLE_TAG or GITHUB_REF_NAME, NPM_ID_TOKEN, RELEASE_CONFIG,
// RELEASE_REPORT, GITHUB_STEP_SUMMARY.
//
// Example: go tool mage publishAdapters -release=@agent-facets/adapter@0.19.0
func PublishAdapters(ctx context.Context,
	release *string, // the tag to release: <scope>/<name>@X.Y.Z, or the CLI's tag (default: the CI tag)
	tag *string, // publish under this dist-tag instead of latest
	auth *string, // oidc (trusted publishing) or npm (npm's own login); default oidc on CI
	mode *string, // direct (publish) or stage (stage for a maintainer's approval); default release.mode
) error {
	return publishing("publishAdapters", false, publishFlags{"", str(tag), str(auth), str(mode)},
		func(e *toolkit.Env, _ string, o publish.Options) ([]outcome.Record, error) {
			o.Release = str(release)
			return publish.Adapters(ctx, e, o)
		})
}

type publishFlags struct{ version, tag, auth, mode string }

// publishing runs one publishing operation: it resolves the version (when
// the operation takes one) and the credentials, runs op, prints the summary
// of whatever it did, failed or not, and writes the JSON report and GitHub
// step summary when the run asks for them. The report names the operation
// as Mage names the target.
func publishing(operation string, needVersion bool, fl publishFlags, op func(e *toolkit.Env, v string, o publish.Options) ([]outcome.Record, error)) error {
	return withEnv(func(e *toolkit.Env) error {
		start := time.Now()
		var v string
		recs, err := func() ([]outcome.Record, error) {
			if needVersion {
				var err error
				if v, err = e.Version(fl.version); err != nil {
					return nil, err
				}
			}
			if fl.mode != "" {
				if err := config.CheckMode(fl.mode); err != nil {
					return nil, fmt.Errorf("-mode: %w", err)
				}
			}
			if fl.tag != "" {
				if err := version.CheckTag(fl.tag); err != nil {
					return nil, fmt.Errorf("-tag=%s: %w", fl.tag, err)
				}
			}
			auth, err := publish.ChooseAuth(e, fl.auth)
			if err != nil {
				return nil, err
			}
			return op(e, v, publish.Options{Auth: auth, Tag: fl.tag, Mode: fl.mode})
		}()
		return finish(e, operation, v, start, recs, err)
	})
}

// finish ends a target that wrote packages or files: the summary table of
// recs, then the JSON report and the step summary; it returns err (and any
// error writing the report).
func finish(e *toolkit.Env, operation, v string, start time.Time, recs []outcome.Record, err error) error {
	if len(recs) > 0 {
		outcome.Summary(e.Out, recs)
	}
	rep := releasereport.New(operation, e.Cfg.CLI.Package, v, start, time.Now(), recs, err)
	return errors.Join(err, releasereport.Emit(rep, e.Facts.ReportPath, e.Facts.StepSummary))
}

// Status prints the state of a release on the registry and fails unless it is complete.
//
// For the CLI package and every platform package: published, missing or
// different bytes (compared with the local build when dist holds it), the
// integrity, the latest tag, and the next action. Staged versions show as
// staged; in stage mode a release whose every package is staged or
// published succeeds, with release:approve as the next step. With
// -adapters, also every library package at its workspace version (and a
// line for each workspace package that is not one, saying why). Read-only:
// it writes nothing but the report RELEASE_REPORT asks for.
//
// Example: go tool mage status 1.2.3 -adapters
func Status(ctx context.Context,
	version string, // the release version, e.g. 1.2.3
	adapters *bool, // also the library packages, each at its workspace version
	mode *string, // direct or stage: in stage mode a fully staged release is not an error; default release.mode
) error {
	return withEnv(func(e *toolkit.Env) error {
		v, err := e.Version(version)
		if err != nil {
			return err
		}
		staged := e.Cfg.Staged()
		if m := str(mode); m != "" {
			if err := config.CheckMode(m); err != nil {
				return fmt.Errorf("-mode: %w", err)
			}
			staged = m == config.ModeStage
		}
		start := time.Now()
		r, err := status.Read(ctx, e, v)
		if err != nil {
			return err
		}
		status.Print(e.Out, r)
		var lr *status.LibraryReport
		if flag(adapters) {
			if lr, err = status.Libraries(ctx, e); err != nil {
				return err
			}
			status.PrintLibraries(e.Out, lr)
		}
		complete, next, rows := status.Overall(r, lr, staged)
		var incomplete error
		if !complete {
			incomplete = fmt.Errorf("%w: next, %s", status.ErrIncomplete, next)
		}
		rep := releasereport.New("status", e.Cfg.CLI.Package, v, start, time.Now(), rows, incomplete)
		rep.Next = next
		return errors.Join(incomplete, releasereport.Emit(rep, e.Facts.ReportPath, e.Facts.StepSummary))
	})
}

// SeedCLI makes sure the CLI package and every platform package exist on the registry.
//
// A package that is missing gets a placeholder version
// (release.placeholderVersion) published with your own npm login, so that a
// trusted publisher can be attached to it. Packages already present are
// skipped. At the end it prints what is left to configure for trusted
// publishing.
//
// Environment: RELEASE_CONFIG, NPM_OTP (a 2FA code, when not run in a
// terminal), npm's own configuration for the registry.
//
// Example: go tool mage seedCLI -trust
func SeedCLI(ctx context.Context,
	trust *bool, // also attach the configured trusted publisher (as trust:attach does)
) error {
	return withEnv(func(e *toolkit.Env) error {
		e.Out.Heading("Seeding %d CLI packages", len(e.CLIPackages()))
		_, err := seed.Seed(ctx, e, e.CLIPackages(), seed.Options{Trust: flag(trust)})
		return err
	})
}

// SeedAdapters makes sure every adapter (library) package exists on the registry.
//
// Adapters are adapters.packages from the configuration, or else the public
// packages of the scope found through the workspaces globs of
// adapters.workspace (or its pnpm-workspace.yaml), minus adapters.exclude:
// the set publishAdapters releases. Every other workspace package gets a
// line saying why it is skipped. Otherwise it works as seedCLI.
//
// Example: go tool mage seedAdapters
func SeedAdapters(ctx context.Context,
	trust *bool, // also attach the configured trusted publisher (as trust:attach does)
) error {
	return withEnv(func(e *toolkit.Env) error {
		d, err := e.Libraries()
		if err != nil {
			return err
		}
		pkgs := toolkit.Names(d.Packages)
		e.Out.Heading("Seeding %d adapter packages", len(pkgs))
		d.PrintSkipped(e.Out)
		_, err = seed.Seed(ctx, e, pkgs, seed.Options{Trust: flag(trust)})
		return err
	})
}

// Attach attaches the configured trusted publisher to every package that has none.
//
// It runs `npm trust circleci|github <pkg> ... --allow-publish --yes` per
// package (--allow-stage-publish in stage mode), pausing between calls as
// npm asks for bulk changes. A matching
// configuration is left alone; a different one is reported as drift with the
// commands that would replace it, and never revoked by this target.
//
// Example: go tool mage trust:attach -packages=cli
func (Trust) Attach(ctx context.Context,
	packages *string, // cli, adapters or all (default all)
) error {
	return withEnv(func(e *toolkit.Env) error {
		pkgs, err := e.Packages(str(packages))
		if err != nil {
			return err
		}
		e.Out.Heading("Attaching the trusted publisher to %d packages", len(pkgs))
		if err := printSkipped(e, str(packages)); err != nil {
			return err
		}
		_, err = (&trust.Attacher{Env: e}).Attach(ctx, pkgs)
		return err
	})
}

// Check prints every package's trusted-publisher state and fails if any is not ready.
//
// States: missing (seed it), no publisher, matches, drift (with the fix):
// another identity, or a permission that does not fit release.mode
// (publish in direct mode, stage publish only in stage mode). It changes
// nothing. Exit code 0 means every package is ready.
//
// Example: go tool mage trust:check
func (Trust) Check(ctx context.Context,
	packages *string, // cli, adapters or all (default all)
) error {
	return withEnv(func(e *toolkit.Env) error {
		pkgs, err := e.Packages(str(packages))
		if err != nil {
			return err
		}
		if err := printSkipped(e, str(packages)); err != nil {
			return err
		}
		return trust.Report(ctx, e, pkgs)
	})
}

// Generate writes the CircleCI and GitHub Actions release pipelines from release.json and the platform table.
//
// Files go to <dir>/.circleci/config.yml and <dir>/.github/workflows/release.yml;
// a directory named examples gets this repository's examples layout. The
// build job compiles the toolkit once; every later job runs the binary.
// Contexts, resource classes and serial groups come from release.json's
// ci section; Bun's version from package.json's packageManager (or
// .tool-versions), npm's and Node's from .tool-versions (or .nvmrc), Go's
// from go.mod, all beside release.json.
//
// Example: go tool mage ci:generate
func (CI) Generate(
	dir *string, // where to write (default .)
) error {
	return withEnv(func(e *toolkit.Env) error {
		d := or(dir, ".")
		if err := ciconfig.Write(e.Cfg, d, ciconfig.WithLayout(ciconfig.LayoutFor(d))); err != nil {
			return err
		}
		e.Out.Line(report.Added, "release pipelines written under %s", d)
		return nil
	})
}

// Check fails, printing the diff, when the committed pipelines differ from what ci:generate writes.
//
// Example: go tool mage ci:check
func (CI) Check(
	dir *string, // where the pipelines are (default .)
) error {
	return withEnv(func(e *toolkit.Env) error {
		d := or(dir, ".")
		if err := ciconfig.Verify(e.Cfg, d, ciconfig.WithLayout(ciconfig.LayoutFor(d))); err != nil {
			return err
		}
		e.Out.Line(report.OK, "release pipelines under %s are up to date", d)
		return nil
	})
}

// Platforms prints the platform table every package, CI matrix and launcher is generated from.
func Platforms() error {
	report.Plain(os.Stdout).Table(platforms.Columns, platforms.Rows())
	return nil
}

// printSkipped prints why each workspace package that is not a library is
// left out, when the package set includes the libraries.
func printSkipped(e *toolkit.Env, which string) error {
	if which == "cli" {
		return nil
	}
	d, err := e.Libraries()
	if err != nil {
		return err
	}
	d.PrintSkipped(e.Out)
	return nil
}

func flag(b *bool) bool { return b != nil && *b }

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func or(s *string, def string) string {
	if v := strings.TrimSpace(str(s)); v != "" {
		return v
	}
	return def
}
