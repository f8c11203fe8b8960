// Package toolkit bundles what every release operation needs: the
// configuration, the facts of the environment (read once), the command
// runner, the npm CLI, the registry client and the report printer, and the
// lists of packages the configuration describes.
package toolkit

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/version"
	"github.com/agent-facets/release/internal/workspace"
)

// Env is the context of one release operation.
type Env struct {
	Cfg   *config.Config
	Facts Facts
	// Run runs every external program, with Facts.Environ.
	Run *command.Runner
	NPM *npmcli.CLI
	Reg *registry.Client
	Out *report.Printer
}

// New returns an Env for cfg and facts, printing to out (coloured when out
// is a terminal and the facts allow).
func New(cfg *config.Config, facts Facts, out io.Writer) *Env {
	run := &command.Runner{Environ: facts.Environ}
	return &Env{
		Cfg:   cfg,
		Facts: facts,
		Run:   run,
		NPM:   &npmcli.CLI{Runner: run},
		Reg:   &registry.Client{},
		Out:   report.New(out, report.UseColor(out, facts.NoColor)),
	}
}

// Load reads the configuration Facts name and returns an Env for it.
func Load(facts Facts, out io.Writer) (*Env, error) {
	cfg, err := config.Load(facts.ConfigFile())
	if err != nil {
		return nil, err
	}
	return New(cfg, facts, out), nil
}

// Version returns the release version: arg when given, else the one in the
// CI tag that started this run.
func (e *Env) Version(arg string) (string, error) {
	return version.Resolve(arg, e.Cfg.Release.TagPrefix, e.Facts.Tag, e.Facts.TagVar)
}

// Registry returns the registry URL npm uses for name, read as npm reads
// it, and makes the registry client reach it as npm does (proxies,
// certificate authorities, strict-ssl, fetch-timeout).
func (e *Env) Registry(ctx context.Context, name string) (string, error) {
	s, err := e.NPM.Settings(ctx)
	if err != nil {
		return "", err
	}
	if err := e.configure(s); err != nil {
		return "", err
	}
	return s.RegistryFor(name)
}

// Network is how npm reaches registries, from its settings s and the
// environment's proxies in f.
func Network(s *npmcli.Settings, f Facts) *registry.Network {
	return &registry.Network{
		Proxy: s.Proxy, NoProxy: s.NoProxy, Env: f.Proxy,
		CA: s.CA, Insecure: !s.StrictSSL, Timeout: s.Timeout(), Where: s.Where,
	}
}

// configure points the registry client at npm's network settings, once
// per client.
func (e *Env) configure(s *npmcli.Settings) error {
	if n := e.Reg.Network(); n != nil {
		return nil
	}
	return e.Reg.Configure(Network(s, e.Facts))
}

// RegistryFor returns a lookup usable by registry.Client.CheckAll, after
// resolving every name once (errors surface here, not later).
func (e *Env) RegistryFor(ctx context.Context, names []string) (func(string) string, error) {
	m := map[string]string{}
	for _, n := range names {
		r, err := e.Registry(ctx, n)
		if err != nil {
			return nil, err
		}
		m[n] = r
	}
	return func(n string) string { return m[n] }, nil
}

// CLIPackages returns the CLI package and every platform package, the CLI
// package first.
func (e *Env) CLIPackages() []string {
	return append([]string{e.Cfg.CLI.Package}, e.Cfg.PlatformPackages()...)
}

// Sets names the package sets a maintainer target can work on.
const Sets = "cli, adapters or all"

// Packages returns the package set named by which: "cli" (the CLI and its
// platform packages), "adapters", or "all" (the default).
func (e *Env) Packages(which string) ([]string, error) {
	switch which {
	case "cli":
		return e.CLIPackages(), nil
	case "adapters", "all", "":
		a, err := e.Adapters()
		if err != nil {
			return nil, err
		}
		if which == "adapters" {
			return Names(a), nil
		}
		return append(e.CLIPackages(), Names(a)...), nil
	}
	return nil, fmt.Errorf("unknown package set %q: use %s", which, Sets)
}

// Adapters returns the adapter packages: the explicit list from the
// configuration, or the public packages in the scope found in the
// workspace, minus the excluded ones, in dependency order.
func (e *Env) Adapters() ([]workspace.Package, error) {
	d, err := e.Libraries()
	if err != nil {
		return nil, err
	}
	return d.Packages, nil
}

// Discovery is the library (adapter) packages of the workspace, and the
// workspace packages that are not libraries, each with why.
type Discovery struct {
	// Workspace is the monorepo (nil with an explicit adapters.packages list).
	Workspace *workspace.Workspace
	// Packages are the libraries, in dependency order (names only, no
	// Dir, for an explicit list).
	Packages []workspace.Package
	// Skipped are the other workspace packages.
	Skipped []Skip
}

// Skip is a workspace package that is not a library, and why.
type Skip struct {
	Package workspace.Package
	Reason  string
}

// Libraries discovers the library packages as every library target sees
// them (publishAdapters, seedAdapters, trust:*, status -adapters): the
// explicit adapters.packages list, or else the public packages in the scope
// among the workspace's packages (workspaces globs, nested ones included,
// in either form, or pnpm-workspace.yaml), minus adapters.exclude.
func (e *Env) Libraries() (*Discovery, error) {
	a := e.Cfg.Adapters
	if len(a.Packages) > 0 {
		d := &Discovery{}
		for _, n := range a.Packages {
			d.Packages = append(d.Packages, workspace.Package{Name: n})
		}
		return d, nil
	}
	if a.Workspace == "" {
		return nil, fmt.Errorf("%s: adapters: neither \"workspace\" nor \"packages\" is set: say where the adapter packages come from", e.Cfg.File)
	}
	ws, err := workspace.Load(e.Cfg.Path(a.Workspace))
	if err != nil {
		return nil, err
	}
	d := &Discovery{Workspace: ws}
	var libs []workspace.Package
	for _, p := range ws.Packages {
		if why := e.notLibrary(ws, p); why != "" {
			d.Skipped = append(d.Skipped, Skip{Package: p, Reason: why})
			continue
		}
		libs = append(libs, p)
	}
	if len(libs) == 0 {
		return nil, fmt.Errorf("no adapter packages found in the workspace %s (public %s/* packages, excluding %v): check adapters.workspace in %s", ws.Dir, e.Cfg.Scope, a.Exclude, e.Cfg.File)
	}
	if d.Packages, err = workspace.Order(libs); err != nil {
		return nil, err
	}
	return d, nil
}

// notLibrary says why the workspace package p is not a library ("" when
// it is one).
func (e *Env) notLibrary(ws *workspace.Workspace, p workspace.Package) string {
	unscoped, inScope := strings.CutPrefix(p.Name, e.Cfg.Scope+"/")
	isSource := e.Cfg.CLI.Source != "" && filepath.Clean(p.Dir) == filepath.Clean(filepath.Join(ws.Dir, filepath.FromSlash(e.Cfg.CLI.Source)))
	switch {
	case isSource && p.Private:
		return fmt.Sprintf("private: the CLI's source (cli.source); publishCLI publishes %s", e.Cfg.CLI.Package)
	case p.Private:
		return "private (\"private\": true in its package.json): never published"
	case !inScope || unscoped == "":
		return fmt.Sprintf("outside the scope %s: not a library of this release", e.Cfg.Scope)
	case excluded(unscoped, e.Cfg.Adapters.Exclude):
		return fmt.Sprintf("matches adapters.exclude %v: not a library", e.Cfg.Adapters.Exclude)
	}
	return ""
}

// PrintSkipped prints a line for every workspace package that is not a
// library, saying why.
func (d *Discovery) PrintSkipped(out *report.Printer) {
	for _, s := range d.Skipped {
		where := ""
		if d.Workspace != nil {
			where = " (" + d.Workspace.Rel(s.Package) + ")"
		}
		out.Line(report.Skipped, "%s%s skipped: %s", s.Package.Name, where, s.Reason)
	}
}

// Lookup returns the library named name.
func (d *Discovery) Lookup(name string) (workspace.Package, bool) {
	for _, p := range d.Packages {
		if p.Name == name {
			return p, true
		}
	}
	return workspace.Package{}, false
}

func excluded(unscoped string, globs []string) bool {
	for _, g := range globs {
		if ok, _ := filepath.Match(g, unscoped); ok {
			return true
		}
	}
	return false
}

// Names returns the names of pkgs.
func Names(pkgs []workspace.Package) []string {
	out := make([]string, len(pkgs))
	for i, p := range pkgs {
		out[i] = p.Name
	}
	return out
}
