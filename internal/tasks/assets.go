package tasks

import (
	"context"
	"errors"
	"time"

	"github.com/agent-facets/release/internal/githubrelease"
	"github.com/agent-facets/release/internal/notify"
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
// its target and the build command that makes it. Every binary must be the
// one build made at the release version (-version, else the CI tag's, else
// cli.source's, else the one the build manifest records for all of them),
// unchanged since; githubRelease uploads the archives only to that
// version's release.
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
		res, recs, err := releaseassets.Make(ctx, e, v)
		if res != nil && res.Version != "" {
			v = res.Version
		}
		return finish(e, "releaseAssets", v, start, recs, err)
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

// GithubRelease creates the GitHub Release of the release tag, or brings it up to date, with the archives and checksums.txt.
//
// The notes are the version's section of the changelog (github.changelog,
// default CHANGELOG.md of the CLI's source package); a prerelease version
// is marked prerelease. A new release is created as a draft, given its
// assets, then published. A re-run never fails because the release
// exists: it updates what differs, leaves an asset with the same bytes
// (GitHub's sha256 digest) alone and replaces one with other bytes; each
// upload's digest is checked. The tag must already be on GitHub.
//
// Auth: GITHUB_TOKEN (or GH_TOKEN), or a GitHub App: GITHUB_APP_ID (or
// github.appId), GITHUB_APP_PRIVATE_KEY (PEM, or PEM in base64) and
// optionally GITHUB_APP_INSTALLATION_ID (or github.installationId; looked
// up from the repository when unset). Credentials are never printed.
//
// Environment: CIRCLE_TAG or GITHUB_REF_NAME, GITHUB_API_URL (unless
// github.apiURL is set), RELEASE_CONFIG, RELEASE_REPORT, GITHUB_STEP_SUMMARY.
//
// Example: go tool mage githubRelease -version=1.2.3
func GithubRelease(ctx context.Context,
	version *string, // the release version (default: from the CI tag)
) error {
	return withEnv(func(e *toolkit.Env) error {
		start := time.Now()
		v, err := e.Version(str(version))
		if err != nil {
			return err
		}
		e.Out.Heading("GitHub Release %s%s of %s", e.Cfg.Release.TagPrefix, v, e.Cfg.GitHub.Repository)
		_, recs, err := githubrelease.Run(ctx, e, v, githubrelease.Options{})
		return finish(e, "githubRelease", v, start, recs, err)
	})
}

// Notify posts the release's notice to Slack: success (version, packages, links) or failure (what failed, the CI job, the next step).
//
// A success notice names the CLI package and its platform packages with a
// link (release.packageURL, else the version on the registry) and links the
// GitHub Release. A failure notice names what failed (-failed, default the
// CI job: CIRCLE_JOB or GITHUB_JOB), links the CI job (CIRCLE_BUILD_URL, or
// the GitHub Actions run) and gives the next action `status` gives.
//
// It posts with SLACK_BOT_TOKEN to slack.channel (chat.postMessage), or to
// SLACK_WEBHOOK_URL. A notice that cannot be sent is reported, and the
// target still succeeds: a notice never fails the release. Neither is
// printed.
//
// Environment: SLACK_BOT_TOKEN, SLACK_WEBHOOK_URL, CIRCLE_TAG or
// GITHUB_REF_NAME, RELEASE_CONFIG, RELEASE_REPORT.
//
// Example (a CI step run on failure): go tool mage notify failure
func Notify(ctx context.Context,
	result string, // success or failure
	version *string, // the release version (default: from the CI tag)
	failed *string, // what failed, for a failure notice (default: the CI job's name)
) error {
	return withEnv(func(e *toolkit.Env) error {
		start := time.Now()
		v, err := e.Version(str(version))
		if err != nil {
			return err
		}
		rec, err := notify.Run(ctx, e, notify.Options{Result: result, Version: v, Failed: str(failed)})
		if err != nil {
			return err
		}
		var notSent error
		if rec.Action == outcome.Failed {
			notSent = errors.New("the notice was not sent: " + rec.Error)
		}
		rep := releasereport.New("notify", e.Cfg.CLI.Package, v, start, time.Now(), []outcome.Record{rec}, notSent)
		// Only a report that cannot be written is an error here.
		return releasereport.Emit(rep, e.Facts.ReportPath, e.Facts.StepSummary)
	})
}
