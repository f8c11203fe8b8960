//go:build mage

// The release toolkit's targets. Each one forwards to internal/targets; run
// `mage -l` for the list and `mage -h <target>` for a target's manual.
package main

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/agent-facets/release/internal/targets"
)

// Trust groups the trusted-publisher targets.
type Trust mg.Namespace

// CI groups the targets that write and check the release pipelines.
type CI mg.Namespace

// Rehearse runs a whole release against a throwaway local registry: build, seed, trust, publish, install.
//
// It starts a local Verdaccio (installed from the pinned lock file on first
// use; no uplinks, nothing leaves this machine), builds the demo CLI for all
// 12 targets, seeds every package as a maintainer, attaches the CircleCI
// trusted publisher, publishes the platform packages concurrently with OIDC
// tokens from a stand-in circleci, then the CLI and the adapters, installs the
// CLI from the registry and runs it. The registry is removed at the end.
//
// Flags:
//
//	-version=1.0.0   the rehearsed version
//	-keep            keep the work directory (dist, tarballs)
//
// Example: go tool mage rehearse
func Rehearse(ctx context.Context, version *string, keep *bool) error {
	return targets.Rehearse(ctx, str(version), flag(keep))
}

// Build compiles the CLI for every configured target (or one) with the configured build command.
//
// Binaries land at dist.binary (default dist/<target>/facet[.exe]); each is
// checked against its target (format, OS, architecture, libc), and the one
// this machine runs is run with --version, which must print the version.
//
// Flags:
//
//	-target=linux-x64   build only this target
//	-version=1.2.3      the release version (default: from CIRCLE_TAG/GITHUB_REF_NAME)
//
// Example: mage build -version=1.2.3
func Build(ctx context.Context, target, version *string) error {
	return targets.Build(ctx, str(target), str(version))
}

// PublishPlatform publishes one target's platform package, then waits until the registry serves it.
//
// Already published with the same bytes: nothing to do, no token minted.
// Published with other bytes: stops and shows both integrities. Otherwise it
// authenticates (on CI: OIDC, minted with `circleci run oidc get`, its claims
// checked and the registry's token exchange tried first), publishes to latest
// (a prerelease to release.prereleaseTag) and verifies. Safe to re-run.
//
// Flags:
//
//	-version=1.2.3   the release version (default: from CIRCLE_TAG/GITHUB_REF_NAME)
//	-tag=NAME        publish under this dist-tag instead
//	-auth=oidc|npm   trusted publishing, or npm's own login (default: oidc on CI)
//
// Example (one CircleCI matrix job): go tool mage publishPlatform linux-x64-musl
func PublishPlatform(ctx context.Context, target string, version, tag, auth *string) error {
	return targets.PublishPlatform(ctx, target, targets.PublishOptions{Version: str(version), Tag: str(tag), Auth: str(auth)})
}

// PublishCLI publishes the CLI package, only once every platform package is confirmed at the exact version.
//
// It waits (up to 5 minutes, the registry CDN's usual lag, with backoff) until the registry serves all platform
// packages at the version, with the bytes of the local build when the dist is
// at hand. If any is missing it publishes nothing and names them.
//
// Flags: -version, -tag, -auth as for publishPlatform.
//
// Example: go tool mage publishCLI
func PublishCLI(ctx context.Context, version, tag, auth *string) error {
	return targets.PublishCLI(ctx, targets.PublishOptions{Version: str(version), Tag: str(tag), Auth: str(auth)})
}

// PublishAdapters publishes, in dependency order, each adapter package whose version is not on the registry.
//
// Versions come from each package's package.json; packages are packed with
// npm pack. An identical version is skipped; a different one stops the run.
//
// Flags: -tag, -auth as for publishPlatform.
//
// Example: go tool mage publishAdapters
func PublishAdapters(ctx context.Context, tag, auth *string) error {
	return targets.PublishAdapters(ctx, targets.PublishOptions{Tag: str(tag), Auth: str(auth)})
}

// Status prints the state of a release on the registry and fails unless it is complete.
//
// For the CLI package and every platform package: published, missing or
// different bytes (compared with the local build when dist holds it), the
// integrity, the latest tag, and the next action. Read-only.
//
// Example: go tool mage status 1.2.3
func Status(ctx context.Context, version string) error {
	return targets.Status(ctx, version)
}

// Generate writes the CircleCI and GitHub Actions release pipelines from release.json and the platform table.
//
// Flags:
//
//	-dir=.   where to write (.circleci/config.yml, .github/workflows/release.yml);
//	         -dir=examples writes this repository's examples
//
// Example: mage ci:generate -dir=examples
func (CI) Generate(dir *string) error {
	return targets.CIGenerate(orDefault(dir, "."))
}

// Check fails, printing the diff, when the committed pipelines differ from what ci:generate writes.
//
// Flags: -dir as for ci:generate.
//
// Example: mage ci:check -dir=examples
func (CI) Check(dir *string) error {
	return targets.CICheck(orDefault(dir, "."))
}

// SeedCLI makes sure the CLI package and every platform package exist on the registry.
//
// A package that is missing gets a placeholder version (release.placeholderVersion)
// published with your own npm login, so that a trusted publisher can be attached
// to it. Packages already present are skipped. At the end it prints what is
// left to configure for trusted publishing.
//
// Flags:
//
//	-trust   also attach the configured trusted publisher (as trust:attach does)
//
// Environment: RELEASE_CONFIG (default release.json), NPM_OTP (a 2FA code, when
// not run in a terminal), npm's own configuration for the registry.
//
// Example: mage seedCLI -trust
func SeedCLI(ctx context.Context, trust *bool) error {
	return targets.SeedCLI(ctx, flag(trust))
}

// SeedAdapters makes sure every adapter (library) package exists on the registry.
//
// Adapters are adapters.packages from the configuration, or else the public
// packages of the scope found through the workspaces globs of
// adapters.workspace, minus adapters.exclude. Otherwise it works as seedCLI.
//
// Example: mage seedAdapters
func SeedAdapters(ctx context.Context, trust *bool) error {
	return targets.SeedAdapters(ctx, flag(trust))
}

// Attach attaches the configured CircleCI trusted publisher to every package that has none.
//
// It runs `npm trust circleci <pkg> ... --allow-publish --yes` per package,
// pausing between calls as npm asks for bulk changes. A matching configuration
// is left alone; a different one is reported as drift with the commands that
// would replace it, and never revoked by this target.
//
// Flags:
//
//	-packages=cli|adapters|all   which packages (default all)
//
// Example: mage trust:attach -packages=cli
func (Trust) Attach(ctx context.Context, packages *string) error {
	return targets.TrustAttach(ctx, str(packages))
}

// Check prints every package's trusted-publisher state and fails if any is not ready.
//
// States: missing (seed it), no publisher, matches, drift (with the fix). It
// changes nothing. Exit code 0 means every package is ready.
//
// Flags:
//
//	-packages=cli|adapters|all   which packages (default all)
//
// Example: mage trust:check
func (Trust) Check(ctx context.Context, packages *string) error {
	return targets.TrustCheck(ctx, str(packages))
}

// Platforms prints the platform table every package, CI matrix and launcher is generated from.
func Platforms() error {
	return targets.Platforms()
}

func flag(b *bool) bool { return b != nil && *b }

func orDefault(s *string, def string) string {
	if s == nil || *s == "" {
		return def
	}
	return *s
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
