package build_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/platforms"
)

// installBun installs the pinned Bun (the npm package) into testdata/bun
// when it is not there yet, and returns its bin directory.
func installBun(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("testdata", "bun"))
	bin := filepath.Join(dir, "node_modules", ".bin")
	if _, err := os.Stat(filepath.Join(bin, "bun")); err == nil {
		return bin
	}
	tmp := t.TempDir()
	for _, f := range []string{"npmrc", "globalrc"} {
		os.WriteFile(filepath.Join(tmp, f), []byte("fund=false\naudit=false\nupdate-notifier=false\n"), 0o600)
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NPM_CONFIG_USERCONFIG="+filepath.Join(tmp, "npmrc"), "NPM_CONFIG_GLOBALCONFIG="+filepath.Join(tmp, "globalrc"), "NPM_CONFIG_CACHE="+filepath.Join(tmp, "cache"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install the pinned bun: %v\n%s", err, out)
	}
	return bin
}

// TestBunBuildPath compiles a tiny TypeScript CLI with real Bun for this
// machine's target, using release.json's own build command unchanged.
func TestBunBuildPath(t *testing.T) {
	host, err := platforms.Current()
	if err != nil {
		t.Skip(err)
	}
	t.Parallel()
	bin := installBun(t)
	src := t.TempDir()
	cfg := toolkittest.Config(t, func(c *config.Config) {
		c.Build.Dir = src
		c.Targets = []string{host.Name}
	})
	if cfg.Build.Command[0] != "bun" {
		t.Fatalf("release.json no longer builds with bun: %v", cfg.Build.Command)
	}
	entry := filepath.Join(src, filepath.FromSlash(cfg.CLI.Entry))
	os.MkdirAll(filepath.Dir(entry), 0o755)
	ts := "const version: string = process.env.FACET_VERSION ?? \"dev\";\n" +
		"if (process.argv.includes(\"--version\")) console.log(version);\nelse console.log(`facet ${version}`);\n"
	if err := os.WriteFile(entry, []byte(ts), 0o644); err != nil {
		t.Fatal(err)
	}
	e, out := toolkittest.Env(t, cfg, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := build.Build(ctx, e, cfg.PlatformTargets(), "4.5.6")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if res[0].Size < 1<<20 {
		t.Errorf("binary is only %d bytes", res[0].Size)
	}
	if !strings.Contains(out.String(), host.Name+" --version printed 4.5.6 on this machine") {
		t.Errorf("no version check in:\n%s", out)
	}
}
