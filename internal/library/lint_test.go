package library

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/workspace"
)

// packed makes the Packed of a package whose tarball holds files (path →
// contents) besides package.json, with manifest rewritten in ws.
func packed(t *testing.T, ws *workspace.Workspace, name, manifest string, files map[string]string) *Packed {
	t.Helper()
	p, ok := ws.Lookup(name)
	if !ok {
		t.Fatalf("no %s in the test workspace", name)
	}
	rw, err := Rewrite(ws, p, []byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := &Packed{Package: pack.Package{Name: p.Name, Version: p.Version}, Source: p, Rewritten: rw, files: map[string]string{}, heads: map[string][]byte{}, Files: []string{"package.json"}}
	for rel, data := range files {
		src := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(src), 0o755)
		if err := os.WriteFile(src, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		out.files[rel] = src
		out.heads[rel], _ = readHead(src, headSize)
		out.Files = append(out.Files, rel)
	}
	sort.Strings(out.Files)
	return out
}

// TestLint: one package per refusal, each named with its field and fix;
// and a good package passes.
func TestLint(t *testing.T) {
	dir := t.TempDir()
	ws := testWorkspace(dir,
		workspace.Package{Name: "@x/lib", Version: "2.0.0"},
		workspace.Package{Name: "@x/core", Version: "1.2.3"},
		workspace.Package{Name: "@x/next", Version: "1.3.0"},
		workspace.Package{Name: "@x/internal", Version: "0.1.0", Private: true},
		workspace.Package{Name: "@x/seeded", Version: "0.0.1"},
	)
	onRegistry := map[string]bool{"@x/core@1.2.3": true, "@x/seeded@0.0.1": true}
	c := LintContext{Workspace: ws, Placeholder: "0.0.1", Available: func(n, v string) bool { return onRegistry[n+"@"+v] }}
	built := map[string]string{"dist/index.mjs": "export {}\n", "dist/index.d.mts": "export {};\n", "dist/cli.mjs": "#!/usr/bin/env node\n", "README.md": "# lib\n"}
	good := `{"name":"@x/lib","version":"2.0.0","files":["dist"],"main":"./dist/index","types":"./dist/index.d.mts",
		"exports":{".":{"types":"./dist/index.d.mts","import":"./dist/index.mjs"},"./*":"./dist/*.mjs","./package.json":null},
		"bin":"./dist/cli.mjs","dependencies":{"@x/core":"workspace:^","lodash":"^4"},"devDependencies":{"@x/internal":"workspace:*"}}`
	// main without its extension, as Node finds it.
	goodFiles := map[string]string{"dist/index.js": "module.exports = {}\n"}
	for k, v := range built {
		goodFiles[k] = v
	}
	if probs := Lint(packed(t, ws, "@x/lib", good, goodFiles), c); len(probs) != 0 {
		t.Errorf("a good package has problems: %v", probs)
	}
	withMain := func(files map[string]string, extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range files {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}

	tests := []struct {
		name     string
		manifest string
		files    map[string]string
		want     []string // field, problem and fix fragments of the one problem
	}{
		{"workspace range left", `{"name":"@x/lib","version":"2.0.0","dependencies":{"@x/gone":"workspace:*"}}`, built,
			[]string{`@x/lib@2.0.0: dependencies["@x/gone"] is "workspace:*", which an install from a registry cannot follow`, "add @x/gone to the workspace, or depend on a published version"}},
		{"link range", `{"name":"@x/lib","version":"2.0.0","optionalDependencies":{"a":"link:../a"}}`, built,
			[]string{`optionalDependencies["a"] is "link:../a"`, "depend on a published version instead"}},
		{"file range", `{"name":"@x/lib","version":"2.0.0","peerDependencies":{"b":"file:../b.tgz"}}`, built,
			[]string{`peerDependencies["b"] is "file:../b.tgz"`, "depend on a published version instead"}},
		{"portal range", `{"name":"@x/lib","version":"2.0.0","devDependencies":{"c":"portal:../c"}}`, built,
			[]string{`devDependencies["c"] is "portal:../c"`}},
		{"catalog entry missing", `{"name":"@x/lib","version":"2.0.0","dependencies":{"zod":"catalog:"}}`, built,
			[]string{`dependencies["zod"] is "catalog:"`, "the catalog has no entry for zod"}},
		{"main missing", `{"name":"@x/lib","version":"2.0.0","main":"./lib/index.js"}`, built,
			[]string{`"main" is "./lib/index.js", which the tarball does not contain (it holds README.md, dist/cli.mjs`, "build the package before it is packed"}},
		{"module missing", `{"name":"@x/lib","version":"2.0.0","module":"./dist/index.js"}`, built,
			[]string{`"module" is "./dist/index.js", which the tarball does not contain`}},
		{"types missing", `{"name":"@x/lib","version":"2.0.0","types":"./dist/types"}`, built,
			[]string{`"types" is "./dist/types", which the tarball does not contain`}},
		{"exports missing", `{"name":"@x/lib","version":"2.0.0","exports":{".":{"import":"./dist/index.mjs","require":"./dist/index.cjs"}}}`, built,
			[]string{`exports["."]["require"] is "./dist/index.cjs", which the tarball does not contain`, "point publishConfig.exports at the built files"}},
		{"exports still at the sources", `{"name":"@x/lib","version":"2.0.0","files":["dist"],"exports":{".":"./src/index.ts"}}`, built,
			[]string{`exports["."] is "./src/index.ts", which the tarball does not contain`}},
		{"exports pattern matching nothing", `{"name":"@x/lib","version":"2.0.0","exports":{"./*":"./lib/*.js"}}`, built,
			[]string{`exports["./*"] is "./lib/*.js", which the tarball does not contain`}},
		{"exports not relative", `{"name":"@x/lib","version":"2.0.0","exports":"dist/index.mjs"}`, built,
			[]string{`exports is "dist/index.mjs", which does not start with "./"`, `write "./dist/index.mjs"`}},
		{"bin missing", `{"name":"@x/lib","version":"2.0.0","bin":{"lib":"./bin/lib.js"}}`, built,
			[]string{`bin["lib"] is "./bin/lib.js", which the tarball does not contain`}},
		{"bin without shebang", `{"name":"@x/lib","version":"2.0.0","bin":{"lib":"./dist/index.mjs"}}`, built,
			[]string{`bin["lib"] is "./dist/index.mjs", whose first line is not a #! line`, `start the file with "#!/usr/bin/env node"`}},
		{"empty package", `{"name":"@x/lib","version":"2.0.0","files":["dist"]}`, map[string]string{"README.md": "# x\n", "LICENSE": "MIT\n"},
			[]string{`"files" (["dist"]) leaves the tarball holding only LICENSE, README.md, package.json: nothing to install`, "check that the build ran"}},
		{"private dependency", `{"name":"@x/lib","version":"2.0.0","dependencies":{"@x/internal":"workspace:*"}}`, built,
			[]string{`dependencies["@x/internal"] is the private workspace package @x/internal (packages/internal/package.json has "private": true), which users cannot install`, "make @x/internal public and release it first, or bundle it into the build and move it to devDependencies"}},
		{"private peer", `{"name":"@x/lib","version":"2.0.0","peerDependencies":{"@x/internal":"^0.1.0"}}`, built,
			[]string{`peerDependencies["@x/internal"] is the private workspace package @x/internal`}},
		{"unreleased workspace version", `{"name":"@x/lib","version":"2.0.0","dependencies":{"@x/next":"workspace:^"}}`, built,
			[]string{`dependencies["@x/next"] needs @x/next@1.3.0, the workspace's version, which is not on the registry and is not released before @x/lib in this run`, "release @x/next@1.3.0 first (push its tag @x/next@1.3.0, or run publishAdapters without a tag"}},
		{"dependency only seeded", `{"name":"@x/lib","version":"2.0.0","dependencies":{"@x/seeded":"workspace:*"}}`, built,
			[]string{`dependencies["@x/seeded"] needs @x/seeded@0.0.1`}},
		{"publishConfig.directory", `{"name":"@x/lib","version":"2.0.0","main":"./dist/index.mjs","publishConfig":{"directory":"dist"}}`, built,
			[]string{`@x/lib@2.0.0: publishConfig.directory is set, but the toolkit packs the package's own directory`, `remove it, and point "files" and publishConfig's entry points at the built files`}},
		{"placeholder version", `{"name":"@x/seeded","version":"0.0.1","main":"./dist/index.mjs"}`, withMain(built, nil),
			[]string{`@x/seeded@0.0.1: "version" is 0.0.1, release.placeholderVersion`, "bump the version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "@x/lib"
			if strings.Contains(tt.manifest, `"@x/seeded","version"`) {
				name = "@x/seeded"
			}
			probs := Lint(packed(t, ws, name, tt.manifest, tt.files), c)
			if len(probs) != 1 {
				t.Fatalf("%d problems, want 1: %v", len(probs), probs)
			}
			got := probs[0].String()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("problem %q lacks %q", got, w)
				}
			}
		})
	}

	// The error lists every problem of the run.
	err := &LintError{Problems: []Problem{{Package: "a@1.0.0", Field: "main", Problem: "is x", Fix: "fix it"}, {Package: "b@1.0.0", Field: "bin", Problem: "is y", Fix: "fix that"}}}
	if got := err.Error(); got != "2 problem(s) in the library tarballs, so nothing was published:\n  - a@1.0.0: main is x: fix it\n  - b@1.0.0: bin is y: fix that" {
		t.Errorf("LintError = %q", got)
	}
}
