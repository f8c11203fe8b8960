// Package rehearse runs a whole release against a throwaway local registry:
// the demo binaries are built for every target, every package is seeded by a
// maintainer, trusted publishers are attached, the platform packages are
// published concurrently with OIDC as the CI matrix would, then the CLI and
// the adapters, and finally the CLI is installed from the registry and run.
// Nothing leaves this machine: the registry is a local Verdaccio with no
// uplinks, and npm runs with its own configuration.
package rehearse

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agent-facets/release"
	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/fixtures"
	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/seed"
	"github.com/agent-facets/release/internal/testreg"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/trust"
)

// DefaultVersion is the version rehearsed when none is given.
const DefaultVersion = "1.0.0"

// Options tune a rehearsal.
type Options struct {
	// Version is the rehearsed release version; empty means 1.0.0.
	Version string
	// RepoRoot is this module's root (the demo CLI is built from it);
	// empty means the current directory.
	RepoRoot string
	// Out receives the report; nil means stdout.
	Out io.Writer
	// Keep leaves the work directory (dist, tarballs) in place.
	Keep bool
}

// Run rehearses a release and returns the records of every package.
func Run(ctx context.Context, o Options) ([]publish.Record, error) {
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
	out := report.New(o.Out)
	work, err := os.MkdirTemp("", "rehearsal-")
	if err != nil {
		return nil, err
	}
	if o.Keep {
		out.Line(report.Info, "work directory (kept): %s", work)
	} else {
		defer os.RemoveAll(work)
	}

	out.Heading("Starting a throwaway local registry")
	reg, err := testreg.New()
	if err != nil {
		return nil, err
	}
	defer reg.Close()
	out.Line(report.OK, "registry at %s (Verdaccio, no uplinks)", reg.URL)

	restore := setenv(map[string]string{})
	defer restore()
	maintainer, err := reg.CreateUser("maintainer")
	if err != nil {
		return nil, err
	}
	if err := npmEnv(reg, filepath.Join(work, "npm-maintainer"), maintainer); err != nil {
		return nil, err
	}

	cfg, err := config.Parse("release.json (embedded)", o.RepoRoot, release.DefaultConfig)
	if err != nil {
		return nil, err
	}
	fixtures.DemoBuild(cfg, o.RepoRoot)
	cfg.Dist.Dir = filepath.Join(work, "dist")
	if cfg.Adapters.Workspace, err = fixtures.WriteWorkspace(filepath.Join(work, "workspace")); err != nil {
		return nil, err
	}
	cfg.Adapters.Packages = nil
	e := &toolkit.Env{Cfg: cfg, NPM: &npmcli.CLI{}, Reg: &registry.Client{}, Out: out}

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
	out.Heading("Attaching the CircleCI trusted publisher (mage trust:attach)")
	if _, err := (&trust.Attacher{Env: e, Pacing: 100 * time.Millisecond}).Attach(ctx, all); err != nil {
		return nil, err
	}

	// From here on, CI: no npm login at all, a CircleCI job's environment,
	// and a stand-in circleci that mints tokens for the configured project.
	out.Heading("Publishing as CI would, with trusted publishing only")
	e.NPM = &npmcli.CLI{}
	if err := npmEnv(reg, filepath.Join(work, "npm-ci"), ""); err != nil {
		return nil, err
	}
	bin := filepath.Join(work, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return nil, err
	}
	tp := cfg.TrustedPublisher
	claims := testreg.CircleCIClaims(tp.OrgID, tp.ProjectID, tp.PipelineDefinitionID, tp.VCSOrigin, tp.ContextIDs, time.Hour)
	if err := reg.WriteFakeCircleCI(bin, claims); err != nil {
		return nil, err
	}
	setenv(map[string]string{"PATH": bin + string(os.PathListSeparator) + os.Getenv("PATH"), "CIRCLECI": "true", "CI": "true", "CIRCLE_TAG": cfg.Release.TagPrefix + o.Version})
	opts := publish.Options{Auth: publish.NewOIDC(e)}
	start := time.Now()
	recs, err := publish.Platforms(ctx, e, cfg.Targets, o.Version, opts)
	if err != nil {
		publish.Summary(out, recs)
		return recs, err
	}
	cli, err := publish.CLI(ctx, e, o.Version, opts)
	recs = append(recs, cli...)
	if err != nil {
		publish.Summary(out, recs)
		return recs, err
	}
	ad, err := publish.Adapters(ctx, e, opts)
	recs = append(recs, ad...)
	if err != nil {
		publish.Summary(out, recs)
		return recs, err
	}
	out.Line(report.OK, "released %d packages in %s", len(recs), time.Since(start).Round(100*time.Millisecond))

	out.Heading("Installing %s@%s from the registry, as a user would", cfg.CLI.Package, o.Version)
	got, err := publish.Installable(ctx, e, cfg.CLI.Package, o.Version, cfg.CLI.Binary, "--version")
	if err != nil {
		return recs, err
	}
	if strings.TrimSpace(got) != o.Version {
		return recs, fmt.Errorf("installed %s prints %q, want %s", cfg.CLI.Binary, strings.TrimSpace(got), o.Version)
	}
	out.Line(report.OK, "npm install %s@%s, then `%s --version` printed %s", cfg.CLI.Package, o.Version, cfg.CLI.Binary, strings.TrimSpace(got))

	out.Heading("Summary")
	publish.Summary(out, recs)
	out.Text("\nRehearsal complete: %d packages released to a throwaway registry, which is now removed.", len(recs))
	return recs, nil
}

// npmEnv points npm at the local registry, with its own user config (and
// the given login, or none), in this process's environment.
func npmEnv(reg *testreg.Registry, dir, token string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	env, err := reg.WriteNpmEnv(dir, token)
	if err != nil {
		return err
	}
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	setenv(m)
	return nil
}

var saved = map[string]*string{}

// setenv sets variables and returns a function restoring every variable
// changed since the first call.
func setenv(vars map[string]string) func() {
	for k, v := range vars {
		if _, ok := saved[k]; !ok {
			if old, ok := os.LookupEnv(k); ok {
				saved[k] = &old
			} else {
				saved[k] = nil
			}
		}
		os.Setenv(k, v)
	}
	return func() {
		for k, v := range saved {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
		saved = map[string]*string{}
	}
}
