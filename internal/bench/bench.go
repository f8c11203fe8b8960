// Package bench measures the toolkit against the npm CLI doing the same work,
// side by side in one run, against throwaway local registries
// (internal/localregistry): reading the state of a release, packing a platform
// package with a real Bun runtime (against npm pack and bun pm pack), noticing
// a version the registry serves late, and publishing a whole release; and it
// costs one release in the CircleCI pipeline, before the pipeline rework and
// as generated now. Each pair runs alternately several times; the report
// gives medians, ratios, the goals and, where a goal is missed, the
// measurements that bound it. Markdown renders it as BENCHMARKS.md.
package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/agent-facets/release"
	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/fixtures"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
)

// Options size a benchmark run. The zero value is the full run of
// BENCHMARKS.md.
type Options struct {
	// RepoRoot is this module's root (the demo CLI and the pack helper are
	// built from it); empty means the current directory.
	RepoRoot string
	// Runs is how many times the state and packing pairs run, and the
	// compiled toolkit starts (default 5).
	Runs int
	// ReleaseRuns is how many times the whole-release pair runs, each side
	// on a fresh registry (default 3: each run starts and seeds two
	// registries).
	ReleaseRuns int
	// PackSize is the size of the synthetic binary the packing pair also
	// packs (default 100 MiB); SkipSynthetic leaves that row out. The real
	// payload has the size it has.
	PackSize      int64
	SkipSynthetic bool
	// ColdRuns is how many times the toolkit starts with empty Go build and
	// Mage caches, each a full compilation (default 3).
	ColdRuns int
	// CacheDir is where the real payload and the pinned Bun are fetched on
	// first use (default: localregistry.CacheDir(), the user's cache
	// directory).
	CacheDir string
	// Visibility lists the delays after which the registry serves a version
	// in the verification pair (default 5 s, 30 s, 90 s). They run at the
	// same time, each on its own package.
	Visibility []time.Duration
	// Targets limits the release to these targets (default: all configured).
	Targets []string
	// Command is how to reproduce the run, written into the report
	// (default "go tool mage bench").
	Command string
	// Environ is the environment the benchmark's programs start from (PATH
	// finds node, npm and go); npm gets a configuration of its own for each
	// throwaway registry on top of it.
	Environ []string
	// Out receives progress lines; nil means stdout.
	Out io.Writer
}

func (o *Options) defaults() error {
	if o.RepoRoot == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		o.RepoRoot = wd
	}
	if o.Runs <= 0 {
		o.Runs = defaultRuns
	}
	if o.ReleaseRuns <= 0 {
		o.ReleaseRuns = defaultReleaseRuns
	}
	if o.PackSize <= 0 {
		o.PackSize = defaultPackSize
	}
	if o.ColdRuns <= 0 {
		o.ColdRuns = defaultColdRuns
	}
	if o.CacheDir == "" {
		dir, err := localregistry.CacheDir()
		if err != nil {
			return err
		}
		o.CacheDir = dir
	}
	if len(o.Visibility) == 0 {
		o.Visibility = append([]time.Duration(nil), defaultVisibility...)
	}
	if o.Command == "" {
		o.Command = "go tool mage bench"
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	return nil
}

// The full run's sizes.
const (
	defaultRuns        = 5
	defaultReleaseRuns = 3
	defaultColdRuns    = 3
	defaultPackSize    = 100 << 20
)

var defaultVisibility = []time.Duration{5 * time.Second, 30 * time.Second, 90 * time.Second}

// full reports whether o is the full run: every default.
func (o Options) full() bool {
	return o.Runs == defaultRuns && o.ReleaseRuns == defaultReleaseRuns && o.ColdRuns == defaultColdRuns &&
		o.PackSize == defaultPackSize && !o.SkipSynthetic && fmt.Sprint(o.Visibility) == fmt.Sprint(defaultVisibility)
}

// Results is one benchmark run.
type Results struct {
	Machine  Machine
	Started  time.Time
	Duration time.Duration
	Options  Options
	Version  string   // the released version
	Targets  []string // the release's targets

	State    *StateResult
	Pack     *PackResult
	Verify   *VerifyResult
	Release  *ReleaseResult
	Pipeline *PipelineResult
}

// Goal is one goal of the issue and whether this run met it.
type Goal struct {
	Pair     string
	Goal     string
	Measured string
	Met      bool
}

// Goals lists every goal with its outcome, pair by pair.
func (r *Results) Goals() []Goal {
	var out []Goal
	if r.State != nil {
		out = append(out, r.State.Goals()...)
	}
	if r.Pack != nil {
		out = append(out, r.Pack.Goals()...)
	}
	if r.Verify != nil {
		out = append(out, r.Verify.Goals()...)
	}
	if r.Release != nil {
		out = append(out, r.Release.Goals()...)
	}
	return out
}

// version is the release every pair works on.
const version = "1.0.0"

// world is what the pairs share: the work directory, the configuration with
// the demo build, and the progress printer.
type world struct {
	o     Options
	work  string
	cfg   *config.Config
	out   *report.Printer
	quiet *report.Printer
}

// Run runs the four pairs and the pipeline's cost: the whole release first
// (its last toolkit registry then holds the release the other pairs read),
// then the state of the release, packing, the pipeline's cost per release
// (with the packing pair's real sizes), and verification latency.
func Run(ctx context.Context, o Options) (*Results, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	runner.Environ = o.Environ
	res := &Results{Started: time.Now(), Options: o, Version: version}
	res.Machine = describeMachine(ctx)
	w, err := newWorld(o)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(w.work)
	res.Targets = w.cfg.Targets
	w.out.Line(report.Info, "%s, %d CPUs, %.1f GiB; %s; Node %s; npm %s",
		res.Machine.CPU, res.Machine.Cores, float64(res.Machine.Memory)/(1<<30), res.Machine.Go, res.Machine.Node, res.Machine.NPM)
	w.out.Line(report.Wait, "local registry: Verdaccio %s from the pinned lock file (installed on first use)", localregistry.VerdaccioVersion())
	if _, err := localregistry.Install(runner, ""); err != nil {
		return nil, err
	}

	w.out.Heading("Building the demo CLI for %d targets (not measured)", len(w.cfg.Targets))
	if _, err := build.Build(ctx, w.env(nil, w.quiet), w.cfg.PlatformTargets(), version); err != nil {
		return nil, err
	}

	w.out.Heading("4. A whole release: the toolkit vs sequential npm publish + npm view")
	rel, kept, err := w.release(ctx)
	if kept != nil {
		defer kept.reg.Close()
	}
	if err != nil {
		return nil, err
	}
	res.Release = rel

	w.out.Heading("1. Registry state of a release: the toolkit vs npm view vs plain HTTP")
	if res.State, err = w.state(ctx, kept); err != nil {
		return nil, err
	}

	w.out.Heading("2. Packing a platform package with a real Bun runtime: the toolkit vs npm pack vs bun pm pack")
	if res.Pack, err = w.pack(ctx, kept); err != nil {
		return nil, err
	}

	w.out.Heading("5. The CircleCI pipeline's cost per release: before the rework and now")
	if res.Pipeline, err = w.pipeline(ctx, res.Pack); err != nil {
		return nil, err
	}

	w.out.Heading("3. Verification latency: a version the registry serves only after T")
	if res.Verify, err = w.verify(ctx, kept, res.State.OneView); err != nil {
		return nil, err
	}
	res.Duration = time.Since(res.Started)
	w.out.Heading("Goals")
	for _, g := range res.Goals() {
		mark := report.OK
		if !g.Met {
			mark = report.Warn
		}
		w.out.Line(mark, "%s: %s: %s", g.Pair, g.Goal, g.Measured)
	}
	w.out.Line(report.Info, "the whole run took %s", res.Duration.Round(time.Second))
	return res, nil
}

func newWorld(o Options) (*world, error) {
	work, err := os.MkdirTemp("", "bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	w := &world{o: o, work: work, out: report.Plain(o.Out), quiet: report.Plain(io.Discard)}
	cfg, err := config.Parse("release.json (embedded)", o.RepoRoot, release.DefaultConfig)
	if err != nil {
		os.RemoveAll(work)
		return nil, err
	}
	fixtures.DemoBuild(cfg, o.RepoRoot)
	cfg.Dist.Dir = filepath.Join(work, "dist")
	if cfg.Adapters.Workspace, err = fixtures.WriteWorkspace(filepath.Join(work, "workspace")); err != nil {
		os.RemoveAll(work)
		return nil, err
	}
	cfg.Adapters.Packages = nil
	// The benchmark releases the CLI on its own (cli.source would have it
	// wait for the libraries), and builds the demo libraries with npm,
	// which every machine running it has.
	cfg.CLI.Source = ""
	cfg.Adapters.Build = []string{"npm", "run", "build"}
	if len(o.Targets) > 0 {
		for _, t := range o.Targets {
			if _, err := cfg.Target(t); err != nil {
				os.RemoveAll(work)
				return nil, fmt.Errorf("bench: %w", err)
			}
		}
		cfg.Targets = o.Targets
	}
	w.cfg = cfg
	return w, nil
}

// env is a toolkit Env on the benchmark's configuration, running npm with
// npmEnv added to the environment and printing to out.
func (w *world) env(npmEnv []string, out *report.Printer) *toolkit.Env {
	e := toolkit.New(w.cfg, toolkit.ReadFacts(command.Merge(w.o.Environ, npmEnv), false), io.Discard)
	e.Out = out
	return e
}

// localRegistry is a running throwaway registry with a maintainer's npm
// configuration.
type localRegistry struct {
	reg *localregistry.Registry
	// npmEnv points npm at the registry, logged in as the maintainer.
	npmEnv []string
}

// startRegistry starts a registry and writes a maintainer's npm
// configuration for it under dir.
func startRegistry(dir string) (*localRegistry, error) {
	reg, err := localregistry.New(localregistry.WithRunner(runner))
	if err != nil {
		return nil, err
	}
	token, err := reg.CreateUser("maintainer")
	if err != nil {
		reg.Close()
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		reg.Close()
		return nil, err
	}
	env, err := reg.WriteNpmEnv(dir, token)
	if err != nil {
		reg.Close()
		return nil, err
	}
	return &localRegistry{reg: reg, npmEnv: env}, nil
}

// Write runs the benchmark and writes its report as Markdown to path.
func Write(ctx context.Context, o Options, path string) error {
	r, err := Run(ctx, o)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, Markdown(r), 0o644); err != nil {
		return fmt.Errorf("bench: write the report: %w", err)
	}
	report.Plain(r.Options.Out).Line(report.OK, "wrote %s", path)
	return nil
}
