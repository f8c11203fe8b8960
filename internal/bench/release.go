package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/seed"
)

// ReleaseResult is the whole-release pair: the toolkit (platform packages
// concurrently, then the CLI package, each verified) against the old flow
// (one `npm publish` after another, each followed by `npm view`).
type ReleaseResult struct {
	Packages int
	Toolkit  []Span
	NPM      []Span
	// NPMPublish and NPMView are the costs of every npm process of the old
	// flow, over all runs.
	NPMPublish, NPMView []Proc
	// Identical counts, over all runs, the packages both registries hold at
	// the release version with the same integrity as the local tarball;
	// Compared is how many were compared.
	Identical, Compared int
	// Mismatches names the packages that differed.
	Mismatches []string
	// Setup is the median time to start and seed the two registries of a
	// run (not measured in the pair).
	Setup time.Duration
}

// Ratio is how many times faster the toolkit was (median against median).
func (r *ReleaseResult) Ratio() float64 { return ratio(median(walls(r.NPM)), median(walls(r.Toolkit))) }

// Goals implements the release goals: 3× faster, the same packages and bytes.
func (r *ReleaseResult) Goals() []Goal {
	return []Goal{
		{Pair: "4. whole release", Goal: "≥ 3× faster than sequential npm publish + npm view",
			Measured: fmt.Sprintf("%s vs %s: %.1f×", sec(median(walls(r.Toolkit))), sec(median(walls(r.NPM))), r.Ratio()),
			Met:      r.Ratio() >= 3},
		{Pair: "4. whole release", Goal: "same packages and bytes on both registries",
			Measured: fmt.Sprintf("%d of %d package versions identical (sha512)", r.Identical, r.Compared),
			Met:      r.Compared > 0 && r.Identical == r.Compared},
	}
}

// release runs the whole-release pair. It returns the last run's toolkit
// registry, holding the release, for the other pairs; the caller closes it.
func (w *world) release(ctx context.Context) (*ReleaseResult, *localRegistry, error) {
	res := &ReleaseResult{}
	// The old flow publishes the toolkit's own tarballs, so that both
	// registries must end up with the same bytes. Packing is deterministic:
	// the toolkit's runs write these same bytes again.
	pkgs, err := w.tarballs()
	if err != nil {
		return nil, nil, err
	}
	res.Packages = len(pkgs)
	var setups []time.Duration
	var kept *localRegistry
	for i := 0; i < w.o.ReleaseRuns; i++ {
		start := time.Now()
		tk, old, err := w.seededPair(ctx, i)
		if err != nil {
			if kept != nil {
				kept.reg.Close()
			}
			return nil, nil, err
		}
		setups = append(setups, time.Since(start))
		closeAll := func() {
			tk.reg.Close()
			old.reg.Close()
			if kept != nil {
				kept.reg.Close()
			}
		}
		var tkSpan, npmSpan Span
		for _, side := range rotate(2, i) {
			if side == 0 {
				tkSpan, err = measure(func() error { return w.toolkitRelease(ctx, tk) })
			} else {
				npmSpan, err = measure(func() error { return w.npmRelease(ctx, old, pkgs, res) })
			}
			if err != nil {
				closeAll()
				return nil, nil, err
			}
		}
		res.Toolkit, res.NPM = append(res.Toolkit, tkSpan), append(res.NPM, npmSpan)
		if err := compareRegistries(ctx, tk, old, pkgs, res); err != nil {
			closeAll()
			return nil, nil, err
		}
		w.out.Line(report.OK, "run %d/%d: toolkit %s, npm %s (%.1f×); setup %s",
			i+1, w.o.ReleaseRuns, sec(tkSpan.Wall), sec(npmSpan.Wall), ratio(npmSpan.Wall, tkSpan.Wall), sec(setups[i]))
		old.reg.Close()
		if kept != nil {
			kept.reg.Close()
		}
		kept = tk
	}
	res.Setup = median(setups)
	return res, kept, nil
}

// tarballs packs every platform package and the CLI package once and copies
// the tarballs aside for the old flow, in its publishing order.
func (w *world) tarballs() ([]*pack.Package, error) {
	e := w.env(nil, w.quiet)
	dir := filepath.Join(w.work, "old-flow")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var pkgs []*pack.Package
	for _, t := range w.cfg.PlatformTargets() {
		p, err := pack.Platform(e, t, version)
		if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
	p, err := pack.CLI(e, version)
	if err != nil {
		return nil, err
	}
	pkgs = append(pkgs, p)
	for _, p := range pkgs {
		data, err := os.ReadFile(p.Tarball)
		if err != nil {
			return nil, err
		}
		p.Tarball = filepath.Join(dir, filepath.Base(p.Tarball))
		if err := os.WriteFile(p.Tarball, data, 0o644); err != nil {
			return nil, err
		}
	}
	return pkgs, nil
}

// seededPair starts two fresh registries and seeds the CLI packages on both
// as a maintainer (seedCLI), at the same time.
func (w *world) seededPair(ctx context.Context, run int) (tk, old *localRegistry, err error) {
	regs := make([]*localRegistry, 2)
	g, gctx := errgroup.WithContext(ctx)
	for k := range regs {
		g.Go(func() error {
			r, err := startRegistry(filepath.Join(w.work, fmt.Sprintf("npm-release-%d-%d", run, k)))
			if err != nil {
				return err
			}
			regs[k] = r
			e := w.env(r.npmEnv, w.quiet)
			if _, err := seed.Seed(gctx, e, e.CLIPackages(), seed.Options{}); err != nil {
				return fmt.Errorf("bench: seed the release's packages: %w", err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		for _, r := range regs {
			if r != nil {
				r.reg.Close()
			}
		}
		return nil, nil, err
	}
	return regs[0], regs[1], nil
}

// toolkitRelease publishes the release as the publishing targets do: every
// platform package concurrently (publishPlatform, as the CI matrix), then
// the CLI package (publishCLI), each verified on the registry.
func (w *world) toolkitRelease(ctx context.Context, r *localRegistry) error {
	e := w.env(r.npmEnv, w.quiet)
	o := publish.Options{Auth: publish.NpmLogin{}}
	recs, err := publish.Platforms(ctx, e, w.cfg.Targets, version, o)
	if err != nil {
		return fmt.Errorf("bench: the toolkit's release: %w", err)
	}
	cli, err := publish.CLI(ctx, e, version, o)
	if err != nil {
		return fmt.Errorf("bench: the toolkit's release: %w", err)
	}
	for _, rec := range append(recs, cli...) {
		if rec.Action != outcome.Published {
			return fmt.Errorf("bench: the toolkit's release: %s@%s was %s, not published: is the registry fresh?", rec.Package, rec.Version, rec.Action)
		}
	}
	return nil
}

// npmRelease is the old flow: for each package in turn, `npm publish` of its
// tarball, then `npm view name@version version` until it prints the version,
// pausing 1, 2, 4 … 128 s between tries.
func (w *world) npmRelease(ctx context.Context, r *localRegistry, pkgs []*pack.Package, res *ReleaseResult) error {
	for _, p := range pkgs {
		_, pr, err := run(ctx, "", r.npmEnv, "npm", "publish", p.Tarball, "--access", "public", "--tag", "latest")
		res.NPMPublish = append(res.NPMPublish, pr)
		if err != nil {
			return fmt.Errorf("bench: the old flow: %w", err)
		}
		if err := oldVerify(ctx, r.npmEnv, p.Name, p.Version, res); err != nil {
			return err
		}
	}
	return nil
}

// oldDelays is the old scripts' schedule: a pause of 1 s, doubled after each
// try, up to 128 s.
var oldDelays = []time.Duration{1, 2, 4, 8, 16, 32, 64, 128}

func oldVerify(ctx context.Context, npmEnv []string, name, v string, res *ReleaseResult) error {
	for i := 0; ; i++ {
		out, pr, err := run(ctx, "", npmEnv, "npm", "view", name+"@"+v, "version")
		if res != nil {
			res.NPMView = append(res.NPMView, pr)
		}
		if err == nil && strings.TrimSpace(out) == v {
			return nil
		}
		if i == len(oldDelays) {
			return fmt.Errorf("bench: the old flow: npm view %s@%s never printed the version: %v", name, v, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(oldDelays[i] * time.Second):
		}
	}
}

// compareRegistries checks that both registries hold every package at the
// release version with the local tarball's integrity.
func compareRegistries(ctx context.Context, a, b *localRegistry, pkgs []*pack.Package, res *ReleaseResult) error {
	c := &registry.Client{}
	for _, p := range pkgs {
		ra := c.Check(ctx, a.reg.URL, registry.Spec{Name: p.Name, Version: p.Version}, true)
		rb := c.Check(ctx, b.reg.URL, registry.Spec{Name: p.Name, Version: p.Version}, true)
		if ra.Err != nil || rb.Err != nil {
			return fmt.Errorf("bench: compare the registries: %v %v", ra.Err, rb.Err)
		}
		res.Compared++
		if ra.State == registry.Published && rb.State == registry.Published &&
			ra.Integrity == p.Info.Integrity && rb.Integrity == p.Info.Integrity {
			res.Identical++
			continue
		}
		res.Mismatches = append(res.Mismatches, fmt.Sprintf("%s (toolkit: %s %s; npm: %s %s; local %s)",
			p, ra.State, ra.Integrity, rb.State, rb.Integrity, p.Info.Integrity))
	}
	return nil
}
