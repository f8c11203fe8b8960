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

	"golang.org/x/sync/errgroup"

	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/trust"
)

// Outcome of seeding one package.
type Outcome string

const (
	Seeded  Outcome = "seeded"
	Present Outcome = "present"
	Failed  Outcome = "failed"
)

// Result is what happened to one package.
type Result struct {
	Package string
	Outcome Outcome
	Err     error
}

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
func Seed(ctx context.Context, e *toolkit.Env, pkgs []string, o Options) ([]Result, error) {
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

	results := make([]Result, len(pkgs))
	var missing []int
	for i, s := range states {
		results[i].Package = s.Spec.Name
		if s.State == registry.PackageMissing {
			missing = append(missing, i)
			continue
		}
		results[i].Outcome = Present
		e.Out.Line(report.Skipped, "%s (already on the registry, skipping)", s.Spec.Name)
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
	g := new(errgroup.Group)
	g.SetLimit(4)
	if e.Interactive {
		g.SetLimit(1)
	}
	for _, i := range missing {
		name := pkgs[i]
		g.Go(func() error {
			err := publishPlaceholder(ctx, e, tmp, name, regFor(name))
			switch {
			case err == nil:
				results[i].Outcome = Seeded
				e.Out.Line(report.Added, "%s@%s", name, e.Cfg.Release.PlaceholderVersion)
			case appeared(ctx, e, name, regFor(name)):
				// Someone else published it meanwhile: it exists, which is the goal.
				results[i].Outcome = Present
				e.Out.Line(report.Skipped, "%s (published by someone else meanwhile, skipping)", name)
			default:
				results[i].Outcome, results[i].Err = Failed, err
				e.Out.Line(report.Failed, "%s: %v", name, err)
			}
			return nil
		})
	}
	_ = g.Wait()

	var failed []string
	seeded, present := 0, 0
	for _, r := range results {
		switch r.Outcome {
		case Seeded:
			seeded++
		case Present:
			present++
		case Failed:
			failed = append(failed, r.Package)
		}
	}
	if len(missing) > 0 {
		e.Out.Text("\nSeeded %d placeholder package(s), %d already present, %d failed.", seeded, present, len(failed))
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
				trust.PrintState(e.Out, []trust.State{s}, trust.Want(e))
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
		Path: dir, Registry: reg, Access: "public", OTP: e.OTP, Interactive: e.Interactive,
	})
	var ne *npmcli.Error
	if errors.As(err, &ne) && ne.Code == "EOTP" {
		return fmt.Errorf("%w: this account needs a 2FA code: run again in a terminal, or set NPM_OTP", err)
	}
	return err
}
