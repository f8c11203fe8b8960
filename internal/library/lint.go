package library

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/agent-facets/release/internal/workspace"
)

// Problem is one reason a tarball may not be published.
type Problem struct {
	// Package is the package and version ("@agent-facets/adapter@1.2.0").
	Package string
	// Field is the manifest field at fault (`dependencies["@x/y"]`,
	// `exports["."].import`, `bin.facet`, `files`).
	Field string
	// Problem says what is wrong, and Fix what to do about it.
	Problem, Fix string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s: %s %s: %s", p.Package, p.Field, p.Problem, p.Fix)
}

// LintError is every problem found in the tarballs of a run; nothing was
// published.
type LintError struct{ Problems []Problem }

func (e *LintError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d problem(s) in the library tarballs, so nothing was published:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - " + p.String())
	}
	return b.String()
}

// LintContext is what Lint checks a tarball against.
type LintContext struct {
	Workspace *workspace.Workspace
	// Placeholder is release.placeholderVersion: a version that only
	// reserves a name, never a release.
	Placeholder string
	// Available reports whether name@version will be installable when this
	// package is: on the registry (not as the seeded placeholder), or
	// published earlier in this run.
	Available func(name, version string) bool
}

// unpublishable are the range protocols a registry install cannot follow.
var unpublishable = []string{"workspace:", "link:", "file:", "portal:", "catalog:"}

// Lint checks a packed library before anything is written: ranges no
// registry install can follow, entry points and bin files the tarball does
// not contain, bin files without a #! line, an empty package, dependencies
// (in the fields users install) on private workspace packages or on
// workspace versions that will not be on the registry, and the placeholder
// version. Every problem names the package, the field and the fix.
func Lint(p *Packed, c LintContext) []Problem {
	id := p.Name + "@" + p.Version
	var out []Problem
	add := func(field, problem, fix string, args ...any) {
		out = append(out, Problem{Package: id, Field: field, Problem: problem, Fix: fmt.Sprintf(fix, args...)})
	}
	m := p.Rewritten.Manifest
	if p.Version == c.Placeholder {
		add(`"version"`, fmt.Sprintf("is %s, release.placeholderVersion, the version seeding publishes to reserve a name", p.Version),
			"bump the version (a changeset) and release that")
	}
	if m.Has("publishConfig") {
		if pc, ok := m.Object("publishConfig"); ok && pc.Has("directory") {
			add("publishConfig.directory", "is set, but the toolkit packs the package's own directory",
				"remove it, and point \"files\" and publishConfig's entry points at the built files")
		}
	}
	for _, field := range DependencyFields {
		deps := depRanges(m, field)
		for _, name := range sortedKeys(deps) {
			spec := deps[name]
			f := fmt.Sprintf("%s[%q]", field, name)
			if proto := protocolOf(spec); proto != "" {
				add(f, fmt.Sprintf("is %q, which an install from a registry cannot follow", spec), "%s", protocolFix(proto, name, spec))
				continue
			}
			if !slices.Contains(InstalledFields, field) || c.Workspace == nil {
				continue
			}
			target := name
			if alias, ok := strings.CutPrefix(spec, "npm:"); ok {
				if i := strings.LastIndex(alias, "@"); i > 0 {
					target = alias[:i]
				}
			}
			dep, ok := c.Workspace.Lookup(target)
			switch {
			case !ok:
			case dep.Private:
				add(f, fmt.Sprintf("is the private workspace package %s (%s/package.json has \"private\": true), which users cannot install", target, c.Workspace.Rel(dep)),
					"make %s public and release it first, or bundle it into the build and move it to devDependencies", target)
			case dep.Version == c.Placeholder || c.Available == nil || !c.Available(target, dep.Version):
				tag := target + "@" + dep.Version
				add(f, fmt.Sprintf("needs %s@%s, the workspace's version, which is not on the registry and is not released before %s in this run", target, dep.Version, p.Name),
					"release %s@%s first (push its tag %s, or run publishAdapters without a tag to release every unreleased library in order)", target, dep.Version, tag)
			}
		}
	}
	listing := p.listing()
	for _, field := range []string{"main", "module", "types", "typings"} {
		t, ok := m.String(field)
		if !ok || t == "" {
			continue
		}
		if !p.resolves(field, t) {
			add(`"`+field+`"`, fmt.Sprintf("is %q, which the tarball does not contain (it holds %s)", t, listing),
				"build the package before it is packed (its build script), include the file in \"files\", or fix the path")
		}
	}
	if raw, ok := m.Raw("exports"); ok {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			p.lintExports(v, "exports", listing, add)
		}
	}
	b := bins(m)
	for _, cmd := range sortedKeys(b) {
		t := cleanTarget(b[cmd])
		f := fmt.Sprintf("bin[%q]", cmd)
		if !p.Has(t) {
			add(f, fmt.Sprintf("is %q, which the tarball does not contain (it holds %s)", b[cmd], listing),
				"build the package before it is packed, include the file in \"files\", or fix the path")
			continue
		}
		if head, _ := p.Head(t); !bytes.HasPrefix(head, []byte("#!")) {
			add(f, fmt.Sprintf("is %q, whose first line is not a #! line", b[cmd]),
				"start the file with \"#!/usr/bin/env node\" (have the build keep it), or users' shells cannot run %s", cmd)
		}
	}
	if !p.hasContent() {
		files := "unset"
		if raw, ok := m.Raw("files"); ok {
			var b bytes.Buffer
			if json.Compact(&b, raw) == nil {
				files = b.String()
			}
		}
		add(`"files"`, fmt.Sprintf("(%s) leaves the tarball holding only %s: nothing to install", files, listing),
			"check that the build ran and writes where \"files\" points (dist/, say)")
	}
	return out
}

func (p *Packed) lintExports(v any, field, listing string, add func(field, problem, fix string, args ...any)) {
	switch x := v.(type) {
	case string:
		switch {
		case !strings.HasPrefix(x, "./"):
			add(field, fmt.Sprintf("is %q, which does not start with \"./\"", x), "exports targets are paths inside the package: write \"./%s\"", strings.TrimPrefix(x, "/"))
		case !p.matches(x):
			add(field, fmt.Sprintf("is %q, which the tarball does not contain (it holds %s)", x, listing),
				"point publishConfig.exports at the built files and build before packing, or include them in \"files\"")
		}
	case []any:
		// Fallbacks: the first that Node can use wins; one is enough.
		for _, alt := range x {
			if s, ok := alt.(string); ok && strings.HasPrefix(s, "./") && p.matches(s) {
				return
			}
		}
		for i, alt := range x {
			p.lintExports(alt, fmt.Sprintf("%s[%d]", field, i), listing, add)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			p.lintExports(x[k], fmt.Sprintf("%s[%q]", field, k), listing, add)
		}
	}
}

// matches reports whether an exports target ("./dist/*.mjs" patterns
// included) names a file in the tarball.
func (p *Packed) matches(target string) bool {
	t := cleanTarget(target)
	if !strings.Contains(t, "*") {
		return p.Has(t)
	}
	re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(t), `\*`, ".+") + "$")
	for _, f := range p.Files {
		if re.MatchString(f) {
			return true
		}
	}
	return false
}

// resolves reports whether an entry point field names a file in the
// tarball, the way its reader looks for it (Node for main, with its
// extensions and index files; TypeScript for types, with .d.ts).
func (p *Packed) resolves(field, target string) bool {
	t := cleanTarget(target)
	cands := []string{t}
	switch field {
	case "main":
		for _, ext := range []string{".js", ".json", ".node"} {
			cands = append(cands, t+ext, path.Join(t, "index"+ext))
		}
	case "types", "typings":
		cands = append(cands, t+".d.ts", path.Join(t, "index.d.ts"))
	}
	for _, c := range cands {
		if p.Has(c) {
			return true
		}
	}
	return false
}

// hasContent reports whether the tarball holds anything besides the
// manifest and the files npm adds to every package.
func (p *Packed) hasContent() bool {
	for _, f := range p.Files {
		base := strings.ToUpper(f)
		if f == "package.json" || !strings.Contains(f, "/") && (strings.HasPrefix(base, "README") ||
			strings.HasPrefix(base, "LICENSE") || strings.HasPrefix(base, "LICENCE") || strings.HasPrefix(base, "CHANGELOG")) {
			continue
		}
		return true
	}
	return false
}

// listing names the tarball's files for a message (the first few).
func (p *Packed) listing() string {
	const most = 8
	if len(p.Files) <= most {
		return strings.Join(p.Files, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(p.Files[:most], ", "), len(p.Files)-most)
}

func protocolOf(spec string) string {
	s := strings.TrimPrefix(spec, "npm:")
	for _, p := range unpublishable {
		if strings.HasPrefix(spec, p) || strings.Contains(s, "@"+p) {
			return p
		}
	}
	return ""
}

func protocolFix(proto, name, spec string) string {
	switch proto {
	case "workspace:":
		return fmt.Sprintf("no workspace package answers %q: add %s to the workspace, or depend on a published version (e.g. \"^1.0.0\")", spec, name)
	case "catalog:":
		return fmt.Sprintf("the catalog has no entry for %s: add it to the workspace's catalog, or give a version range", name)
	}
	return "depend on a published version instead (e.g. \"^1.0.0\"), or bundle that code into the build and drop the dependency"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
