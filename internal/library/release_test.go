package library_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/seed"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

// The demo workspace's libraries, in dependency order, at their versions.
var demoLibraries = []string{"@agent-facets/adapter@1.2.0", "@agent-facets/adapter-claude@1.1.0", "@agent-facets/adapter-openai@1.0.0"}

// libraryRelease sets up a registry on which a maintainer has seeded the
// demo libraries, and an Env publishing with that maintainer's login from
// a copy of the demo workspace (its libraries built with the pinned Bun,
// as its packageManager says).
func libraryRelease(t *testing.T, mutate func(*config.Config)) (*localregistrytest.Registry, *toolkit.Env, *toolkittest.Buffer) {
	t.Helper()
	reg := localregistrytest.Start(t)
	cfg := toolkittest.Config(t, mutate)
	env := append(reg.NpmEnv(t, reg.AddUser(t, "maintainer")), toolkittest.WithBun(t), "CIRCLE_TAG=", "GITHUB_REF_TYPE=")
	e, out := toolkittest.Env(t, cfg, env...)
	if _, err := seed.Seed(ctx(t), e, []string{"@agent-facets/adapter", "@agent-facets/adapter-claude", "@agent-facets/adapter-openai"}, seed.Options{}); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	return reg, e, out
}

// changes lists the requests that may change a registry (anything but a
// read).
func changes(reg *localregistrytest.Registry) []localregistry.Request {
	var out []localregistry.Request
	for _, r := range reg.Requests() {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			out = append(out, r)
		}
	}
	return out
}

// manifestOf reads name@v's manifest from the registry's full packument.
func manifestOf(t *testing.T, reg *localregistrytest.Registry, name, v string) map[string]any {
	t.Helper()
	resp, err := http.Get(registry.PackageURL(reg.URL, name))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Versions map[string]map[string]any `json:"versions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	m, ok := doc.Versions[v]
	if !ok {
		t.Fatalf("%s@%s is not on the registry", name, v)
	}
	return m
}

func actions(recs []outcome.Record) map[string]outcome.Action {
	out := map[string]outcome.Action{}
	for _, r := range recs {
		out[r.String()] = r.Action
	}
	return out
}

func TestLibrariesReleaseAsPublishWould(t *testing.T) {
	t.Parallel()
	reg, e, out := libraryRelease(t, nil)
	recs, err := publish.Adapters(ctx(t), e, fastOpts())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var order []string
	for _, r := range recs {
		if r.Action != outcome.Published {
			t.Errorf("%s: %s (%s)", r, r.Action, r.Error)
		}
		order = append(order, r.String())
	}
	if strings.Join(order, " ") != strings.Join(demoLibraries, " ") {
		t.Errorf("released %v, want %v in that order", order, demoLibraries)
	}

	// What went out is what pnpm or bun would publish.
	claude := manifestOf(t, reg, "@agent-facets/adapter-claude", "1.1.0")
	if got := claude["dependencies"].(map[string]any)["@agent-facets/adapter"]; got != "^1.2.0" {
		t.Errorf("adapter-claude depends on adapter %v, want ^1.2.0 (workspace:^)", got)
	}
	if got := claude["devDependencies"].(map[string]any)["@agent-facets/dev-tools"]; got != "0.0.0" {
		t.Errorf("adapter-claude's devDependency on dev-tools is %v, want 0.0.0 (workspace:*)", got)
	}
	openai := manifestOf(t, reg, "@agent-facets/adapter-openai", "1.0.0")
	if got := openai["dependencies"].(map[string]any)["@agent-facets/adapter"]; got != "1.2.0" {
		t.Errorf("adapter-openai depends on adapter %v, want 1.2.0 (workspace:*)", got)
	}
	if got := openai["peerDependencies"].(map[string]any)["@agent-facets/adapter-claude"]; got != "~1.1.0" {
		t.Errorf("adapter-openai's peer adapter-claude is %v, want ~1.1.0 (workspace:~)", got)
	}
	sdk := manifestOf(t, reg, "@agent-facets/adapter", "1.2.0")
	exports, _ := json.Marshal(sdk["exports"])
	if string(exports) != `{".":{"import":"./dist/index.mjs","types":"./dist/index.d.mts"}}` {
		t.Errorf("exports = %s, want publishConfig's", exports)
	}
	pc, _ := json.Marshal(sdk["publishConfig"])
	if string(pc) != `{"access":"public","provenance":false}` {
		t.Errorf("publishConfig = %s, want what is left of it", pc)
	}
	if _, ok := sdk["scripts"].(map[string]any)["build"]; !ok {
		t.Errorf("scripts = %v: the build script is the package's own", sdk["scripts"])
	}
	for _, m := range []map[string]any{claude, openai, sdk} {
		data, _ := json.Marshal(m)
		if strings.Contains(string(data), "workspace:") {
			t.Errorf("%s still holds a workspace: range: %s", m["name"], data)
		}
	}

	// A re-run has nothing to release: it writes nothing, needs no login.
	before := len(changes(reg))
	e2, out2 := toolkittest.Again(t, e)
	o := fastOpts()
	o.Auth = failAuth{t}
	recs, err = publish.Adapters(ctx(t), e2, o)
	if err != nil {
		t.Fatalf("re-run: %v\n%s", err, out2)
	}
	for _, r := range recs {
		if r.Action != outcome.Skipped || r.Note != "already on the registry" {
			t.Errorf("re-run: %s %s (%s)", r, r.Action, r.Note)
		}
	}
	if !strings.Contains(out2.String(), "every library's version is on the registry: nothing to release") {
		t.Errorf("re-run output:\n%s", out2)
	}
	if n := len(changes(reg)); n != before {
		t.Errorf("the re-run sent %d writes to the registry", n-before)
	}

	// The tag of a released library finds it identical: the same bytes.
	o.Release = "@agent-facets/adapter-claude@1.1.0"
	e3, out3 := toolkittest.Again(t, e)
	recs, err = publish.Adapters(ctx(t), e3, o)
	if err != nil {
		t.Fatalf("tag re-run: %v\n%s", err, out3)
	}
	if got := actions(recs)["@agent-facets/adapter-claude@1.1.0"]; got != outcome.Identical {
		t.Errorf("tag re-run: adapter-claude %s, want identical\n%s", got, out3)
	}
	if n := len(changes(reg)); n != before {
		t.Errorf("the tag re-run sent %d writes to the registry", n-before)
	}

	// A changed file at the same version stops with both integrities.
	src := filepath.Join(e.Cfg.Adapters.Workspace, "packages", "adapters", "claude", "src", "index.ts")
	if err := os.WriteFile(src, []byte("export const adapter = { name: \"claude\", changed: true };\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e4, out4 := toolkittest.Again(t, e)
	_, err = publish.Adapters(ctx(t), e4, o)
	var db *publish.DifferentBytesError
	if !errors.As(err, &db) || db.Local == db.Registry || !strings.Contains(err.Error(), "local sha512-") || !strings.Contains(err.Error(), "registry sha512-") {
		t.Fatalf("err = %v\n%s", err, out4)
	}
	if n := len(changes(reg)); n != before {
		t.Errorf("the changed re-run sent %d writes to the registry", n-before)
	}
}

// editJSON changes one package.json of the workspace.
func editJSON(t *testing.T, ws, rel string, edit func(m map[string]any)) {
	t.Helper()
	p := filepath.Join(ws, filepath.FromSlash(rel), "package.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	data, _ = json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func deps(m map[string]any, field string) map[string]any {
	d, _ := m[field].(map[string]any)
	if d == nil {
		d = map[string]any{}
		m[field] = d
	}
	return d
}

// TestLibraryRefusals: every refusal of the lint (and of a tag), against a
// real registry: the run stops with the package, the field and the fix,
// and the registry's request log shows no write.
func TestLibraryRefusals(t *testing.T) {
	t.Parallel()
	reg, base, _ := libraryRelease(t, nil)
	const (
		sdk    = "packages/adapter"
		claude = "packages/adapters/claude"
		openai = "packages/adapters/openai"
	)
	tests := []struct {
		name    string
		release string // a tag, if the case needs one
		edit    func(t *testing.T, ws string)
		want    []string
	}{
		{"workspace range left", "", func(t *testing.T, ws string) {
			editJSON(t, ws, claude, func(m map[string]any) { deps(m, "dependencies")["@agent-facets/adapter-gone"] = "workspace:*" })
		}, []string{`@agent-facets/adapter-claude@1.1.0: dependencies["@agent-facets/adapter-gone"] is "workspace:*", which an install from a registry cannot follow`, "add @agent-facets/adapter-gone to the workspace"}},
		{"link range", "", func(t *testing.T, ws string) {
			editJSON(t, ws, openai, func(m map[string]any) { deps(m, "dependencies")["helper"] = "link:../../helper" })
		}, []string{`@agent-facets/adapter-openai@1.0.0: dependencies["helper"] is "link:../../helper"`, "depend on a published version instead"}},
		{"file range", "", func(t *testing.T, ws string) {
			editJSON(t, ws, sdk, func(m map[string]any) { deps(m, "optionalDependencies")["native"] = "file:../native" })
		}, []string{`@agent-facets/adapter@1.2.0: optionalDependencies["native"] is "file:../native"`}},
		{"portal range", "", func(t *testing.T, ws string) {
			editJSON(t, ws, claude, func(m map[string]any) { deps(m, "peerDependencies")["host"] = "portal:../host" })
		}, []string{`@agent-facets/adapter-claude@1.1.0: peerDependencies["host"] is "portal:../host"`}},
		{"exports target missing", "", func(t *testing.T, ws string) {
			editJSON(t, ws, openai, func(m map[string]any) {
				m["publishConfig"].(map[string]any)["exports"] = map[string]any{".": map[string]any{"import": "./dist/index.mjs", "require": "./dist/index.cjs"}}
			})
		}, []string{`@agent-facets/adapter-openai@1.0.0: exports["."]["require"] is "./dist/index.cjs", which the tarball does not contain`, "point publishConfig.exports at the built files"}},
		{"main target missing", "", func(t *testing.T, ws string) {
			editJSON(t, ws, claude, func(m map[string]any) { m["main"] = "./dist/index.cjs" })
		}, []string{`"main" is "./dist/index.cjs", which the tarball does not contain (it holds dist/index.d.mts, dist/index.mjs, package.json)`}},
		{"module target missing", "", func(t *testing.T, ws string) {
			editJSON(t, ws, claude, func(m map[string]any) { m["module"] = "./dist/index.js" })
		}, []string{`"module" is "./dist/index.js", which the tarball does not contain`}},
		{"types target missing", "", func(t *testing.T, ws string) {
			editJSON(t, ws, claude, func(m map[string]any) { m["publishConfig"].(map[string]any)["types"] = "./dist/index.d.ts" })
		}, []string{`@agent-facets/adapter-claude@1.1.0: "types" is "./dist/index.d.ts", which the tarball does not contain`}},
		{"bin target missing", "", func(t *testing.T, ws string) {
			editJSON(t, ws, sdk, func(m map[string]any) { m["bin"] = map[string]any{"facet-adapter": "./bin/facet-adapter.mjs"} })
		}, []string{`@agent-facets/adapter@1.2.0: bin["facet-adapter"] is "./bin/facet-adapter.mjs", which the tarball does not contain`}},
		{"bin without shebang", "", func(t *testing.T, ws string) {
			writeFile(t, filepath.Join(ws, sdk, "src", "cli.ts"), "import { sdk } from \"./index.mjs\";\nconsole.log(sdk);\n")
		}, []string{`@agent-facets/adapter@1.2.0: bin["facet-adapter"] is "./dist/cli.mjs", whose first line is not a #! line`, `start the file with "#!/usr/bin/env node"`}},
		{"empty package: no build", "", func(t *testing.T, ws string) {
			editJSON(t, ws, openai, func(m map[string]any) { delete(m, "scripts") })
		}, []string{`@agent-facets/adapter-openai@1.0.0: "files" (["dist"]) leaves the tarball holding only package.json: nothing to install`, "check that the build ran"}},
		{"private dependency", "", func(t *testing.T, ws string) {
			editJSON(t, ws, claude, func(m map[string]any) { deps(m, "dependencies")["@agent-facets/dev-tools"] = "workspace:*" })
		}, []string{`@agent-facets/adapter-claude@1.1.0: dependencies["@agent-facets/dev-tools"] is the private workspace package @agent-facets/dev-tools (packages/dev-tools/package.json has "private": true), which users cannot install`, "make @agent-facets/dev-tools public and release it first, or bundle it into the build and move it to devDependencies"}},
		{"dependency neither released nor in the run", "@agent-facets/adapter-claude@1.1.0", nil,
			[]string{`@agent-facets/adapter-claude@1.1.0: dependencies["@agent-facets/adapter"] needs @agent-facets/adapter@1.2.0, the workspace's version, which is not on the registry and is not released before @agent-facets/adapter-claude in this run`, "push its tag @agent-facets/adapter@1.2.0"}},
		{"placeholder version", "", func(t *testing.T, ws string) {
			editJSON(t, ws, sdk, func(m map[string]any) { m["version"] = "0.0.1" })
		}, []string{`@agent-facets/adapter@0.0.1: "version" is 0.0.1, release.placeholderVersion`}},
		{"tag version differs from package.json", "@agent-facets/adapter@1.3.0", nil,
			[]string{"tag @agent-facets/adapter@1.3.0 asks for @agent-facets/adapter 1.3.0, but packages/adapter/package.json has version 1.2.0", "nothing was built or published"}},
		{"tag of a private package", "@agent-facets/dev-tools@0.0.0", nil,
			[]string{"tag @agent-facets/dev-tools@0.0.0 names @agent-facets/dev-tools, which is not a library of this release: private"}},
		{"tag of no package", "@agent-facets/adapter-gemini@1.0.0", nil,
			[]string{"tag @agent-facets/adapter-gemini@1.0.0 names @agent-facets/adapter-gemini, which is no package of the workspace"}},
		{"build fails", "", func(t *testing.T, ws string) {
			writeFile(t, filepath.Join(ws, claude, "src", "broken.ts"), "")
			editJSON(t, ws, claude, func(m map[string]any) {
				m["scripts"].(map[string]any)["build"] = "node -e \"console.error('tsdown: cannot resolve ./missing'); process.exit(3)\""
			})
		}, []string{"the build of @agent-facets/adapter-claude (packages/adapters/claude) failed, so nothing was published", "tsdown: cannot resolve ./missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := toolkittest.Config(t, nil)
			if tt.edit != nil {
				tt.edit(t, cfg.Adapters.Workspace)
			}
			e, out := toolkittest.FactsEnv(t, cfg, base.Facts)
			from := len(reg.Requests())
			o := fastOpts()
			o.Release = tt.release
			_, err := publish.Adapters(ctx(t), e, o)
			if err == nil {
				t.Fatalf("published:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, r := range reg.Requests()[from:] {
				if r.Method != http.MethodGet && r.Method != http.MethodHead {
					t.Errorf("the registry got a write: %s %s", r.Method, r.Path)
				}
			}
		})
	}
	for _, name := range []string{"@agent-facets/adapter", "@agent-facets/adapter-claude", "@agent-facets/adapter-openai"} {
		if n := reg.PublishCount(name); n != 1 {
			t.Errorf("%s published %d times, want only its placeholder", name, n)
		}
	}
}

// TestLibraryTags: a tag releases exactly its package; without a tag the
// rest follows in dependency order; the CLI's tag releases what the CLI's
// source needs.
func TestLibraryTags(t *testing.T) {
	t.Parallel()
	reg, e, out := libraryRelease(t, func(c *config.Config) { c.CLI.Source = toolkittest.SourceDir })
	// The CLI's source needs adapter-claude (and so the SDK), not openai.
	editJSON(t, e.Cfg.Adapters.Workspace, toolkittest.SourceDir, func(m map[string]any) {
		delete(deps(m, "devDependencies"), "@agent-facets/adapter-openai")
	})
	released := func() []string {
		var got []string
		for _, lib := range demoLibraries {
			name, v, _ := strings.Cut(lib[1:], "@")
			if reg.HasVersion(t, "@"+name, v) {
				got = append(got, lib)
			}
		}
		return got
	}

	o := fastOpts()
	o.Release = "@agent-facets/adapter@1.2.0"
	recs, err := publish.Adapters(ctx(t), e, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	a := actions(recs)
	if a["@agent-facets/adapter@1.2.0"] != outcome.Published || a["@agent-facets/adapter-claude@1.1.0"] != outcome.Skipped || a["@agent-facets/adapter-openai@1.0.0"] != outcome.Skipped {
		t.Errorf("tag of the SDK: %v", a)
	}
	if got := released(); strings.Join(got, " ") != "@agent-facets/adapter@1.2.0" {
		t.Errorf("after the SDK's tag the registry has %v", got)
	}

	// The CLI's tag: what packages/cli depends on, and no more.
	e2, out2 := toolkittest.Again(t, e)
	o.Release = "agent-facets@2.0.0"
	recs, err = publish.Adapters(ctx(t), e2, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, out2)
	}
	a = actions(recs)
	if a["@agent-facets/adapter@1.2.0"] != outcome.Skipped || a["@agent-facets/adapter-claude@1.1.0"] != outcome.Published || a["@agent-facets/adapter-openai@1.0.0"] != outcome.Skipped {
		t.Errorf("CLI tag: %v\n%s", a, out2)
	}
	if !strings.Contains(out2.String(), "@agent-facets/adapter-openai@1.0.0: not a dependency of the CLI's source (cli.source)") ||
		!strings.Contains(out2.String(), "agent-facets (packages/cli) skipped: private: the CLI's source (cli.source); publishCLI publishes agent-facets") {
		t.Errorf("CLI tag output:\n%s", out2)
	}
	e3, out3 := toolkittest.Again(t, e2)
	o.Release = "agent-facets@2.0.0"
	if _, err := publish.Adapters(ctx(t), e3, o); err != nil || !strings.Contains(out3.String(), "every library the CLI depends on is on the registry: nothing to release before it") {
		t.Errorf("CLI tag again: %v\n%s", err, out3)
	}

	// No tag: the rest.
	e4, out4 := toolkittest.Again(t, e)
	o.Release = ""
	recs, err = publish.Adapters(ctx(t), e4, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, out4)
	}
	if a := actions(recs); a["@agent-facets/adapter-openai@1.0.0"] != outcome.Published || a["@agent-facets/adapter@1.2.0"] != outcome.Skipped {
		t.Errorf("untagged: %v", a)
	}
	if got := released(); len(got) != 3 {
		t.Errorf("registry has %v", got)
	}
	for _, name := range []string{"@agent-facets/adapter", "@agent-facets/adapter-claude", "@agent-facets/adapter-openai"} {
		if n := reg.PublishCount(name); n != 2 {
			t.Errorf("%s published %d times, want 2 (placeholder + release)", name, n)
		}
	}

	// A tag that is neither the CLI's nor a package's.
	o.Release = "v1.2.3"
	if _, err := publish.Adapters(ctx(t), e4, o); err == nil || !strings.Contains(err.Error(), "tag v1.2.3 is neither the CLI's release tag (agent-facets@X.Y.Z) nor a library's (@agent-facets/<name>@X.Y.Z)") {
		t.Errorf("err = %v", err)
	}
}

// TestPublishCLINeedsItsLibraries: publishCLI refuses, naming them, while
// a library the CLI's source depends on is not on the registry at its
// workspace version (the seeded placeholder does not count), and publishes
// nothing.
func TestPublishCLINeedsItsLibraries(t *testing.T) {
	t.Parallel()
	reg, e, out := libraryRelease(t, func(c *config.Config) { toolkittest.SetSourceVersion(t, c, ver) })
	from := len(reg.Requests())
	_, err := publish.CLI(ctx(t), e, ver, fastOpts())
	var lm *publish.LibrariesMissingError
	if !errors.As(err, &lm) {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if got := strings.Join(lm.Missing, " "); got != strings.Join(demoLibraries, " ") {
		t.Errorf("missing %s, want %v", got, demoLibraries)
	}
	for _, w := range []string{"the CLI's source (packages/cli) depends on 3 libraries not on the registry at the workspace's version: @agent-facets/adapter@1.2.0", "the CLI package was not published", "go tool mage publishAdapters"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
	for _, r := range reg.Requests()[from:] {
		if r.Method != http.MethodGet {
			t.Errorf("publishCLI sent %s %s", r.Method, r.Path)
		}
	}

	// Once they are released, publishCLI gets past them (to the platform
	// packages, which this test never publishes).
	if _, err := publish.Adapters(ctx(t), e, fastOpts()); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	e2, out2 := toolkittest.Again(t, e)
	_, err = publish.CLI(ctx(t), e2, ver, fastOpts())
	var mp *publish.MissingPlatformsError
	if !errors.As(err, &mp) || !strings.Contains(out2.String(), "✓ the 3 libraries the CLI depends on are on the registry") {
		t.Errorf("err = %v\n%s", err, out2)
	}
}

// TestScriptsGetNoToken: build, prepack and postpack scripts run without a
// token in their environment or in the npm configuration they see, even
// when the run has every kind of credential; a prepack that rewrites
// package.json does so in a staging copy, and the tarball has its result.
func TestScriptsGetNoToken(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "maintainer")
	cfg := toolkittest.Config(t, func(c *config.Config) { c.Adapters.Prepack = true })
	dumps := t.TempDir()
	const idToken = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJucG06MTI3LjAuMC4xIn0.c2lnbmF0dXJlLW5vdC1jaGVja2Vk"
	secrets := []string{token, idToken, "otp-code-31337", "ghs_actionsrequesttoken0123", "nodeauthtoken-0123456789"}
	env := append(reg.NpmEnv(t, token), toolkittest.WithBun(t), "CIRCLE_TAG=", "GITHUB_REF_TYPE=",
		"NPM_ID_TOKEN="+idToken, "NPM_OTP="+secrets[2], "ACTIONS_ID_TOKEN_REQUEST_TOKEN="+secrets[3],
		"NODE_AUTH_TOKEN="+secrets[4], "CIRCLE_OIDC_TOKEN_V2="+idToken)
	e, out := toolkittest.Env(t, cfg, env...)
	if _, err := seed.Seed(ctx(t), e, []string{"@agent-facets/adapter", "@agent-facets/adapter-claude", "@agent-facets/adapter-openai"}, seed.Options{}); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	dumper := filepath.Join(dumps, "dump.cjs")
	writeFile(t, dumper, `const fs = require("fs");
const e = process.env;
const rc = (f) => (f && fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
const npmrc = rc(e.NPM_CONFIG_USERCONFIG) + rc(e.npm_config_userconfig) + rc(e.NPM_CONFIG_GLOBALCONFIG);
fs.writeFileSync(require("path").join(__dirname, process.argv[2] + ".json"), JSON.stringify({ env: e, npmrc }));
`)
	dump := func(stage string) string { return fmt.Sprintf("node %s %s", filepath.ToSlash(dumper), stage) }
	rewrite := filepath.Join(dumps, "rewrite.cjs")
	writeFile(t, rewrite, `const fs = require("fs");
const m = JSON.parse(fs.readFileSync("package.json", "utf8"));
m.description = "rewritten by prepack";
fs.writeFileSync("package.json", JSON.stringify(m, null, 2));
`)
	sdk := filepath.Join(cfg.Adapters.Workspace, "packages", "adapter")
	editJSON(t, cfg.Adapters.Workspace, "packages/adapter", func(m map[string]any) {
		s := m["scripts"].(map[string]any)
		s["build"] = s["build"].(string) + " && " + dump("build")
		// As agent-facets' own prepack does: rewrite package.json where it runs.
		s["prepack"] = dump("prepack") + " && node " + filepath.ToSlash(rewrite)
		s["postpack"] = dump("postpack")
	})
	before, _ := os.ReadFile(filepath.Join(sdk, "package.json"))
	if _, err := publish.Adapters(ctx(t), e, fastOpts()); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, stage := range []string{"build", "prepack", "postpack"} {
		data, err := os.ReadFile(filepath.Join(dumps, stage+".json"))
		if err != nil {
			t.Fatalf("the %s script did not run: %v\n%s", stage, err, out)
		}
		var d struct {
			Env   map[string]string `json:"env"`
			Npmrc string            `json:"npmrc"`
		}
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(string(data), s) {
				t.Errorf("the %s script saw the secret %.6s… in its environment or npm configuration", stage, s)
			}
		}
		for _, k := range []string{"NPM_ID_TOKEN", "NPM_OTP", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "NODE_AUTH_TOKEN", "CIRCLE_OIDC_TOKEN_V2"} {
			if d.Env[k] != "" {
				t.Errorf("the %s script has %s set", stage, k)
			}
		}
		if !strings.Contains(d.Npmrc, "registry="+reg.URL) {
			t.Errorf("the %s script's npm configuration lost the registry: %q", stage, d.Npmrc)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(sdk, "package.json")); string(after) != string(before) {
		t.Errorf("the prepack script changed the workspace's package.json:\n%s", after)
	}
	if got := manifestOf(t, reg, "@agent-facets/adapter", "1.2.0")["description"]; got != "rewritten by prepack" {
		t.Errorf("published description %q: the prepack's rewrite is not in the tarball", got)
	}
	if _, err := os.Stat(filepath.Join(cfg.Path(cfg.Dist.Dir), "npm", "stage")); err == nil {
		if left, _ := os.ReadDir(filepath.Join(cfg.Path(cfg.Dist.Dir), "npm", "stage")); len(left) > 0 {
			t.Errorf("staging copies left behind: %v", left)
		}
	}
	if strings.Contains(out.String(), token) || strings.Contains(out.String(), idToken) {
		t.Error("a token reached the output")
	}
}

// TestPublishConfigIsHonoured: a library's publishConfig.registry is where
// it is checked and published (npm's own registry here is a closed port),
// and publishConfig.tag is its dist-tag.
func TestPublishConfigIsHonoured(t *testing.T) {
	t.Parallel()
	reg, seeded, out := libraryRelease(t, nil)
	ws := seeded.Cfg.Adapters.Workspace
	for _, dir := range []string{"packages/adapter", "packages/adapters/claude", "packages/adapters/openai"} {
		editJSON(t, ws, dir, func(m map[string]any) {
			pc := m["publishConfig"].(map[string]any)
			pc["registry"] = reg.URL
			if dir == "packages/adapter" {
				pc["tag"] = "next"
			}
		})
	}
	closed := "http://127.0.0.1:9/"
	e, out2 := toolkittest.FactsEnv(t, seeded.Cfg, toolkittest.Facts(append(seeded.Facts.Environ, "NPM_CONFIG_REGISTRY="+closed, "npm_config_registry="+closed)...))
	recs, err := publish.Adapters(ctx(t), e, fastOpts())
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, out2)
	}
	for _, r := range recs {
		if r.Action != outcome.Published || r.Registry != reg.URL {
			t.Errorf("%s: %s to %s", r, r.Action, r.Registry)
		}
	}
	p, err := e.Reg.Packument(ctx(t), reg.URL, "@agent-facets/adapter", true)
	if err != nil {
		t.Fatal(err)
	}
	if p.DistTags["next"] != "1.2.0" || p.DistTags["latest"] != "0.0.1" {
		t.Errorf("dist-tags = %v, want next 1.2.0 (publishConfig.tag) and latest still the placeholder", p.DistTags)
	}
	if c, err := e.Reg.Packument(ctx(t), reg.URL, "@agent-facets/adapter-claude", true); err != nil || c.DistTags["latest"] != "1.1.0" {
		t.Errorf("adapter-claude dist-tags = %v, %v", c, err)
	}
}
