// Package seed makes sure every package exists on the registry, publishing a
// placeholder version where one is missing, so that a trusted publisher can
// be attached to it (npm cannot attach one to a package that does not exist,
// and OIDC cannot create a package).
package seed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/agent-facets/release/internal/fanout"
	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/trust"
)

// Options tune a seeding run.
type Options struct {
	// Trust attaches the trusted publisher after seeding (trust.Attacher).
	Trust bool
	// Attacher is used when Trust is set; nil means a default one.
	Attacher *trust.Attacher
}

// Seed makes sure every package in pkgs exists on the registry. It prints a
// line per package, a summary, and what is left to configure for trusted
// publishing. The error names every package that failed.
func Seed(ctx context.Context, e *toolkit.Env, pkgs []string, o Options) ([]outcome.Record, error) {
	regFor, err := e.RegistryFor(ctx, pkgs)
	if err != nil {
		return nil, err
	}
	// Log in first: seeding publishes, and trust listing needs an account.
	// Ping before npm: npm retries a dead registry for over a minute.
	for _, reg := range distinct(pkgs, regFor) {
		if err := e.Reg.Ping(ctx, reg); err != nil {
			return nil, fmt.Errorf("nothing was checked or published: %w", err)
		}
		user, err := e.NPM.WhoAmI(ctx, reg)
		if err != nil {
			return nil, err
		}
		e.Out.Line(report.Info, "logged in to %s as %s", reg, user)
	}

	specs := make([]registry.Spec, len(pkgs))
	for i, p := range pkgs {
		specs[i] = registry.Spec{Name: p}
	}
	states, err := e.Reg.CheckAll(ctx, regFor, specs, true)
	if err != nil {
		return nil, fmt.Errorf("cannot tell which packages exist, so nothing was published: %w", err)
	}

	results := make([]outcome.Record, len(pkgs))
	var missing []int
	for i, st := range states {
		results[i].Package = st.Spec.Name
		if st.State == registry.PackageMissing {
			missing = append(missing, i)
			continue
		}
		results[i].Action, results[i].Note = outcome.Identical, "already on the registry"
		e.Out.Line(report.Skipped, "%s (already on the registry, skipping)", st.Spec.Name)
	}
	if len(missing) == 0 {
		e.Out.Text("All packages already exist on npm (%s; %d checked). Nothing to seed.", strings.Join(distinct(pkgs, regFor), ", "), len(pkgs))
	}

	tmp, err := os.MkdirTemp("", "seed-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// One at a time when npm may prompt for a 2FA code; a few at once
	// otherwise (more would invite the registry's rate limit).
	limit := 4
	if e.Facts.Interactive {
		limit = 1
	}
	seeded := fanout.Each(limit, missing, func(_ int, i int) outcome.Record {
		name := pkgs[i]
		r := outcome.Record{Package: name, Version: e.Cfg.Release.PlaceholderVersion}
		err := publishPlaceholder(ctx, e, tmp, name, regFor(name))
		switch {
		case err == nil:
			r.Action, r.Note = outcome.Published, "placeholder"
			e.Out.Line(report.Added, "%s@%s", name, r.Version)
		case appeared(ctx, e, name, regFor(name)):
			// Someone else published it meanwhile: it exists, which is the goal.
			r.Action, r.Note = outcome.Identical, "published by someone else meanwhile"
			e.Out.Line(report.Skipped, "%s (published by someone else meanwhile, skipping)", name)
		default:
			r = outcome.Fail(name, r.Version, err)
			e.Out.Line(report.Failed, "%s: %v", name, err)
		}
		return r
	})
	for j, i := range missing {
		results[i] = seeded[j]
	}

	var failed []string
	for _, r := range results {
		if r.Action == outcome.Failed {
			failed = append(failed, r.Package)
		}
	}
	if len(missing) > 0 {
		e.Out.Text("\nSeeded %d placeholder package(s), %d already present, %d failed.",
			outcome.Count(results, outcome.Published), outcome.Count(results, outcome.Identical), len(failed))
	}

	if o.Trust {
		a := o.Attacher
		if a == nil {
			a = &trust.Attacher{Env: e}
		}
		e.Out.Heading("Attaching trusted publishers")
		if _, err := a.Attach(ctx, pkgs); err != nil && len(failed) == 0 {
			return results, err
		}
	} else if states, err := trust.Check(ctx, e, pkgs); err == nil {
		trust.PrintTodo(e, states)
		for _, s := range states {
			if s.Status == trust.Drift {
				e.Out.Heading("Trusted publisher drift")
				trust.PrintState(e, []trust.State{s})
			}
		}
	} else {
		e.Out.Line(report.Warn, "could not read trusted-publisher state: %v", err)
	}

	if len(failed) > 0 {
		return results, fmt.Errorf("seeding failed for %d package(s): %s; fix the cause above and run again (present packages are skipped)", len(failed), strings.Join(failed, ", "))
	}
	return results, nil
}

func distinct(pkgs []string, regFor func(string) string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range pkgs {
		if r := regFor(p); !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

func appeared(ctx context.Context, e *toolkit.Env, name, reg string) bool {
	r := e.Reg.Check(ctx, reg, registry.Spec{Name: name}, true)
	return r.Err == nil && r.State != registry.PackageMissing
}

// Placeholder returns the package.json of a placeholder package.
func Placeholder(e *toolkit.Env, name string) map[string]any {
	m := map[string]any{
		"name":        name,
		"version":     e.Cfg.Release.PlaceholderVersion,
		"description": fmt.Sprintf("Placeholder for %s, reserved so a trusted publisher can be attached; real releases are published from CI.", name),
	}
	if e.Cfg.Release.License != "" {
		m["license"] = e.Cfg.Release.License
	}
	if e.Cfg.Release.Repository != "" {
		m["repository"] = map[string]string{"type": "git", "url": "git+" + e.Cfg.Release.Repository + ".git"}
	}
	return m
}

func publishPlaceholder(ctx context.Context, e *toolkit.Env, tmp, name, reg string) error {
	dir := filepath.Join(tmp, strings.NewReplacer("@", "", "/", "__").Replace(name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(Placeholder(e, name), "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "package.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	readme := fmt.Sprintf("# %s\n\nThis version only reserves the name so that a trusted publisher can be attached.\nReal releases are published from CI.\n", name)
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644); err != nil {
		return err
	}
	err := e.NPM.Publish(ctx, npmcli.PublishOptions{
		Path: dir, Registry: reg, Access: "public", OTP: e.Facts.OTP, Interactive: e.Facts.Interactive,
	})
	var ne *npmcli.Error
	if errors.As(err, &ne) && ne.Code == "EOTP" {
		return fmt.Errorf("%w: this account needs a 2FA code: run again in a terminal, or set NPM_OTP", err)
	}
	return err
}
