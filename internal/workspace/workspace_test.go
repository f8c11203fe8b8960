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
