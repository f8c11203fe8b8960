package install_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/agent-facets/release/platforms"
)

// checkScript runs the installed launcher's binary check (lib/binary.js) on
// files: argv[1] is the CLI package directory, stdin a JSON list of
// {path, platform, arch}; it prints the list of results (null when the file
// can run there, else the problem's id).
const checkScript = `
const fs = require('fs');
const path = require('path');
const dir = process.argv[1];
const binary = require(path.join(dir, 'lib', 'binary.js'));
const { realHost } = require(path.join(dir, 'lib', 'host.js'));
const host = realHost();
const items = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(items.map((it) => {
  const p = binary.check(host.inspect(it.path), { platform: it.platform, arch: it.arch }, { exists: () => true });
  return p ? p.problem : null;
})));
`

type checkItem struct {
	Path     string `json:"path"`
	Platform string `json:"platform"`
	Arch     string `json:"arch"`
}

func runCheck(t *testing.T, project string, items []checkItem) []*string {
	t.Helper()
	in, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	stdin := filepath.Join(t.TempDir(), "items.json")
	if err := os.WriteFile(stdin, in, 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, project, nil, "sh", "-c", `exec node -e "$0" "$1" < "$2"`, checkScript, filepath.Join(project, "node_modules", cli()), stdin)
	var out []*string
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != len(items) {
		t.Fatalf("decode the check's output: %v\n%s", err, r)
	}
	return out
}

// TestBinaryChecksOnRealBuilds runs the launcher's pre-start check on the
// release's real binaries: each of the 12 targets' binaries (ELF, Mach-O
// and PE, as Go links them) passes for its own platform and CPU and is
// refused for another operating system or CPU; and a binary compiled with
// the pinned Bun, the way the release builds agent-facets, passes, runs
// through FACET_BIN_PATH, and is refused when truncated.
func TestBinaryChecksOnRealBuilds(t *testing.T) {
	t.Parallel()
	h := host(t)
	project := npmInstall(t)
	var items []checkItem
	var want []string
	for _, tg := range platforms.Table {
		bin := shared.cfg.BinaryPath(tg)
		otherOS := map[string]string{"linux": "darwin", "darwin": "win32", "win32": "linux"}[tg.OS]
		otherCPU := map[string]string{"x64": "arm64", "arm64": "x64"}[tg.CPU]
		items = append(items,
			checkItem{bin, tg.OS, tg.CPU},
			checkItem{bin, otherOS, tg.CPU},
			checkItem{bin, tg.OS, otherCPU})
		want = append(want, "", "wrongOS", "wrongArch")
	}
	got := runCheck(t, project, items)
	for i, it := range items {
		g := ""
		if got[i] != nil {
			g = *got[i]
		}
		if g != want[i] {
			t.Errorf("check %s as %s-%s = %q, want %q", it.Path, it.Platform, it.Arch, g, want[i])
		}
	}

	if runtime.GOOS == "windows" {
		return
	}
	bun := bunTool.path(t, ".bin/bun")
	dir := t.TempDir()
	src := filepath.Join(dir, "hello.js")
	if err := os.WriteFile(src, []byte("console.log('bun build ' + process.argv.slice(2).join(' '))\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "facet")
	_, env := isolatedHome(t)
	mustRun(t, dir, append(env, "BUN_INSTALL="+filepath.Join(dir, ".bun")), bun, "build", "--compile", src, "--outfile", out)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "facet-truncated")
	if err := os.WriteFile(cut, data[:len(data)-len(data)/4], 0o755); err != nil {
		t.Fatal(err)
	}
	got = runCheck(t, project, []checkItem{{out, h.OS, h.CPU}, {cut, h.OS, h.CPU}})
	if got[0] != nil || got[1] == nil || *got[1] != "truncated" {
		t.Errorf("the Bun build checks as %v, its truncated copy as %v; want null and truncated", strPtr(got[0]), strPtr(got[1]))
	}
	r := run(t, project, append(shared.npm, launcherManifest().EnvOverride+"="+out), filepath.Join(project, "node_modules", ".bin", shared.cfg.CLI.Binary), "a", "b")
	if r.code != 0 || r.stdout != "bun build a b\n" || r.stderr != "" {
		t.Errorf("the launcher running the Bun build:\n%s", r)
	}
	r = run(t, project, append(shared.npm, launcherManifest().EnvOverride+"="+cut), filepath.Join(project, "node_modules", ".bin", shared.cfg.CLI.Binary))
	if r.code != 1 || !strings.Contains(r.stderr, "but it is truncated (") {
		t.Errorf("the launcher running the truncated Bun build:\n%s", r)
	}
}

func strPtr(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// TestPublishedPackageJSON reads the CLI package's package.json as
// published: its engines range is written as npm writes it (">=18"), not
// with Go's HTML escaping ("\u003e=18").
func TestPublishedPackageJSON(t *testing.T) {
	t.Parallel()
	project := npmInstall(t)
	data, err := os.ReadFile(filepath.Join(project, "node_modules", cli(), "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"node": ">=18"`) || strings.Contains(string(data), `\u00`) {
		t.Errorf("the published package.json escapes characters npm writes as they are:\n%s", data)
	}
	var pj struct {
		Engines map[string]string `json:"engines"`
	}
	if err := json.Unmarshal(data, &pj); err != nil || pj.Engines["node"] != ">=18" {
		t.Errorf("engines = %v (%v)", pj.Engines, err)
	}
}
