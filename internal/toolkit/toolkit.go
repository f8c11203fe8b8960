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
	a := e.Cfg.Adapters
	if len(a.Packages) > 0 {
		var out []workspace.Package
		for _, n := range a.Packages {
			out = append(out, workspace.Package{Name: n})
		}
		return out, nil
	}
	if a.Workspace == "" {
		return nil, fmt.Errorf("%s: adapters: neither \"workspace\" nor \"packages\" is set: say where the adapter packages come from", e.Cfg.File)
	}
	all, err := workspace.Discover(e.Cfg.Path(a.Workspace))
	if err != nil {
		return nil, err
	}
	var out []workspace.Package
	for _, p := range all {
		unscoped, inScope := strings.CutPrefix(p.Name, e.Cfg.Scope+"/")
		if p.Private || !inScope || unscoped == "" || excluded(unscoped, a.Exclude) {
			continue
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no adapter packages found in the workspace %s (public %s/* packages, excluding %v): check adapters.workspace in %s", e.Cfg.Path(a.Workspace), e.Cfg.Scope, a.Exclude, e.Cfg.File)
	}
	return workspace.Order(out)
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
