package library

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/agent-facets/release/internal/workspace"
)

// DependencyFields are the manifest fields that hold dependency ranges.
var DependencyFields = []string{"dependencies", "devDependencies", "optionalDependencies", "peerDependencies"}

// InstalledFields are the dependency fields a user's install reads (npm 7
// and later install peer dependencies too).
var InstalledFields = []string{"dependencies", "optionalDependencies", "peerDependencies"}

// PublishConfigFields are the fields a package's publishConfig overrides at
// publish time, as pnpm (and bun after it) applies them: each one found in
// publishConfig replaces the top-level field and leaves publishConfig.
var PublishConfigFields = []string{
	"bin", "type", "imports", "main", "module", "typings", "types", "exports",
	"browser", "esnext", "es2015", "unpkg", "umd:main", "os", "cpu", "libc", "typesVersions",
}

// publishScripts are the lifecycle scripts of publishing itself, which a
// published manifest does not carry (pnpm drops them too).
var publishScripts = []string{"prepublishOnly", "prepack", "prepare", "postpack", "publish", "postpublish"}

// Publish is what a package's publishConfig says about its publish.
type Publish struct {
	// Access is "public" or "restricted" ("" when unset).
	Access string
	// Tag is the dist-tag to publish under ("" when unset).
	Tag string
	// Registry is the registry to publish to ("" when unset).
	Registry string
}

// Rewritten is a package's manifest as the package manager's publish would
// write it into the tarball.
type Rewritten struct {
	Manifest *Object
	// JSON is the manifest file: deterministic for the same input.
	JSON    []byte
	Publish Publish
	// Changes say what was rewritten, one line each, for the output.
	Changes []string
}

// Rewrite turns the workspace manifest raw of p into the one its tarball
// carries:
//
//   - workspace: ranges in every dependency field become the depended-on
//     workspace package's version: workspace:* → x.y.z, workspace:^ → ^x.y.z,
//     workspace:~ → ~x.y.z, workspace:<range> → <range> (and the alias forms
//     workspace:<name>@… → npm:<name>@…, workspace:../dir → that package's
//     version);
//   - catalog: ranges (bun, pnpm) become the catalog's range;
//   - the fields publishConfig overrides (exports, main, types, bin, ...)
//     replace the top-level ones and leave publishConfig, which is dropped
//     when nothing else is left in it; access, tag and registry stay in it
//     and are returned in Publish;
//   - the publishing lifecycle scripts and the package manager's own fields
//     ("pnpm", "packageManager") are dropped.
//
// A range it cannot resolve (no such workspace package, no such catalog
// entry) is left as it is, for Lint to report with its fix.
func Rewrite(ws *workspace.Workspace, p workspace.Package, raw []byte) (*Rewritten, error) {
	m, err := ParseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: package.json is not a JSON object: %v", p.Dir, err)
	}
	r := &Rewritten{Manifest: m}
	for _, field := range DependencyFields {
		if !m.Has(field) {
			continue
		}
		deps, ok := m.Object(field)
		if !ok {
			return nil, fmt.Errorf("%s: package.json: %q must be an object of name: range", p.Dir, field)
		}
		changed := false
		for _, name := range deps.Keys() {
			spec, ok := deps.String(name)
			if !ok {
				return nil, fmt.Errorf("%s: package.json: %s[%q] must be a string range", p.Dir, field, name)
			}
			to, ok := resolve(ws, p, name, spec)
			if !ok || to == spec {
				continue
			}
			deps.SetValue(name, to)
			changed = true
			r.Changes = append(r.Changes, fmt.Sprintf("%s[%q]: %s → %s", field, name, spec, to))
		}
		if changed {
			data, _ := deps.MarshalJSON()
			m.Set(field, data)
		}
	}
	if m.Has("publishConfig") {
		pc, ok := m.Object("publishConfig")
		if !ok {
			return nil, fmt.Errorf("%s: package.json: \"publishConfig\" must be an object", p.Dir)
		}
		for _, k := range pc.Keys() {
			if !slices.Contains(PublishConfigFields, k) {
				continue
			}
			v, _ := pc.Raw(k)
			m.Set(k, v)
			pc.Delete(k)
			r.Changes = append(r.Changes, fmt.Sprintf("%s from publishConfig", k))
		}
		r.Publish.Access, _ = pc.String("access")
		r.Publish.Tag, _ = pc.String("tag")
		r.Publish.Registry, _ = pc.String("registry")
		if pc.Len() == 0 {
			m.Delete("publishConfig")
		} else {
			data, _ := pc.MarshalJSON()
			m.Set("publishConfig", data)
		}
	}
	if scripts, ok := m.Object("scripts"); ok {
		for _, s := range publishScripts {
			scripts.Delete(s)
		}
		if scripts.Len() == 0 {
			m.Delete("scripts")
		} else {
			data, _ := scripts.MarshalJSON()
			m.Set("scripts", data)
		}
	}
	m.Delete("pnpm")
	m.Delete("packageManager")
	if r.JSON, err = m.Indented(); err != nil {
		return nil, fmt.Errorf("%s: package.json: %v", p.Dir, err)
	}
	return r, nil
}

// resolve rewrites one dependency range of p; ok is false when it cannot
// (the range is then left for the lint).
func resolve(ws *workspace.Workspace, p workspace.Package, name, spec string) (string, bool) {
	switch {
	case strings.HasPrefix(spec, "workspace:"):
		return resolveWorkspace(ws, p, name, strings.TrimPrefix(spec, "workspace:"))
	case strings.HasPrefix(spec, "catalog:"):
		catalog := strings.TrimPrefix(spec, "catalog:")
		if catalog == "" {
			catalog = "default"
		}
		rng, ok := ws.Catalogs[catalog][name]
		return rng, ok && rng != ""
	}
	return spec, true
}

func resolveWorkspace(ws *workspace.Workspace, p workspace.Package, name, spec string) (string, bool) {
	// workspace:../dir names the package by its directory.
	if strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../") {
		dep, ok := ws.At(filepath.Join(p.Dir, filepath.FromSlash(spec)))
		if !ok || dep.Version == "" {
			return "", false
		}
		if dep.Name != name {
			return "npm:" + dep.Name + "@" + dep.Version, true
		}
		return dep.Version, true
	}
	target, rng := name, spec
	alias := false
	// workspace:<name>@<range>, where <name> may be scoped.
	if i := strings.LastIndex(spec, "@"); i > 0 {
		target, rng, alias = spec[:i], spec[i+1:], true
	}
	switch rng {
	case "*", "^", "~", "":
		if rng == "" && !alias {
			return "", false
		}
		dep, ok := ws.Lookup(target)
		if !ok || dep.Version == "" {
			return "", false
		}
		v := strings.TrimPrefix(rng, "*") + dep.Version
		if alias || target != name {
			return "npm:" + target + "@" + v, true
		}
		return v, true
	}
	if _, ok := ws.Lookup(target); !ok {
		return "", false
	}
	if alias {
		return "npm:" + target + "@" + rng, true
	}
	return rng, true
}

// depRanges returns the ranges of one dependency field of m (nil when
// absent or malformed).
func depRanges(m *Object, field string) map[string]string {
	raw, ok := m.Raw(field)
	if !ok {
		return nil
	}
	var deps map[string]string
	if json.Unmarshal(raw, &deps) != nil {
		return nil
	}
	return deps
}
