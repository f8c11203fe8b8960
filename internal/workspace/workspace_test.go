package workspace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/fixtures"
)

func TestDiscoverFixture(t *testing.T) {
	dir, err := fixtures.WriteWorkspace(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pkgs {
		names = append(names, p.Name)
	}
	want := "@agent-facets/adapter @agent-facets/adapter-claude @agent-facets/adapter-openai @agent-facets/cli-linux-x64 @agent-facets/dev-tools agent-facets"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	ordered, err := Order(pkgs)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, p := range ordered {
		pos[p.Name] = i
	}
	if !(pos["@agent-facets/adapter"] < pos["@agent-facets/adapter-claude"] && pos["@agent-facets/adapter-claude"] < pos["@agent-facets/adapter-openai"]) {
		t.Errorf("dependency order wrong: %v", pos)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGlobForms(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "package.json"), `{"workspaces":{"packages":["libs/**","!libs/skip"]}}`)
	write(t, filepath.Join(dir, "libs/a/package.json"), `{"name":"a","version":"1.0.0"}`)
	write(t, filepath.Join(dir, "libs/nested/b/package.json"), `{"name":"b","version":"1.0.0"}`)
	write(t, filepath.Join(dir, "libs/skip/package.json"), `{"name":"skip","version":"1.0.0"}`)
	write(t, filepath.Join(dir, "libs/a/node_modules/x/package.json"), `{"name":"x","version":"1.0.0"}`)
	pkgs, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pkgs {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "a,b" {
		t.Errorf("got %s, want a,b", got)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Discover(dir); err == nil || !strings.Contains(err.Error(), "has no package.json") {
		t.Errorf("err = %v", err)
	}
	write(t, filepath.Join(dir, "package.json"), `{"name":"x"}`)
	if _, err := Discover(dir); err == nil || !strings.Contains(err.Error(), `no "workspaces" field`) {
		t.Errorf("err = %v", err)
	}
	_, err := Order([]Package{{Name: "a", Deps: []string{"b"}}, {Name: "b", Deps: []string{"a"}}})
	if err == nil || !strings.Contains(err.Error(), "cycle: a -> b -> a") {
		t.Errorf("err = %v", err)
	}
}

func TestFixtureShape(t *testing.T) {
	dir, err := fixtures.WriteWorkspace(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if pm, err := w.Manager(); err != nil || pm != "bun" || w.PackageManager != "bun@1.4.4" {
		t.Errorf("Manager() = %q, %v (packageManager %q)", pm, err, w.PackageManager)
	}
	claude, ok := w.Lookup("@agent-facets/adapter-claude")
	if !ok || w.Rel(claude) != "packages/adapters/claude" {
		t.Fatalf("adapter-claude: %+v (nested glob packages/adapters/*)", claude)
	}
	if strings.Join(claude.Deps, ",") != "@agent-facets/adapter" || strings.Join(claude.DevDeps, ",") != "@agent-facets/dev-tools" {
		t.Errorf("adapter-claude deps %v, devDeps %v", claude.Deps, claude.DevDeps)
	}
	if claude.Scripts["build"] == "" || !strings.Contains(string(claude.Manifest), `"workspace:^"`) {
		t.Errorf("adapter-claude: scripts %v, manifest %s", claude.Scripts, claude.Manifest)
	}
	if p, ok := w.At(filepath.Join(dir, "packages", "cli")); !ok || p.Name != "agent-facets" || !p.Private {
		t.Errorf("At(packages/cli) = %+v, %v", p, ok)
	}
}

func TestPnpmWorkspaceAndCatalogs(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "package.json"), `{"name":"root","private":true,"packageManager":"pnpm@10.0.0"}`)
	write(t, filepath.Join(dir, "pnpm-workspace.yaml"), "packages:\n  - libs/*\ncatalog:\n  left-pad: ^1.3.0\ncatalogs:\n  react18:\n    react: ^18.3.1\n")
	write(t, filepath.Join(dir, "libs/a/package.json"), `{"name":"a","version":"1.0.0"}`)
	w, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Packages) != 1 || w.Packages[0].Name != "a" {
		t.Errorf("packages = %+v", w.Packages)
	}
	if w.Catalogs["default"]["left-pad"] != "^1.3.0" || w.Catalogs["react18"]["react"] != "^18.3.1" {
		t.Errorf("catalogs = %v", w.Catalogs)
	}
	if pm, _ := w.Manager(); pm != "pnpm" {
		t.Errorf("Manager() = %q", pm)
	}

	// bun keeps catalogs in the workspaces object.
	bun := t.TempDir()
	write(t, filepath.Join(bun, "package.json"), `{"workspaces":{"packages":["p/*"],"catalog":{"zod":"^3.0.0"},"catalogs":{"test":{"vitest":"^2.0.0"}}}}`)
	w, err = Load(bun)
	if err != nil {
		t.Fatal(err)
	}
	if w.Catalogs["default"]["zod"] != "^3.0.0" || w.Catalogs["test"]["vitest"] != "^2.0.0" {
		t.Errorf("bun catalogs = %v", w.Catalogs)
	}
	if pm, _ := w.Manager(); pm != "npm" {
		t.Errorf("no packageManager: Manager() = %q, want npm", pm)
	}
	w.PackageManager = "deno@2"
	if _, err := w.Manager(); err == nil || !strings.Contains(err.Error(), `"packageManager" is "deno@2", which names none of npm, pnpm, yarn, bun`) {
		t.Errorf("err = %v", err)
	}
}

func TestOrderFollowsDevDependencies(t *testing.T) {
	got, err := Order([]Package{{Name: "b", DevDeps: []string{"a"}}, {Name: "a"}, {Name: "c", Deps: []string{"b"}}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "a,b,c" {
		t.Errorf("order = %v", names)
	}
}

// A "**" followed by more than one segment matches that many segments at
// any depth.
func TestGlobStarStarInTheMiddle(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "package.json"), `{"workspaces":["packages/**/adapters/*"]}`)
	write(t, filepath.Join(dir, "packages/adapters/claude/package.json"), `{"name":"claude","version":"1.0.0"}`)
	write(t, filepath.Join(dir, "packages/team/adapters/codex/package.json"), `{"name":"codex","version":"1.0.0"}`)
	write(t, filepath.Join(dir, "packages/team/tools/x/package.json"), `{"name":"x","version":"1.0.0"}`)
	pkgs, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pkgs {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "claude,codex" {
		t.Errorf("got %s, want claude,codex", got)
	}
}
