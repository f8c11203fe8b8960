// Package toolkit bundles what every release operation needs: the
// configuration, the npm CLI, the registry client and the report printer,
// and the lists of packages the configuration describes.
package toolkit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/workspace"
)

// Env is the context of one release operation.
type Env struct {
	Cfg *config.Config
	NPM *npmcli.CLI
	Reg *registry.Client
	Out *report.Printer
	// OTP is a one-time password for accounts with 2FA on writes (seeding,
	// trust setup); empty lets npm prompt when interactive.
	OTP string
	// Interactive lets npm prompt on the terminal (a maintainer's run).
	Interactive bool
}

// New loads the configuration at path and returns an Env printing to stdout.
func New(path string) (*Env, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return &Env{
		Cfg:         cfg,
		NPM:         &npmcli.CLI{},
		Reg:         &registry.Client{},
		Out:         report.New(os.Stdout),
		OTP:         os.Getenv("NPM_OTP"),
		Interactive: isTerminal(os.Stdin) && os.Getenv("CI") == "",
	}, nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Registry returns the registry URL npm uses for name.
func (e *Env) Registry(ctx context.Context, name string) (string, error) {
	return e.NPM.Registry(ctx, name)
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
		if p.Private || !isInScope(p.Name, e.Cfg.Scope) || excluded(p.Name[len(e.Cfg.Scope)+1:], a.Exclude) {
			continue
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no adapter packages found in the workspace %s (public %s/* packages, excluding %v): check adapters.workspace in %s", e.Cfg.Path(a.Workspace), e.Cfg.Scope, a.Exclude, e.Cfg.File)
	}
	return workspace.Order(out)
}

func isInScope(name, scope string) bool {
	return len(name) > len(scope)+1 && name[:len(scope)+1] == scope+"/"
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
