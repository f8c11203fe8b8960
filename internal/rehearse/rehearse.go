// Package rehearse runs a whole release against a throwaway local registry:
// the demo binaries are built for every target, every package is seeded by a
// maintainer, trusted publishers are attached, the platform packages are
// published concurrently with OIDC as the CI matrix would, then the CLI and
// the adapters, and finally the CLI is installed from the registry and run.
// Nothing leaves this machine: the registry is a local Verdaccio with no
// uplinks, and npm runs with its own configuration.
package rehearse

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/agent-facets/release"
	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/fixtures"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/seed"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/trust"
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
	// TempDir is where work directories go; empty means the system's.
	TempDir string
}

// Result is what a rehearsal released.
type Result struct {
	// Tool is the CLI package rehearsed and Version its version.
	Tool, Version string
	Records       []outcome.Record
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
	cfg.CLI.Source = filepath.Join(cfg.Adapters.Workspace, "packages", "cli")
	if err := setVersion(filepath.Join(cfg.CLI.Source, "package.json"), o.Version); err != nil {
		return nil, err
	}
	cfg.Adapters.Packages = nil
	// A maintainer at their machine: npm's own login, nobody at the
	// terminal to answer prompts.
	e := toolkit.New(cfg, toolkit.ReadFacts(command.Merge(o.Facts.Environ, maintainerEnv), false), o.Out)
	e.Out = out

	out.Heading("Building the demo CLI for %d targets at %s", len(cfg.Targets), o.Version)
	if _, err := build.Build(ctx, e, cfg.PlatformTargets(), o.Version); err != nil {
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
	out.Heading("Attaching the %s trusted publisher (mage trust:attach)", cfg.TrustedPublisher.Provider.Name())
	if _, err := (&trust.Attacher{Env: e, Pacing: 100 * time.Millisecond}).Attach(ctx, all); err != nil {
		return nil, err
	}

	// From here on, CI: no npm login at all, a CircleCI job's environment
	// for the release tag, and a stand-in circleci that mints tokens for the
	// configured project.
	out.Heading("Publishing as CI would, with trusted publishing only")
	ciEnv, err := npmEnv(reg, filepath.Join(work, "npm-ci"), "")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(work, "bin")
	if err := os.MkdirAll(bin, 0o700); err != nil {
		return nil, err
	}
	tp := cfg.TrustedPublisher
	claims := localregistry.CircleCIClaims(tp.OrgID, tp.ProjectID, tp.PipelineDefinitionID, tp.VCSOrigin, tp.ContextIDs, time.Hour)
	if err := reg.WriteFakeCircleCI(bin, claims); err != nil {
		return nil, err
	}
	ciEnv = append(ciEnv,
		"PATH="+bin+string(os.PathListSeparator)+command.Getenv(o.Facts.Environ, "PATH"),
		"CIRCLECI=true", "CI=true", "CIRCLE_TAG="+cfg.Release.TagPrefix+o.Version)
	ci := toolkit.New(cfg, toolkit.ReadFacts(command.Merge(o.Facts.Environ, ciEnv), false), o.Out)
	ci.Out = out
	v, err := ci.Version("")
	if err != nil {
		return nil, err
	}
	opts := publish.Options{Auth: publish.NewOIDC(ci)}
	start := time.Now()
	recs, err := publish.Platforms(ctx, ci, cfg.Targets, v, opts)
	if err != nil {
		outcome.Summary(out, recs)
		return recs, err
	}
	cli, err := publish.CLI(ctx, ci, v, opts)
	recs = append(recs, cli...)
	if err != nil {
		outcome.Summary(out, recs)
		return recs, err
	}
	ad, err := publish.Adapters(ctx, ci, opts)
	recs = append(recs, ad...)
	if err != nil {
		outcome.Summary(out, recs)
		return recs, err
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

	out.Heading("Summary")
	outcome.Summary(out, recs)
	out.Text("\nRehearsal complete: %d packages released to a throwaway registry, which is now removed.", len(recs))
	return recs, nil
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
