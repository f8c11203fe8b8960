package library_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/library"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

// pinnedTool is a package manager pinned for the tests (installed by
// .ci/run): pnpm in internal/install/testdata/tools, bun in
// internal/build/testdata/bun.
func pinnedTool(t *testing.T, dir, bin string) string {
	t.Helper()
	p := filepath.Join(toolkittest.RepoRoot(), "internal", filepath.FromSlash(dir), "node_modules", ".bin", bin)
	if _, err := (&command.Runner{Environ: os.Environ()}).LookPath(p); err != nil {
		t.Fatalf("%s is not installed (%v): run `npm ci` in internal/%s, as .ci/run does", bin, err, dir)
	}
	return p
}

// TestReleasedLibrariesInstall: the released libraries install with npm,
// pnpm and bun into fresh projects that reach only the local registry,
// with a home, cache and store of their own; Node imports each, their
// workspace dependencies resolve to the rewritten versions, and no
// installed manifest holds a workspace: range.
func TestReleasedLibrariesInstall(t *testing.T) {
	t.Parallel()
	reg, e, out := libraryRelease(t, nil)
	if _, err := publish.Adapters(ctx(t), e, fastOpts()); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	d, err := e.Libraries()
	if err != nil {
		t.Fatal(err)
	}
	libs := library.Expect(d.Workspace, d.Packages)
	specs := library.Specs(libs)
	if strings.Join(specs, " ") != strings.Join(demoLibraries, " ") {
		t.Fatalf("specs = %v", specs)
	}
	userNpm := reg.NpmEnv(t, "")

	tests := []struct {
		name    string
		install func(t *testing.T, project, home string) command.Cmd
	}{
		{"npm", func(t *testing.T, project, home string) command.Cmd {
			return command.Cmd{Name: "npm", Args: append([]string{"install", "--no-audit", "--no-fund", "--registry", reg.URL}, specs...)}
		}},
		{"pnpm", func(t *testing.T, project, home string) command.Cmd {
			return command.Cmd{Name: pinnedTool(t, "install/testdata/tools", "pnpm"), Args: append([]string{"add",
				"--registry=" + reg.URL, "--store-dir=" + filepath.Join(home, "pnpm-store"), "--state-dir=" + filepath.Join(home, "pnpm-state"),
				"--reporter=append-only"}, specs...),
				Env: []string{"PNPM_CONFIG_UPDATE_NOTIFIER=false", "PNPM_CONFIG_MANAGE_PACKAGE_MANAGER_VERSIONS=false"}}
		}},
		{"bun", func(t *testing.T, project, home string) command.Cmd {
			return command.Cmd{Name: pinnedTool(t, "build/testdata/bun", "bun"), Args: append([]string{"add"}, specs...),
				Env: []string{"BUN_CONFIG_REGISTRY=" + reg.URL, "BUN_INSTALL=" + filepath.Join(home, ".bun"), "BUN_INSTALL_CACHE_DIR=" + filepath.Join(home, "bun-cache")}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home, project := t.TempDir(), t.TempDir()
			writeFile(t, filepath.Join(project, "package.json"), `{"name": "a-user-project", "version": "0.0.0", "private": true, "type": "module"}`+"\n")
			env := append(append([]string{}, userNpm...),
				"HOME="+home, "USERPROFILE="+home,
				"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
				"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"), "XDG_STATE_HOME="+filepath.Join(home, ".local", "state"),
				"NO_COLOR=1", "DO_NOT_TRACK=1")
			run := &command.Runner{Environ: command.Merge(os.Environ(), env)}
			c := tt.install(t, project, home)
			c.Dir, c.Timeout = project, 2*time.Minute
			if _, err := run.Output(ctx(t), c); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			exports, err := library.VerifyInstall(ctx(t), run, project, libs)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got := strings.Join(exports["@agent-facets/adapter"], ","); got != "defineAdapter,sdk" {
				t.Errorf("%s: import(\"@agent-facets/adapter\") exports %s", tt.name, got)
			}
			if got := strings.Join(exports["@agent-facets/adapter-openai"], ","); got != "adapter" {
				t.Errorf("%s: import(\"@agent-facets/adapter-openai\") exports %s", tt.name, got)
			}
			// The installed manifest holds the rewritten range itself.
			real, err := filepath.EvalSymlinks(filepath.Join(project, "node_modules", "@agent-facets", "adapter-claude"))
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(real, "package.json"))
			if err != nil {
				t.Fatal(err)
			}
			var m struct{ Dependencies map[string]string }
			json.Unmarshal(data, &m)
			if got := m.Dependencies["@agent-facets/adapter"]; got != "^1.2.0" {
				t.Errorf("%s: installed adapter-claude depends on adapter %q, want ^1.2.0", tt.name, got)
			}
		})
	}
}
