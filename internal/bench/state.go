package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
)

// StateResult is the registry-state pair: the state of every package of a
// release (CLI, platform and adapter packages at their versions) read by the
// toolkit, by one `npm view` per package all at once, and by plain
// concurrent HTTP GETs (the floor).
type StateResult struct {
	Packages int
	// Toolkit is registry.Client.CheckAll as status and the publishing
	// targets call it, with the registry already resolved.
	Toolkit []Span
	// Cold adds what a fresh status process also does first: read npm's
	// configuration for the registry (one `npm config list`).
	Cold  []Span
	NPM   []Span
	Floor []Span
	// OneView is one `npm view` on its own; the verification pair models the
	// old schedule with it.
	OneView []Span
}

// Goals implements the state goals: 50× faster than npm view, within 2× of
// the floor.
func (r *StateResult) Goals() []Goal {
	tk, npm, floor := median(walls(r.Toolkit)), median(walls(r.NPM)), median(walls(r.Floor))
	return []Goal{
		{Pair: "1. registry state", Goal: "≥ 50× faster than npm view in parallel",
			Measured: fmt.Sprintf("%s vs %s: %.0f×", ms(tk), sec(npm), ratio(npm, tk)), Met: ratio(npm, tk) >= 50},
		{Pair: "1. registry state", Goal: "within 2× of plain concurrent GETs",
			Measured: fmt.Sprintf("%s vs %s: %.2f×", ms(tk), ms(floor), ratio(tk, floor)), Met: ratio(tk, floor) <= 2},
	}
}

// state runs the registry-state pair against the registry holding the
// release (and the adapters, which it publishes first).
func (w *world) state(ctx context.Context, r *localRegistry) (*StateResult, error) {
	e := w.env(r.npmEnv, w.quiet)
	if _, err := publishAdapters(ctx, e); err != nil {
		return nil, err
	}
	specs, err := releaseSpecs(e)
	if err != nil {
		return nil, err
	}
	res := &StateResult{Packages: len(specs)}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	regFor, err := e.RegistryFor(ctx, names)
	if err != nil {
		return nil, err
	}
	sides := []func() (Span, error){
		func() (Span, error) {
			// A fresh process has no connections to reuse: close those of
			// the client the toolkit reads with (its own transport).
			e.Reg.HTTPClient().CloseIdleConnections()
			return measure(func() error {
				results, err := e.Reg.CheckAll(ctx, regFor, specs, true)
				return checkPublished(results, err)
			})
		},
		func() (Span, error) {
			cold := w.env(r.npmEnv, w.quiet) // a new client: no connections yet
			return measure(func() error {
				regFor, err := cold.RegistryFor(ctx, names)
				if err != nil {
					return err
				}
				results, err := cold.Reg.CheckAll(ctx, regFor, specs, true)
				return checkPublished(results, err)
			})
		},
		func() (Span, error) { return measure(func() error { return npmViewAll(ctx, r.npmEnv, specs) }) },
		func() (Span, error) { return measure(func() error { return floorGets(ctx, regFor, specs) }) },
		func() (Span, error) { return measure(func() error { return npmViewAll(ctx, r.npmEnv, specs[:1]) }) },
	}
	all := []*[]Span{&res.Toolkit, &res.Cold, &res.NPM, &res.Floor, &res.OneView}
	// One untimed round first: the first run of each side pays for loading
	// code and filling caches (npm's files, Go's JSON decoders).
	for _, side := range sides {
		if _, err := side(); err != nil {
			return nil, err
		}
	}
	for i := 0; i < w.o.Runs; i++ {
		for _, k := range rotate(len(sides), i) {
			s, err := sides[k]()
			if err != nil {
				return nil, err
			}
			*all[k] = append(*all[k], s)
		}
		w.out.Line(report.OK, "run %d/%d: toolkit %s (cold, with npm config: %s), npm view ×%d %s, plain GETs %s, one npm view %s",
			i+1, w.o.Runs, ms(res.Toolkit[i].Wall), ms(res.Cold[i].Wall), len(specs), sec(res.NPM[i].Wall), ms(res.Floor[i].Wall), sec(res.OneView[i].Wall))
	}
	return res, nil
}

// releaseSpecs lists every package of the release at its version: the CLI
// package and the platform packages at the release version, the adapters at
// their package.json versions.
func releaseSpecs(e *toolkit.Env) ([]registry.Spec, error) {
	var specs []registry.Spec
	for _, n := range e.CLIPackages() {
		specs = append(specs, registry.Spec{Name: n, Version: version})
	}
	adapters, err := e.Adapters()
	if err != nil {
		return nil, err
	}
	for _, a := range adapters {
		specs = append(specs, registry.Spec{Name: a.Name, Version: a.Version})
	}
	return specs, nil
}

func checkPublished(results []registry.Result, err error) error {
	if err != nil {
		return fmt.Errorf("bench: the toolkit's check: %w", err)
	}
	for _, r := range results {
		if r.State != registry.Published || r.Integrity == "" {
			return fmt.Errorf("bench: the toolkit's check says %s is %s; the release should be complete", r.Spec, r.State)
		}
	}
	return nil
}

// npmViewAll runs `npm view name@version version` for every spec at once, as
// the old scripts did, and checks that each printed its version.
func npmViewAll(ctx context.Context, npmEnv []string, specs []registry.Spec) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range specs {
		g.Go(func() error {
			out, _, err := run(gctx, "", npmEnv, "npm", "view", s.String(), "version")
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			if strings.TrimSpace(out) != s.Version {
				return fmt.Errorf("bench: npm view %s printed %q", s, strings.TrimSpace(out))
			}
			return nil
		})
	}
	return g.Wait()
}

// floorGets is the least any check can do: one concurrent GET per package of
// the same abbreviated, uncached packument, on fresh connections, reading the
// body and nothing more.
func floorGets(ctx context.Context, regFor func(string) string, specs []registry.Spec) error {
	tr := &http.Transport{MaxIdleConnsPerHost: len(specs)}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range specs {
		g.Go(func() error {
			req, err := http.NewRequestWithContext(gctx, http.MethodGet, registry.PackageURL(regFor(s.Name), s.Name)+"?write=true", nil)
			if err != nil {
				return err
			}
			req.Header.Set("Accept", registry.AbbreviatedAccept)
			resp, err := c.Do(req)
			if err != nil {
				return fmt.Errorf("bench: plain GET of %s: %w", s.Name, err)
			}
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				return fmt.Errorf("bench: plain GET of %s: %w", s.Name, err)
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("bench: plain GET of %s: %s", s.Name, resp.Status)
			}
			return nil
		})
	}
	return g.Wait()
}

// publishAdapters publishes the demo workspace's adapter packages, so that
// the registry holds a whole release.
func publishAdapters(ctx context.Context, e *toolkit.Env) ([]outcome.Record, error) {
	recs, err := publish.Adapters(ctx, e, publish.Options{Auth: publish.NpmLogin{}})
	if err != nil {
		return recs, fmt.Errorf("bench: publish the demo adapters: %w", err)
	}
	return recs, nil
}
