// Package targets is what the Mage targets run: each function loads the
// configuration, calls one operation of the toolkit and returns an error fit
// for a person (redacted of secrets). The magefile only forwards to it.
package targets

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/ciconfig"
	"github.com/agent-facets/release/internal/config"
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

// ConfigPath is the release configuration: $RELEASE_CONFIG, else
// release.json in the current directory.
func ConfigPath() string {
	if p := os.Getenv("RELEASE_CONFIG"); p != "" {
		return p
	}
	return config.DefaultFile
}

// Load returns the Env for the configured project.
var Load = func() (*toolkit.Env, error) { return toolkit.New(ConfigPath()) }

func run(f func(e *toolkit.Env) error) error {
	e, err := Load()
	if err != nil {
		return secret.Error(err)
	}
	return secret.Error(f(e))
}

// SeedCLI seeds the CLI package and every platform package.
func SeedCLI(ctx context.Context, attach bool) error {
	return run(func(e *toolkit.Env) error {
		e.Out.Heading("Seeding %d CLI packages", len(e.CLIPackages()))
		_, err := seed.Seed(ctx, e, e.CLIPackages(), seed.Options{Trust: attach})
		return err
	})
}

// SeedAdapters seeds the adapter packages.
func SeedAdapters(ctx context.Context, attach bool) error {
	return run(func(e *toolkit.Env) error {
		pkgs, err := e.Adapters()
		if err != nil {
			return err
		}
		e.Out.Heading("Seeding %d adapter packages", len(pkgs))
		_, err = seed.Seed(ctx, e, toolkit.Names(pkgs), seed.Options{Trust: attach})
		return err
	})
}

// Packages returns the package set named by which: "cli", "adapters" or
// "all" (the default).
func Packages(e *toolkit.Env, which string) ([]string, error) {
	switch which {
	case "cli":
		return e.CLIPackages(), nil
	case "adapters", "all", "":
		a, err := e.Adapters()
		if err != nil {
			return nil, err
		}
		if which == "adapters" {
			return toolkit.Names(a), nil
		}
		return append(e.CLIPackages(), toolkit.Names(a)...), nil
	}
	return nil, fmt.Errorf("unknown package set %q: use cli, adapters or all", which)
}

// withPackages runs f on the package set named by which.
func withPackages(which string, f func(e *toolkit.Env, pkgs []string) error) error {
	return run(func(e *toolkit.Env) error {
		pkgs, err := Packages(e, which)
		if err != nil {
			return err
		}
		return f(e, pkgs)
	})
}

// TrustAttach attaches the configured trusted publisher where none is.
func TrustAttach(ctx context.Context, which string) error {
	return withPackages(which, func(e *toolkit.Env, pkgs []string) error {
		e.Out.Heading("Attaching the trusted publisher to %d packages", len(pkgs))
		_, err := (&trust.Attacher{Env: e}).Attach(ctx, pkgs)
		return err
	})
}

// TrustCheck prints every package's trusted-publisher state and fails when
// any is not ready.
func TrustCheck(ctx context.Context, which string) error {
	return withPackages(which, func(e *toolkit.Env, pkgs []string) error {
		states, err := trust.Check(ctx, e, pkgs)
		if err != nil {
			return err
		}
		e.Out.Heading("Trusted publishing state of %d packages", len(pkgs))
		if n := trust.PrintState(e.Out, states, trust.Want(e)); n > 0 {
			trust.PrintTodo(e, states)
			return fmt.Errorf("%w: %d of %d need attention (see above)", trust.ErrNotReady, n, len(pkgs))
		}
		e.Out.Text("All %d packages are ready for trusted publishing.", len(pkgs))
		return nil
	})
}

// Platforms prints the platform table.
func Platforms() error {
	cur, curErr := platforms.Current()
	rows := [][]string{}
	for _, t := range platforms.Table {
		mark := ""
		if curErr == nil && t.Name == cur.Name {
			mark = "← this machine"
		}
		rows = append(rows, []string{t.Name, t.OS, t.CPU, t.Libc, t.BunTarget, strings.TrimSpace(t.GOOS + "/" + t.GOARCH + " " + t.GOAMD64), mark})
	}
	report.New(os.Stdout).Table([]string{"target", "os", "cpu", "libc", "bun target", "go", ""}, rows)
	return nil
}

// Build builds the binaries of all configured targets, or of the named one.
func Build(ctx context.Context, target, ver string) error {
	return run(func(e *toolkit.Env) error {
		v, err := version.Resolve(ver, e.Cfg.Release.TagPrefix)
		if err != nil {
			return err
		}
		ts := e.Cfg.PlatformTargets()
		if target != "" {
			t, err := e.Cfg.Target(target)
			if err != nil {
				return err
			}
			ts = []platforms.Target{t}
		}
		e.Out.Heading("Building %d target(s) at %s", len(ts), v)
		_, err = build.Build(ctx, e, ts, v)
		return err
	})
}

// PublishOptions are the flags shared by the publish targets.
type PublishOptions struct {
	Version string
	Tag     string
	Auth    string // "oidc", "npm" or "" (oidc on CI, npm elsewhere)
}

func options(e *toolkit.Env, o PublishOptions) (publish.Options, error) {
	auth, err := Auth(e, o.Auth)
	if err != nil {
		return publish.Options{}, err
	}
	return publish.Options{Auth: auth, Tag: o.Tag}, nil
}

// publishing runs one publishing operation: it resolves the version (when
// the operation takes one) and the credentials, runs op, and prints the
// summary of whatever it did, failed or not.
//
// Afterwards, failed or not, it writes the JSON report to $RELEASE_REPORT
// and appends the Markdown summary to $GITHUB_STEP_SUMMARY, when set. The
// report names the operation as Mage names the target (publishPlatform).
func publishing(operation string, o PublishOptions, needVersion bool, op func(e *toolkit.Env, v string, po publish.Options) ([]publish.Record, error)) error {
	return run(func(e *toolkit.Env) error {
		start := time.Now()
		var v string
		recs, err := func() ([]publish.Record, error) {
			if needVersion {
				var err error
				if v, err = version.Resolve(o.Version, e.Cfg.Release.TagPrefix); err != nil {
					return nil, err
				}
			}
			po, err := options(e, o)
			if err != nil {
				return nil, err
			}
			return op(e, v, po)
		}()
		if len(recs) > 0 {
			publish.Summary(e.Out, recs)
		}
		rep := releasereport.FromRecords(operation, e.Cfg.CLI.Package, v, start, time.Now(), recs, err)
		return errors.Join(err, releasereport.Emit(rep))
	})
}

// PublishPlatform publishes one platform package and verifies it.
func PublishPlatform(ctx context.Context, target string, o PublishOptions) error {
	return publishing("publishPlatform", o, true, func(e *toolkit.Env, v string, po publish.Options) ([]publish.Record, error) {
		rec, err := publish.Platform(ctx, e, target, v, po)
		return []publish.Record{rec}, err
	})
}

// PublishCLI publishes the CLI package once every platform package is
// confirmed at the version.
func PublishCLI(ctx context.Context, o PublishOptions) error {
	return publishing("publishCLI", o, true, func(e *toolkit.Env, v string, po publish.Options) ([]publish.Record, error) {
		return publish.CLI(ctx, e, v, po)
	})
}

// PublishAdapters publishes the adapter packages whose version is not on
// the registry (each at its own package.json version).
func PublishAdapters(ctx context.Context, o PublishOptions) error {
	return publishing("publishAdapters", o, false, func(e *toolkit.Env, _ string, po publish.Options) ([]publish.Record, error) {
		return publish.Adapters(ctx, e, po)
	})
}

// Rehearse runs a whole release against a throwaway local registry.
func Rehearse(ctx context.Context, ver string, keep bool) error {
	start := time.Now()
	o := rehearse.Options{Version: ver, Keep: keep}
	recs, err := rehearse.Run(ctx, o)
	rep := releasereport.FromRecords("rehearse", "agent-facets", cmp.Or(ver, rehearse.DefaultVersion), start, time.Now(), recs, err)
	return secret.Error(errors.Join(err, releasereport.Emit(rep)))
}

// CIGenerate writes the CircleCI and GitHub Actions release pipelines.
func CIGenerate(dir string) error {
	return run(func(e *toolkit.Env) error {
		if err := ciconfig.Write(e.Cfg, dir, ciconfig.WithLayout(layout(dir))); err != nil {
			return err
		}
		e.Out.Line(report.Added, "release pipelines written under %s", dir)
		return nil
	})
}

// CICheck fails when the committed pipelines differ from what CIGenerate
// would write.
func CICheck(dir string) error {
	return run(func(e *toolkit.Env) error {
		if err := ciconfig.Verify(e.Cfg, dir, ciconfig.WithLayout(layout(dir))); err != nil {
			return err
		}
		e.Out.Line(report.OK, "release pipelines under %s are up to date", dir)
		return nil
	})
}

// layout picks the examples layout for the examples directory and the
// repository layout (.circleci/, .github/workflows/) elsewhere.
func layout(dir string) ciconfig.Layout {
	if filepath.Base(filepath.Clean(dir)) == "examples" {
		return ciconfig.ExamplesLayout
	}
	return ciconfig.RepoLayout
}

// Status prints the state of release version ver and fails unless it is
// complete.
func Status(ctx context.Context, ver string) error {
	return run(func(e *toolkit.Env) error {
		v, err := version.Resolve(ver, e.Cfg.Release.TagPrefix)
		if err != nil {
			return err
		}
		start := time.Now()
		r, err := status.Read(ctx, e, v)
		if err != nil {
			return err
		}
		status.Print(e.Out, r)
		if err := releasereport.Emit(releasereport.FromStatus(e.Cfg.CLI.Package, start, time.Now(), r)); err != nil {
			return err
		}
		if !r.Complete {
			return fmt.Errorf("%w: next, %s", status.ErrIncomplete, r.Next)
		}
		return nil
	})
}
