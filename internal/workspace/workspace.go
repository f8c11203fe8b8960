// Package workspace finds the packages of an npm, pnpm, yarn or bun
// workspace checkout through its root package.json "workspaces" globs (or
// pnpm-workspace.yaml's "packages"), reads what publishing them needs (the
// package manager, catalogs, each manifest), and orders them by their
// dependencies on each other.
package workspace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Package is one workspace package.
type Package struct {
	Name    string
	Version string
	Private bool
	// Dir is the package's directory.
	Dir string
	// Deps are the names this package depends on in the fields its users
	// install (dependencies, optionalDependencies and peerDependencies).
	Deps []string
	// DevDeps are the names in devDependencies.
	DevDeps []string
	// Scripts are the package's scripts by name.
	Scripts map[string]string
	// Manifest is the package.json as it is on disk.
	Manifest []byte
}

// String is "name@version".
func (p Package) String() string { return p.Name + "@" + p.Version }

type manifest struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Private              bool              `json:"private"`
	PackageManager       string            `json:"packageManager"`
	Workspaces           json.RawMessage   `json:"workspaces"`
	Dependencies         map[string]string `json:"dependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	Scripts              map[string]string `json:"scripts"`
	// Catalogs, as bun and pnpm read them from the root package.json.
	Catalog  map[string]string            `json:"catalog"`
	Catalogs map[string]map[string]string `json:"catalogs"`

	raw []byte
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
	m.raw = data
	return &m, nil
}

// Globs returns the workspace globs of the monorepo rooted at dir: the root
// package.json "workspaces" field (the array form and the {"packages": [...]}
// form of npm, yarn and bun), else pnpm-workspace.yaml's "packages".
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
		pw, err := readPnpmWorkspace(dir)
		if err != nil {
			return nil, err
		}
		if pw != nil {
			return pw.Packages, nil
		}
		return nil, fmt.Errorf("%s has no \"workspaces\" field (and there is no pnpm-workspace.yaml): point adapters.workspace at the monorepo's root, or list adapters.packages explicitly", root)
	}
	ws, err := parseWorkspaces(root, m.Workspaces)
	if err != nil {
		return nil, err
	}
	return ws.Packages, nil
}

// workspaces is the root package.json's "workspaces" field in its object
// form (bun keeps its catalogs there too).
type workspaces struct {
	Packages []string                     `json:"packages"`
	Catalog  map[string]string            `json:"catalog"`
	Catalogs map[string]map[string]string `json:"catalogs"`
}

func parseWorkspaces(root string, raw json.RawMessage) (*workspaces, error) {
	var globs []string
	if err := json.Unmarshal(raw, &globs); err == nil {
		return &workspaces{Packages: globs}, nil
	}
	var obj workspaces
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("%s: \"workspaces\" must be an array of globs or {\"packages\": [...]}", root)
	}
	return &obj, nil
}

// pnpmWorkspace is pnpm-workspace.yaml.
type pnpmWorkspace struct {
	Packages []string                     `yaml:"packages"`
	Catalog  map[string]string            `yaml:"catalog"`
	Catalogs map[string]map[string]string `yaml:"catalogs"`
}

// readPnpmWorkspace reads dir/pnpm-workspace.yaml; nil when there is none.
func readPnpmWorkspace(dir string) (*pnpmWorkspace, error) {
	path := filepath.Join(dir, "pnpm-workspace.yaml")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var pw pnpmWorkspace
	if err := yaml.Unmarshal(data, &pw); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &pw, nil
}

// Workspace is a monorepo checkout.
type Workspace struct {
	// Dir is the root directory.
	Dir string
	// PackageManager is the root package.json's "packageManager" field
	// (e.g. "bun@1.4.4"); empty when it has none.
	PackageManager string
	// Catalogs are the dependency catalogs of bun and pnpm ("catalog:"
	// ranges), by catalog name; "default" is the unnamed one.
	Catalogs map[string]map[string]string
	// Packages are every workspace package, sorted by name.
	Packages []Package
}

// Load reads the workspace rooted at dir.
func Load(dir string) (*Workspace, error) {
	pkgs, err := Discover(dir)
	if err != nil {
		return nil, err
	}
	root, err := readManifest(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	w := &Workspace{Dir: dir, PackageManager: root.PackageManager, Packages: pkgs, Catalogs: map[string]map[string]string{}}
	add := func(def map[string]string, named map[string]map[string]string) {
		if len(def) > 0 {
			w.Catalogs["default"] = merge(w.Catalogs["default"], def)
		}
		for n, c := range named {
			w.Catalogs[n] = merge(w.Catalogs[n], c)
		}
	}
	add(root.Catalog, root.Catalogs)
	if len(root.Workspaces) > 0 {
		if ws, err := parseWorkspaces(filepath.Join(dir, "package.json"), root.Workspaces); err == nil {
			add(ws.Catalog, ws.Catalogs)
		}
	}
	pw, err := readPnpmWorkspace(dir)
	if err != nil {
		return nil, err
	}
	if pw != nil {
		add(pw.Catalog, pw.Catalogs)
	}
	return w, nil
}

func merge(dst, src map[string]string) map[string]string {
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// Lookup returns the workspace package named name.
func (w *Workspace) Lookup(name string) (Package, bool) {
	for _, p := range w.Packages {
		if p.Name == name {
			return p, true
		}
	}
	return Package{}, false
}

// At returns the workspace package in directory dir.
func (w *Workspace) At(dir string) (Package, bool) {
	want := filepath.Clean(dir)
	for _, p := range w.Packages {
		if filepath.Clean(p.Dir) == want {
			return p, true
		}
	}
	return Package{}, false
}

// Rel is p's directory relative to the workspace root, slash-separated
// ("packages/adapter"), for messages.
func (w *Workspace) Rel(p Package) string {
	if r, err := filepath.Rel(w.Dir, p.Dir); err == nil {
		return filepath.ToSlash(r)
	}
	return p.Dir
}

// Managers are the package managers a workspace may name.
var Managers = []string{"npm", "pnpm", "yarn", "bun"}

// Manager is the workspace's package manager: the name in the root
// package.json's "packageManager" field, npm when there is none.
func (w *Workspace) Manager() (string, error) {
	if w.PackageManager == "" {
		return "npm", nil
	}
	name, _, _ := strings.Cut(w.PackageManager, "@")
	for _, m := range Managers {
		if name == m {
			return m, nil
		}
	}
	return "", fmt.Errorf("%s: \"packageManager\" is %q, which names none of %s: fix it (e.g. \"bun@1.4.4\"), or set adapters.build in the release configuration", filepath.Join(w.Dir, "package.json"), w.PackageManager, strings.Join(Managers, ", "))
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
		p := Package{Name: m.Name, Version: m.Version, Private: m.Private, Dir: d, Scripts: m.Scripts, Manifest: m.raw}
		for _, deps := range []map[string]string{m.Dependencies, m.OptionalDependencies, m.PeerDependencies} {
			for n := range deps {
				if !slices.Contains(p.Deps, n) {
					p.Deps = append(p.Deps, n)
				}
			}
		}
		for n := range m.DevDependencies {
			p.DevDeps = append(p.DevDeps, n)
		}
		sort.Strings(p.Deps)
		sort.Strings(p.DevDeps)
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
		// rest ("adapters/*") matches the last as many segments of the
		// path below base.
		rel, _ := filepath.Rel(base, p)
		segs := strings.Split(filepath.ToSlash(rel), "/")
		if n := strings.Count(rest, "/") + 1; rel != "." && len(segs) >= n {
			if ok, _ := path.Match(rest, strings.Join(segs[len(segs)-n:], "/")); ok {
				out = append(out, p)
			}
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
// on, in any dependency field (a build may need what a devDependency
// builds). A dependency cycle is an error naming the packages in it.
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
		p := byName[name]
		for _, d := range append(append([]string(nil), p.Deps...), p.DevDeps...) {
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
