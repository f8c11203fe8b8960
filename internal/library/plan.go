package library

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/version"
	"github.com/agent-facets/release/internal/workspace"
)

// Mode is what started a library release.
type Mode int

const (
	// Unreleased: no tag; every library whose version is not on the
	// registry is released (what merging a changesets "Version Packages"
	// pull request calls for).
	Unreleased Mode = iota
	// LibraryTag: a tag <scope>/<name>@X.Y.Z releases that one package.
	LibraryTag
	// CLITag: the CLI's release tag releases the libraries the CLI's
	// source depends on that are not on the registry, before the CLI.
	CLITag
)

// Plan is what a library release will release.
type Plan struct {
	Mode Mode
	// Tag is the tag that started the run ("" for none).
	Tag       string
	Discovery *toolkit.Discovery
	// Units are the packages to release, in dependency order.
	Units []workspace.Package
	// Others are the libraries this run leaves alone, each with why
	// (Action Skipped).
	Others []outcome.Record
	// state is the registry's answer for every public workspace package at
	// its workspace version; registries where each is published.
	state      map[string]registry.Result
	registries map[string]string
}

// Registry returns where the library name is published.
func (p *Plan) Registry(name string) string { return p.registries[name] }

// Released reports whether name@v is on the registry as a release (the
// seeded placeholder version never counts).
func (p *Plan) Released(e *toolkit.Env, name, v string) bool {
	r, ok := p.state[name]
	return ok && r.Spec.Version == v && r.Err == nil && r.State == registry.Published && v != e.Cfg.Release.PlaceholderVersion
}

// NewPlan decides the release units of a run started by tag ("" for none)
// from the discovered libraries and the registry.
func NewPlan(ctx context.Context, e *toolkit.Env, d *toolkit.Discovery, tag string) (*Plan, error) {
	p := &Plan{Tag: tag, Discovery: d, state: map[string]registry.Result{}, registries: map[string]string{}}
	ws := d.Workspace
	if ws == nil {
		return nil, fmt.Errorf("adapters.packages in %s lists the libraries by name, but releasing them needs their sources: set adapters.workspace to the monorepo's root instead", e.Cfg.File)
	}
	// The libraries, and the public workspace packages they depend on
	// (the lint needs to know whether those are on the registry).
	var specs []registry.Spec
	check := map[string]bool{}
	for _, l := range d.Packages {
		check[l.Name] = true
		for _, dep := range l.Deps {
			check[dep] = true
		}
	}
	for _, wp := range ws.Packages {
		if wp.Private || wp.Version == "" || !check[wp.Name] {
			continue
		}
		reg, err := RegistryOf(ctx, e, wp)
		if err != nil {
			return nil, err
		}
		p.registries[wp.Name] = reg
		specs = append(specs, registry.Spec{Name: wp.Name, Version: wp.Version})
	}
	results, err := e.Reg.CheckAll(ctx, p.Registry, specs, true)
	if err != nil {
		return nil, fmt.Errorf("cannot tell which libraries are on the registry, so nothing was built or published: %w", err)
	}
	for _, r := range results {
		p.state[r.Spec.Name] = r
	}

	var want func(workspace.Package) (bool, string)
	switch {
	case tag == "":
		p.Mode = Unreleased
		want = func(workspace.Package) (bool, string) { return true, "" }
	case strings.HasPrefix(tag, e.Cfg.Release.TagPrefix):
		p.Mode = CLITag
		if _, err := version.Validate(strings.TrimPrefix(tag, e.Cfg.Release.TagPrefix)); err != nil {
			return nil, fmt.Errorf("tag %s: %w", tag, err)
		}
		if e.Cfg.CLI.Source == "" {
			want = func(workspace.Package) (bool, string) { return true, "" }
			break
		}
		needs, _, err := CLINeeds(e, ws)
		if err != nil {
			return nil, err
		}
		want = func(wp workspace.Package) (bool, string) {
			return slices.ContainsFunc(needs, func(n workspace.Package) bool { return n.Name == wp.Name }), "not a dependency of the CLI's source (cli.source)"
		}
	default:
		p.Mode = LibraryTag
		name, v, err := ParseTag(e, d, tag)
		if err != nil {
			return nil, err
		}
		for _, wp := range d.Packages {
			if wp.Name != name {
				p.Others = append(p.Others, outcome.Record{Package: wp.Name, Version: wp.Version, Action: outcome.Skipped, Note: "not the package of tag " + tag})
				continue
			}
			if wp.Version != v {
				return nil, fmt.Errorf("tag %s asks for %s %s, but %s/package.json has version %s: tag the version package.json holds (%s@%s), or bump package.json and tag that; nothing was built or published",
					tag, name, v, ws.Rel(wp), wp.Version, name, wp.Version)
			}
			p.Units = append(p.Units, wp)
		}
		return p, nil
	}
	for _, wp := range d.Packages {
		ok, why := want(wp)
		switch {
		case !ok:
			p.Others = append(p.Others, outcome.Record{Package: wp.Name, Version: wp.Version, Action: outcome.Skipped, Note: why})
		case p.Released(e, wp.Name, wp.Version):
			p.Others = append(p.Others, outcome.Record{Package: wp.Name, Version: wp.Version, Action: outcome.Skipped, Note: "already on the registry", Integrity: p.state[wp.Name].Integrity, Registry: registry.Redact(p.registries[wp.Name])})
		default:
			p.Units = append(p.Units, wp)
		}
	}
	return p, nil
}

// ParseTag splits a library tag (<scope>/<name>@X.Y.Z) into the package and
// version, and checks that it names a library.
func ParseTag(e *toolkit.Env, d *toolkit.Discovery, tag string) (string, string, error) {
	i := strings.LastIndex(tag, "@")
	if i <= 0 {
		return "", "", fmt.Errorf("tag %s is neither the CLI's release tag (%sX.Y.Z) nor a library's (%s/<name>@X.Y.Z): nothing to release", tag, e.Cfg.Release.TagPrefix, e.Cfg.Scope)
	}
	name, v := tag[:i], tag[i+1:]
	if _, err := version.Validate(v); err != nil {
		return "", "", fmt.Errorf("tag %s: %w", tag, err)
	}
	if _, ok := d.Lookup(name); ok {
		return name, v, nil
	}
	for _, s := range d.Skipped {
		if s.Package.Name == name {
			return "", "", fmt.Errorf("tag %s names %s, which is not a library of this release: %s", tag, name, s.Reason)
		}
	}
	return "", "", fmt.Errorf("tag %s names %s, which is no package of the workspace %s: check the tag (library tags are %s/<name>@X.Y.Z)", tag, name, d.Workspace.Dir, e.Cfg.Scope)
}

// RegistryOf is the registry wp is published to: its publishConfig's
// registry, else npm's for its name.
func RegistryOf(ctx context.Context, e *toolkit.Env, wp workspace.Package) (string, error) {
	if m, err := ParseObject(wp.Manifest); err == nil {
		if pc, ok := m.Object("publishConfig"); ok {
			if r, ok := pc.String("registry"); ok && r != "" {
				return strings.TrimSuffix(r, "/") + "/", nil
			}
		}
	}
	return e.Registry(ctx, wp.Name)
}

// CLINeeds returns the public workspace packages the CLI's source package
// (cli.source) depends on, in any dependency field, and what those depend
// on in turn (in the fields users install), in dependency order; and the
// source package itself.
func CLINeeds(e *toolkit.Env, ws *workspace.Workspace) ([]workspace.Package, workspace.Package, error) {
	dir := filepath.Join(ws.Dir, filepath.FromSlash(e.Cfg.CLI.Source))
	src, ok := ws.At(dir)
	if !ok {
		return nil, workspace.Package{}, fmt.Errorf("%s: cli.source is %q, but %s is no package of the workspace %s: point cli.source at the CLI's source package, relative to the workspace root",
			e.Cfg.File, e.Cfg.CLI.Source, dir, ws.Dir)
	}
	seen := map[string]bool{}
	var out []workspace.Package
	var visit func(names []string)
	visit = func(names []string) {
		for _, n := range names {
			dep, ok := ws.Lookup(n)
			if !ok || dep.Private || seen[n] {
				continue
			}
			seen[n] = true
			out = append(out, dep)
			visit(dep.Deps)
		}
	}
	visit(append(append([]string(nil), src.Deps...), src.DevDeps...))
	ordered, err := workspace.Order(out)
	return ordered, src, err
}
