package tasks

import (
	"context"
	"errors"
	"time"

	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/releaseassets"
	"github.com/agent-facets/release/internal/report/releasereport"
	"github.com/agent-facets/release/internal/toolkit"
)

// ReleaseAssets makes the standalone archives (facet-<target>.tar.gz, .zip on Windows) and checksums.txt from the built binaries.
//
// One archive per entry of assets.archives (by default: darwin-arm64,
// darwin-x64, linux-arm64, linux-arm64-musl, linux-x64, linux-x64-musl,
// windows-arm64, windows-x64, every x64 archive from the -baseline build),
// each holding the executable at its root with mode 0755, a fixed mtime and
// nothing else: the same binaries give the same bytes. checksums.txt lists
// their SHA-256 in sha256sum format, sorted by name. The output directory
// (assets.dir, default dist/assets) is cleared first; every binary is
// checked before any archive is written, and a missing one is named with
// its target and the build command that makes it.
//
// Environment: RELEASE_CONFIG, RELEASE_REPORT, GITHUB_STEP_SUMMARY.
//
// Example: go tool mage releaseAssets
func ReleaseAssets(ctx context.Context,
	version *string, // the release version, for the report (default: from the CI tag, if any)
) error {
	return withEnv(func(e *toolkit.Env) error {
		start := time.Now()
		v, err := optionalVersion(e, str(version))
		if err != nil {
			return err
		}
		e.Out.Heading("Making %d standalone archives in %s", len(e.Cfg.ArchiveList()), e.Cfg.AssetsDir())
		_, recs, err := releaseassets.Make(ctx, e, v)
		if len(recs) > 0 {
			outcome.Summary(e.Out, recs)
		}
		rep := releasereport.New("releaseAssets", e.Cfg.CLI.Package, v, start, time.Now(), recs, err)
		return errors.Join(err, releasereport.Emit(rep, e.Facts.ReportPath, e.Facts.StepSummary))
	})
}

// optionalVersion is the version given, else the CI tag's, else "" when
// neither says (a target for which the version is only a label).
func optionalVersion(e *toolkit.Env, arg string) (string, error) {
	if arg == "" && e.Facts.Tag == "" {
		return "", nil
	}
	return e.Version(arg)
}
