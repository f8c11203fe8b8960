package library

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/workspace"
)

// Expected is a released library as a user's install must hold it.
type Expected struct {
	Name, Version string
	// Deps are the workspace packages it depends on (in the fields users
	// install) and the version each must resolve to: the one the rewrite
	// wrote.
	Deps map[string]string
}

// Expect returns what installing libs must give: each at its version, its
// workspace dependencies at their workspace versions.
func Expect(ws *workspace.Workspace, libs []workspace.Package) []Expected {
	var out []Expected
	for _, l := range libs {
		x := Expected{Name: l.Name, Version: l.Version, Deps: map[string]string{}}
		for _, d := range l.Deps {
			if dep, ok := ws.Lookup(d); ok && !dep.Private {
				x.Deps[d] = dep.Version
			}
		}
		out = append(out, x)
	}
	return out
}

// Specs are the install arguments of libs ("name@version").
func Specs(libs []Expected) []string {
	out := make([]string, len(libs))
	for i, l := range libs {
		out[i] = l.Name + "@" + l.Version
	}
	return out
}

// VerifyInstall checks a project into which libs were installed (by any
// package manager): each is there at its version and resolves its
// workspace dependencies, the way Node looks for them, to the versions
// the rewrite wrote; no installed package.json holds a workspace: range;
// and Node imports each one. It returns what each import exported.
func VerifyInstall(ctx context.Context, run *command.Runner, project string, libs []Expected) (map[string][]string, error) {
	var errs []error
	for _, l := range libs {
		dir, v, err := installedAt(filepath.Join(project, "node_modules"), l.Name)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s is not installed: %w", l.Name, err))
			continue
		case v != l.Version:
			errs = append(errs, fmt.Errorf("%s is installed at %s, want %s", l.Name, v, l.Version))
		}
		for _, dep := range sortedKeys(l.Deps) {
			got, err := resolveFrom(dir, dep)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("%s's dependency %s does not resolve from %s: %w", l.Name, dep, dir, err))
			case got != l.Deps[dep]:
				errs = append(errs, fmt.Errorf("%s's dependency %s resolves to %s, want %s (the rewritten version)", l.Name, dep, got, l.Deps[dep]))
			}
		}
	}
	if bad, err := workspaceRanges(filepath.Join(project, "node_modules")); err != nil {
		errs = append(errs, err)
	} else if len(bad) > 0 {
		errs = append(errs, fmt.Errorf("installed manifests hold workspace: ranges: %s", strings.Join(bad, ", ")))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// Import each in a Node process of its own project, as a user's code
	// would, and list what it exports.
	names, _ := json.Marshal(Specs(libs))
	script := `const specs = ` + string(names) + `;
const out = {};
for (const spec of specs) {
  const name = spec.slice(0, spec.lastIndexOf("@"));
  const m = await import(name);
  out[name] = Object.keys(m).sort();
}
console.log(JSON.stringify(out));
`
	stdout, err := run.Output(ctx, command.Cmd{Name: "node", Args: []string{"--input-type=module", "-e", script}, Dir: project, Timeout: time.Minute})
	if err != nil {
		return nil, fmt.Errorf("import() of the installed libraries in Node: %w", err)
	}
	exports := map[string][]string{}
	if err := json.Unmarshal([]byte(lastLine(stdout)), &exports); err != nil {
		return nil, fmt.Errorf("import() of the installed libraries printed %q", stdout)
	}
	for _, l := range libs {
		if len(exports[l.Name]) == 0 {
			errs = append(errs, fmt.Errorf("import(%q) gave a module with no exports", l.Name))
		}
	}
	return exports, errors.Join(errs...)
}

// installedAt finds name under nodeModules (following links, as pnpm and
// bun make them) and returns its real directory and version.
func installedAt(nodeModules, name string) (string, string, error) {
	dir, err := filepath.EvalSymlinks(filepath.Join(nodeModules, filepath.FromSlash(name)))
	if err != nil {
		return "", "", err
	}
	v, err := versionAt(dir)
	return dir, v, err
}

func versionAt(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return "", err
	}
	var m struct{ Version string }
	if err := json.Unmarshal(data, &m); err != nil {
		return "", fmt.Errorf("%s/package.json: %v", dir, err)
	}
	return m.Version, nil
}

// resolveFrom finds the package name the way Node does from a package in
// dir: in the node_modules of dir and of each directory above it.
func resolveFrom(dir, name string) (string, error) {
	for d := dir; ; {
		if filepath.Base(d) != "node_modules" {
			cand := filepath.Join(d, "node_modules", filepath.FromSlash(name))
			if _, err := os.Stat(filepath.Join(cand, "package.json")); err == nil {
				return versionAt(cand)
			}
		}
		up := filepath.Dir(d)
		if up == d {
			return "", fs.ErrNotExist
		}
		d = up
	}
}

// workspaceRanges lists the installed package.json files under
// nodeModules (pnpm's and bun's stores included; links not followed) that
// hold a workspace: range.
func workspaceRanges(nodeModules string) ([]string, error) {
	var bad []string
	err := filepath.WalkDir(nodeModules, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || d.Name() != "package.json" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(`"workspace:`)) {
			rel, _ := filepath.Rel(nodeModules, p)
			bad = append(bad, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(bad)
	return bad, err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
