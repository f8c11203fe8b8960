// Package rehearse runs a whole release against a throwaway local registry:
// the demo binaries are built for every target, every package is seeded by a
// maintainer, trusted publishers are attached, the platform packages are
// published concurrently with OIDC as the CI matrix would, then the
// libraries the CLI needs (built, rewritten and linted from a monorepo
// shaped like agent-facets') and the CLI; then the CLI is installed from the
// registry and run, and every library installed and imported in Node.
// Beside the publishing, the standalone archives and their checksums are
// made; the GitHub Release is created (and created again, to show a re-run
// changes nothing) on a local GitHub emulator and its archives downloaded
// back, and the success notice is posted to a local Slack emulator.
// Nothing leaves this machine: the registry is a local Verdaccio with no
// uplinks, npm runs with its own configuration, and GitHub and Slack are
// emulators on loopback ports.
package rehearse

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/agent-facets/release"
	"github.com/agent-facets/release/internal/approve"
	"github.com/agent-facets/release/internal/archive"
	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/fixtures"
	"github.com/agent-facets/release/internal/githubrelease"
	"github.com/agent-facets/release/internal/library"
	"github.com/agent-facets/release/internal/localgithub"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localslack"
	"github.com/agent-facets/release/internal/notify"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/publisher"
	"github.com/agent-facets/release/internal/releaseassets"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/report/releasereport"
	"github.com/agent-facets/release/internal/seed"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/trust"
	"github.com/agent-facets/release/platforms"
)

// DefaultVersion is the version rehearsed when none is given.
const DefaultVersion = "1.0.0"

// Options tune a rehearsal.
type Options struct {
	// Version is the rehearsed release version; empty means 1.0.0.
	Version string
	// Facts are the environment's: its Environ (PATH, to find node, npm and
	// go) is the base of every program's environment, and ConfigPath, when
	// it names a file, the configuration rehearsed instead of the embedded
	// default. Nothing else of the caller's environment is used: npm gets a
	// configuration of its own pointing at the throwaway registry.
	Facts toolkit.Facts
	// RepoRoot is this module's root (the demo CLI is built from it);
	// empty means the current directory.
	RepoRoot string
	// Out receives the report; nil means stdout.
	Out io.Writer
	// Keep leaves the work directory (dist, tarballs) in place.
	Keep bool
	// Stage rehearses a staged release: the trusted publisher may only
	// stage, CI stages every package and writes its reports, and a
	// maintainer approves the release with a one-time password.
	Stage bool
	// TempDir is where work directories go; empty means the system's.
	TempDir string
}

// Result is what a rehearsal released.
type Result struct {
	// Tool is the CLI package rehearsed and Version its version.
	Tool, Version string
	// Records are the npm packages.
	Records []outcome.Record
	// Assets are the standalone archives and the checksums file, GitHub are
	// the GitHub Release and its assets, Notice the Slack notice.
	Assets, GitHub []outcome.Record
	Notice         outcome.Record
	// ReleaseURL is the GitHub Release's page on the emulator, and Posted
	// the notice's text as Slack received it.
	ReleaseURL, Posted string
}

// Run rehearses a release and returns what it released, also when it
// failed part of the way.
func Run(ctx context.Context, o Options) (*Result, error) {
	res := &Result{Version: cmp.Or(o.Version, DefaultVersion)}
	recs, err := run(ctx, o, res)
	res.Records = recs
	return res, err
}

func run(ctx context.Context, o Options, res *Result) ([]outcome.Record, error) {
	if o.Version == "" {
		o.Version = DefaultVersion
	}
	if o.RepoRoot == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		o.RepoRoot = wd
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	out := report.New(o.Out, report.UseColor(o.Out, o.Facts.NoColor))
	cfg, err := rehearsedConfig(o)
	if err != nil {
		return nil, err
	}
	res.Tool = cfg.CLI.Package
	work, release, err := WorkDir(o.TempDir, out)
	if err != nil {
		return nil, err
	}
	defer release()
	if o.Keep {
		out.Line(report.Info, "work directory (kept): %s", work)
		defer keep(work)
	} else {
		defer os.RemoveAll(work)
	}

	out.Heading("Starting a throwaway local registry")
	base := &command.Runner{Environ: o.Facts.Environ}
	reg, err := localregistry.New(localregistry.WithRunner(base), localregistry.WithDir(work))
	if err != nil {
		return nil, err
	}
	defer reg.Close()
	out.Line(report.OK, "registry at %s (Verdaccio %s, no uplinks)", reg.URL, localregistry.VerdaccioVersion())

	maintainer, err := reg.CreateUser("maintainer")
	if err != nil {
		return nil, err
	}
	maintainerEnv, err := npmEnv(reg, filepath.Join(work, "npm-maintainer"), maintainer)
	if err != nil {
		return nil, err
	}
	fixtures.DemoBuild(cfg, o.RepoRoot)
	cfg.Dist.Dir = filepath.Join(work, "dist")
	if cfg.Adapters.Workspace, err = fixtures.WriteWorkspace(filepath.Join(work, "workspace")); err != nil {
		return nil, err
	}
	// The CLI's own package.json carries the release version, as a release
	// commit of the monorepo would.
	cfg.CLI.Source = "packages/cli"
	if err := setVersion(filepath.Join(cfg.SourceDir(), "package.json"), o.Version); err != nil {
		return nil, err
	}
	cfg.Adapters.Packages = nil
	// The demo monorepo's packageManager is bun, as agent-facets' is; where
	// Bun is not installed its libraries build with npm instead.
	if _, err := (&command.Runner{Environ: o.Facts.Environ}).LookPath("bun"); err != nil && len(cfg.Adapters.Build) == 0 {
		cfg.Adapters.Build = []string{"npm", "run", "build"}
		out.Line(report.Info, "bun is not on PATH: the demo libraries build with `npm run build` (adapters.build)")
	}
	if o.Stage {
		cfg.Release.Mode = config.ModeStage
	}
	// A maintainer at their machine: npm's own login, nobody at the
	// terminal to answer prompts.
	e := toolkit.New(cfg, toolkit.ReadFacts(command.Merge(o.Facts.Environ, maintainerEnv), false), o.Out)
	e.Out = out

	out.Heading("Building the demo CLI for %d targets at %s", len(cfg.Targets), o.Version)
	if _, err := build.Build(ctx, e, cfg.PlatformTargets(), o.Version); err != nil {
		return nil, err
	}

	// The package-assets job, beside npm publishing.
	out.Heading("Packaging %d standalone archives and %s (mage releaseAssets)", len(cfg.ArchiveList()), cfg.Assets.Checksums)
	if _, res.Assets, err = releaseassets.Make(ctx, e, o.Version); err != nil {
		return nil, err
	}

	adapters, err := e.Adapters()
	if err != nil {
		return nil, err
	}
	all := append(e.CLIPackages(), toolkit.Names(adapters)...)
	out.Heading("Seeding %d packages as a maintainer (mage seedCLI, mage seedAdapters)", len(all))
	if _, err := seed.Seed(ctx, e, e.CLIPackages(), seed.Options{}); err != nil {
		return nil, err
	}
	if _, err := seed.Seed(ctx, e, toolkit.Names(adapters), seed.Options{}); err != nil {
		return nil, err
	}
	out.Heading("Attaching the %s trusted publisher, allowed to %s (mage trust:attach)", cfg.TrustedPublisher.Provider.Name(), publisher.PermissionName(trust.Permission(cfg)))
	if _, err := (&trust.Attacher{Env: e, Pacing: 100 * time.Millisecond}).Attach(ctx, all); err != nil {
		return nil, err
	}

	// From here on, CI: no npm login at all, the environment of a job of
	// the configured trusted publisher for the release tag: a stand-in
	// circleci that mints tokens for the configured CircleCI project, or
	// GitHub's token service for the configured workflow.
	if o.Stage {
		out.Heading("Staging as CI would, with trusted publishing only")
	} else {
		out.Heading("Publishing as CI would, with trusted publishing only")
	}
	ciEnv, err := npmEnv(reg, filepath.Join(work, "npm-ci"), "")
	if err != nil {
		return nil, err
	}
	jobEnv, err := ciJob(reg, cfg, filepath.Join(work, "bin"), command.Getenv(o.Facts.Environ, "PATH"), cfg.Release.TagPrefix+o.Version, time.Hour)
	if err != nil {
		return nil, err
	}
	ciEnv = append(ciEnv, jobEnv...)
	ci := toolkit.New(cfg, toolkit.ReadFacts(command.Merge(o.Facts.Environ, ciEnv), false), o.Out)
	ci.Out = out
	v, err := ci.Version("")
	if err != nil {
		return nil, err
	}
	opts := publish.Options{Auth: publish.NewOIDC(ci)}
	start := time.Now()
	reports := filepath.Join(work, "reports")
	job := func(op string, run func() ([]outcome.Record, error)) ([]outcome.Record, error) {
		begin := time.Now()
		recs, err := run()
		if o.Stage {
			// The CI jobs' reports: what release:approve checks the staged
			// tarballs against.
			rep := releasereport.New(op, cfg.CLI.Package, v, begin, time.Now(), recs, err)
			if werr := rep.WriteJSON(filepath.Join(reports, op+".json")); werr != nil && err == nil {
				err = werr
			}
		}
		return recs, err
	}
	recs, err := job("publishPlatform", func() ([]outcome.Record, error) { return publish.Platforms(ctx, ci, cfg.Targets, v, opts) })
	if err != nil {
		outcome.Summary(out, recs)
		return recs, err
	}
	// On the CLI's tag, the library job releases what the CLI's source
	// needs; publishCLI refuses until it has.
	out.Heading("Releasing the libraries the CLI needs (mage publishAdapters on %s%s)", cfg.Release.TagPrefix, v)
	ad, err := job("publishAdapters", func() ([]outcome.Record, error) { return publish.Adapters(ctx, ci, opts) })
	recs = append(recs, ad...)
	if err != nil {
		outcome.Summary(out, recs)
		return recs, err
	}
	cli, err := job("publishCLI", func() ([]outcome.Record, error) { return publish.CLI(ctx, ci, v, opts) })
	recs = append(recs, cli...)
	if err != nil {
		outcome.Summary(out, recs)
		return recs, err
	}
	if o.Stage {
		out.Line(report.OK, "staged %d packages in %s; nothing is public yet", len(recs), time.Since(start).Round(100*time.Millisecond))
		outcome.Summary(out, recs)
		out.Heading("Approving as a maintainer, with a one-time password (mage release:approve %s -reports=<the CI reports>)", v)
		approved, err := approve.Approve(ctx, e, v, approve.Options{Reports: reports, OTP: reg.OTP()})
		if err != nil {
			outcome.Summary(out, approved)
			return approved, err
		}
		recs = approved
	}
	out.Line(report.OK, "released %d packages in %s", len(recs), time.Since(start).Round(100*time.Millisecond))

	out.Heading("Installing %s@%s from the registry, as a user would", cfg.CLI.Package, v)
	got, err := publish.Installable(ctx, ci, cfg.CLI.Package, v, cfg.CLI.Binary, "--version")
	if err != nil {
		return recs, err
	}
	if strings.TrimSpace(got) != v {
		return recs, fmt.Errorf("installed %s prints %q, want %s", cfg.CLI.Binary, strings.TrimSpace(got), v)
	}
	out.Line(report.OK, "npm install %s@%s, then `%s --version` printed %s", cfg.CLI.Package, v, cfg.CLI.Binary, strings.TrimSpace(got))

	d, err := ci.Libraries()
	if err != nil {
		return recs, err
	}
	libs := library.Expect(d.Workspace, d.Packages)
	out.Heading("Installing the %d libraries from the registry and importing them in Node", len(libs))
	exports, err := publish.InstallLibraries(ctx, ci, libs)
	if err != nil {
		return recs, err
	}
	for _, l := range libs {
		var deps []string
		for _, n := range slices.Sorted(maps.Keys(l.Deps)) {
			deps = append(deps, n+"@"+l.Deps[n])
		}
		resolved := ""
		if len(deps) > 0 {
			resolved = "; resolved " + strings.Join(deps, ", ")
		}
		out.Line(report.OK, "import(%q) from %s@%s: exports %s%s", l.Name, l.Name, l.Version, strings.Join(exports[l.Name], ", "), resolved)
	}
	out.Line(report.OK, "no installed package.json holds a workspace: range")

	if err := gitHubAndSlack(ctx, o, cfg, ciEnv, v, out, res); err != nil {
		return recs, err
	}

	out.Heading("Summary")
	outcome.Summary(out, recs)
	outcome.Summary(out, append(append(append([]outcome.Record(nil), res.Assets...), res.GitHub...), res.Notice))
	out.Text("\nRehearsal complete: %d packages released to a throwaway registry, %d archives on a GitHub Release and a notice posted, all on local emulators, which are now removed.", len(recs), len(res.Assets)-1)
	return recs, nil
}

// gitHubAndSlack runs the github-release job (twice: the second run finds
// everything in place) against a local GitHub emulator, checks the
// archives download as the install script fetches them, and posts the
// success notice to a local Slack emulator.
func gitHubAndSlack(ctx context.Context, o Options, cfg *config.Config, ciEnv []string, v string, out *report.Printer, res *Result) error {
	gh, err := localgithub.New()
	if err != nil {
		return err
	}
	defer gh.Close()
	sl, err := localslack.New()
	if err != nil {
		return err
	}
	defer sl.Close()

	tag := cfg.Release.TagPrefix + v
	if cfg.GitHub.Repository == "" {
		cfg.GitHub.Repository = "rehearsal/" + cfg.CLI.Package
	}
	gh.AddRepo(cfg.GitHub.Repository, tag)
	cfg.GitHub.APIURL, cfg.GitHub.UploadURL = gh.APIURL(), ""
	cfg.GitHub.AppID, cfg.GitHub.InstallationID = "", ""
	if cfg.Slack.Channel == "" {
		cfg.Slack.Channel = "#releases"
	}
	sl.Channel(cfg.Slack.Channel)
	cfg.Slack.APIURL = sl.APIURL()
	cfg.Release.PackageURL = "" // link the version on the local registry
	if err := writeChangelog(cfg, v); err != nil {
		return err
	}
	env := append(slices.Clone(ciEnv),
		"GITHUB_TOKEN="+gh.Token(cfg.GitHub.Repository), "GH_TOKEN=", "GITHUB_API_URL=",
		"GITHUB_APP_ID=", "GITHUB_APP_INSTALLATION_ID=", "GITHUB_APP_PRIVATE_KEY=",
		"SLACK_BOT_TOKEN="+sl.BotToken(), "SLACK_WEBHOOK_URL=")
	e := toolkit.New(cfg, toolkit.ReadFacts(command.Merge(o.Facts.Environ, env), false), o.Out)
	e.Out = out

	out.Heading("Creating the GitHub Release %s on a local GitHub emulator (mage githubRelease)", tag)
	rel, recs, err := githubrelease.Run(ctx, e, v, githubrelease.Options{})
	res.GitHub = recs
	if err != nil {
		return err
	}
	res.ReleaseURL = rel.URL
	out.Heading("Running githubRelease again, as a re-run after a failure would")
	if _, again, err := githubrelease.Run(ctx, e, v, githubrelease.Options{}); err != nil {
		return err
	} else if n := outcome.Count(again, outcome.Identical); n != len(again) {
		return fmt.Errorf("the second githubRelease changed %d things; it should change none", len(again)-n)
	}
	uploads := gh.Count("POST", "/assets")
	if err := downloads(ctx, e, cfg, gh.URL, tag, out); err != nil {
		return err
	}
	out.Line(report.OK, "%d uploads in all: the second run uploaded nothing", uploads)

	out.Heading("Posting the release notice to a local Slack emulator (mage notify success)")
	if res.Notice, err = notify.Run(ctx, e, notify.Options{Result: notify.Success, Version: v}); err != nil {
		return err
	}
	posts := sl.Posts()
	if res.Notice.Action != outcome.Published || len(posts) != 1 {
		return fmt.Errorf("the notice did not reach Slack: %s", res.Notice.Error)
	}
	res.Posted = posts[0].Text
	return nil
}

// writeChangelog gives the demo CLI's source package (in the rehearsal's
// own workspace) a changelog entry for v, and points githubRelease at it:
// a github.changelog of the configuration is never written to.
func writeChangelog(cfg *config.Config, v string) error {
	cfg.GitHub.Changelog = ""
	path := githubrelease.ChangelogPath(cfg)
	cfg.GitHub.Changelog = path
	text := fmt.Sprintf("# %s\n\n## %s\n\n### Patch Changes\n\n- A rehearsed release of the demo CLI.\n", cfg.CLI.Package, v)
	return os.WriteFile(path, []byte(text), 0o644)
}

// downloads fetches checksums.txt and this machine's archive from the
// release's download URLs, as the install script and `self-update` do, and
// checks the archive against the checksums.
func downloads(ctx context.Context, e *toolkit.Env, cfg *config.Config, web, tag string, out *report.Printer) error {
	base := web + cfg.GitHub.Repository + "/releases/download/" + url.PathEscape(tag) + "/"
	get := func(name string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+url.PathEscape(name), nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("download %s: %s", name, resp.Status)
		}
		return io.ReadAll(resp.Body)
	}
	data, err := get(cfg.Assets.Checksums)
	if err != nil {
		return err
	}
	sums, err := archive.ParseChecksums(data)
	if err != nil {
		return err
	}
	host := map[string]bool{}
	for _, c := range platforms.DetectHost().Candidates() {
		host[c.Name] = true
	}
	for _, a := range cfg.ArchiveList() {
		if !host[a.From.Name] {
			continue
		}
		name := releaseassets.Name(cfg.CLI.Binary, a.Name, archive.FormatFor(a.From))
		body, err := get(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != sums[name] {
			return fmt.Errorf("%s downloaded from the release does not match %s", name, cfg.Assets.Checksums)
		}
		out.Line(report.OK, "downloaded %s and %s from the release, as the install script does: the SHA-256 matches", cfg.Assets.Checksums, name)
		return nil
	}
	out.Line(report.OK, "downloaded %s from the release (%d archives listed; none is for this machine)", cfg.Assets.Checksums, len(sums))
	return nil
}

// rehearsedConfig is the configuration RELEASE_CONFIG names, else the
// embedded default (this repository's release.json).
func rehearsedConfig(o Options) (*config.Config, error) {
	if p := o.Facts.ConfigPath; p != "" {
		return config.Load(p)
	}
	return config.Parse("release.json (embedded)", o.RepoRoot, release.DefaultConfig)
}

// npmEnv writes a private npm configuration for the registry under dir
// (with the given login, or none) and returns the environment entries that
// make npm use it.
func npmEnv(reg *localregistry.Registry, dir, token string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return reg.WriteNpmEnv(dir, token)
}

// setVersion sets the "version" of the package.json at path.
func setVersion(path, v string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	m["version"] = v
	data, err = json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// workPrefix names rehearsal work directories; workMark marks one made
// under the lock (only those are ever removed: a directory of an older
// toolkit, which held no lock, may belong to a rehearsal still running);
// keptMark marks one kept on purpose (-keep).
const (
	workPrefix = "rehearsal-"
	workMark   = ".rehearsal"
	keptMark   = ".kept"
	workLock   = "agent-facets-rehearsal.lock"
)

// WorkDir makes a rehearsal's work directory (mode 0700) in tmp (the
// system's temporary directory when empty). A work directory holds a
// maintainer's token, the stand-in circleci's signing key and the
// registry's users: one that a killed rehearsal left behind is removed
// here, at the next start. Every running rehearsal holds a shared lock
// until release is called; only when no rehearsal holds it are the others'
// directories stale, so concurrent rehearsals never remove each other's.
func WorkDir(tmp string, out *report.Printer) (dir string, release func(), err error) {
	if tmp == "" {
		tmp = os.TempDir()
	}
	lock := flock.New(filepath.Join(tmp, workLock))
	if ok, err := lock.TryLock(); err == nil && ok {
		for _, stale := range staleWorkDirs(tmp) {
			if err := os.RemoveAll(stale); err == nil && out != nil {
				out.Line(report.Info, "removed %s, left by a rehearsal that did not finish", stale)
			}
		}
		_ = lock.Unlock()
	}
	if err := lock.RLock(); err != nil {
		return "", nil, fmt.Errorf("lock %s: %w", lock.Path(), err)
	}
	dir, err = os.MkdirTemp(tmp, workPrefix)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, workMark), []byte("a rehearsal's work directory: removed by the next rehearsal if this one does not finish\n"), 0o600)
	}
	if err != nil {
		_ = lock.Unlock()
		return "", nil, err
	}
	return dir, func() { _ = lock.Unlock() }, nil
}

// staleWorkDirs are the work directories in tmp not kept on purpose.
func staleWorkDirs(tmp string) []string {
	matches, _ := filepath.Glob(filepath.Join(tmp, workPrefix+"*"))
	var out []string
	for _, m := range matches {
		fi, err := os.Lstat(m)
		if err != nil || !fi.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(m, keptMark)); err == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(m, workMark)); err != nil {
			continue
		}
		out = append(out, m)
	}
	return out
}

// keep marks a work directory kept on purpose, so that the next rehearsal
// leaves it alone.
func keep(dir string) {
	_ = os.WriteFile(filepath.Join(dir, keptMark), []byte("kept with -keep: remove it when done\n"), 0o600)
}
