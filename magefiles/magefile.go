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

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
