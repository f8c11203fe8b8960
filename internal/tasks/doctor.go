package tasks

import (
	"context"
	"os"

	"github.com/agent-facets/release/internal/doctor"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/secret"
)

// Doctor checks this machine for a release: Go, Node.js, npm, npm login, the registry, the circleci CLI, the config and the build tool.
//
// Each check prints ✓ (fine), ! (a warning), ~ (does not apply) or ✗ (must
// be fixed) with what it found, and the fix when it is not fine:
//
//   - Go: the go on PATH is at least go.mod's go version
//   - Node.js: 20.17.0 or newer (what npm 11 runs on)
//   - npm: new enough for trusted publishing from this CI (CircleCI: 11.11.0),
//     or from release.json's trustedPublisher.provider off CI
//   - registry: every registry the release uses (npm's configuration) answers
//   - npm login: `npm whoami` on each registry, for seeding and trust setup
//     (a warning only on CI, which publishes with trusted publishing)
//   - circleci CLI: on PATH when CIRCLECI=true (it mints the OIDC token)
//   - config: release.json (or RELEASE_CONFIG) is valid
//   - build tool: build.command[0] is installed
//
// It exits non-zero when any check marked ✗ failed; warnings do not.
//
// Example: go tool mage doctor
func Doctor(ctx context.Context) error {
	f := facts()
	_, err := doctor.Run(ctx, doctor.Options{Facts: f, Out: report.New(os.Stdout, report.UseColor(os.Stdout, f.NoColor))})
	return secret.Error(err)
}
