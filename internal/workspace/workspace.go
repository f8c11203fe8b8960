// Package workspace finds the packages of an npm workspace checkout through
// its root package.json "workspaces" globs, and orders them by their
// dependencies on each other.
package workspace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Package is one workspace package.
type Package struct {
	Name    string
	Version string
	Private bool
	// Dir is the package's directory.
	Dir string
	// Deps are the names this package depends on (dependencies,
	// optionalDependencies and peerDependencies).
	Deps []string
}

type manifest struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Private              bool              `json:"private"`
	Workspaces           json.RawMessage   `json:"workspaces"`
	Dependencies         map[string]string `json:"dependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
}

func readManifest(path string) (*manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %v", path, err)
	}
	return &m, nil
}

// Globs returns the workspaces globs of the root package.json in dir. Both
// the array form and the {"packages": [...]} form are understood.
func Globs(dir string) ([]string, error) {
	root := filepath.Join(dir, "package.json")
	m, err := readManifest(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("workspace %s has no package.json: point adapters.workspace at the monorepo's root, or list adapters.packages explicitly", dir)
		}
		return nil, err
	}
	if len(m.Workspaces) == 0 {
		return nil, fmt.Errorf("%s has no \"workspaces\" field: point adapters.workspace at the monorepo's root, or list adapters.packages explicitly", root)
	}
	var globs []string
	if err := json.Unmarshal(m.Workspaces, &globs); err != nil {
		var obj struct {
			Packages []string `json:"packages"`
		}
		if err2 := json.Unmarshal(m.Workspaces, &obj); err2 != nil {
			return nil, fmt.Errorf("%s: \"workspaces\" must be an array of globs or {\"packages\": [...]}", root)
		}
		globs = obj.Packages
	}
	return globs, nil
}

// Discover lists the packages of the workspace rooted at dir, sorted by name.
func Discover(dir string) ([]Package, error) {
	globs, err := Globs(dir)
	if err != nil {
		return nil, err
	}
	dirs := map[string]bool{}
	for _, g := range globs {
		neg := strings.HasPrefix(g, "!")
		matches, err := expand(dir, strings.TrimPrefix(g, "!"))
		if err != nil {
			return nil, fmt.Errorf("workspace glob %q: %v", g, err)
		}
		for _, m := range matches {
			if neg {
				delete(dirs, m)
			} else {
				dirs[m] = true
			}
		}
	}
	var out []Package
	seen := map[string]string{}
	for d := range dirs {
		m, err := readManifest(filepath.Join(d, "package.json"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m.Name == "" {
			continue
		}
		if prev, ok := seen[m.Name]; ok {
			return nil, fmt.Errorf("two workspace packages are named %s: %s and %s", m.Name, prev, d)
		}
		seen[m.Name] = d
		p := Package{Name: m.Name, Version: m.Version, Private: m.Private, Dir: d}
		for _, deps := range []map[string]string{m.Dependencies, m.OptionalDependencies, m.PeerDependencies} {
			for n := range deps {
				p.Deps = append(p.Deps, n)
			}
		}
		sort.Strings(p.Deps)
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// expand resolves one glob relative to root. "**" matches any depth of
// directories; other segments use filepath.Match rules.
func expand(root, glob string) ([]string, error) {
	glob = strings.TrimSuffix(filepath.ToSlash(glob), "/")
	if !strings.Contains(glob, "**") {
		m, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(glob)))
		return dirsOnly(m), err
	}
	prefix, rest, _ := strings.Cut(glob, "**")
	rest = strings.TrimPrefix(rest, "/")
	base := filepath.Join(root, filepath.FromSlash(prefix))
	var out []string
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && p != base {
			return filepath.SkipDir
		}
		if rest == "" {
			out = append(out, p)
			return nil
		}
		rel, _ := filepath.Rel(base, p)
		if ok, _ := filepath.Match(rest, filepath.Base(rel)); ok {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

func dirsOnly(paths []string) []string {
	var out []string
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			out = append(out, p)
		}
	}
	return out
}

// Order sorts pkgs so that each comes after the packages of pkgs it depends
// on. A dependency cycle is an error naming the packages in it.
func Order(pkgs []Package) ([]Package, error) {
	byName := map[string]Package{}
	for _, p := range pkgs {
		byName[p.Name] = p
	}
	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var out []Package
	var stack []string
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			i := 0
			for stack[i] != name {
				i++
			}
			return fmt.Errorf("workspace packages depend on each other in a cycle: %s -> %s", strings.Join(stack[i:], " -> "), name)
		}
		state[name] = visiting
		stack = append(stack, name)
		for _, d := range byName[name].Deps {
			if _, ok := byName[d]; ok {
				if err := visit(d); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
		out = append(out, byName[name])
		return nil
	}
	names := make([]string, 0, len(pkgs))
	for _, p := range pkgs {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}
