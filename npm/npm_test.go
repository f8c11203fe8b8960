package npm

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/agent-facets/release/platforms"
)

var update = flag.Bool("update", false, "rewrite launcher/test/fixtures/manifest.json from NewManifest")

// The values the checked-in test fixture is generated with.
const (
	fixtureCLI     = "agent-facets"
	fixtureScope   = "@agent-facets"
	fixturePrefix  = "cli-"
	fixtureBinary  = "facet"
	fixtureVersion = "1.2.3"
	fixturePath    = "launcher/test/fixtures/manifest.json"
)

func fixtureManifest() Manifest {
	return NewManifest(fixtureCLI, fixtureScope, fixturePrefix, fixtureBinary, fixtureVersion, platforms.Table)
}

func TestNewManifest(t *testing.T) {
	m := fixtureManifest()
	if m.Name != "agent-facets" || m.Version != "1.2.3" || m.Binary != "facet" || m.EnvOverride != "FACET_BIN_PATH" || m.EnvDebug != "FACET_LAUNCHER_DEBUG" {
		t.Fatalf("header = %q %q %q %q %q", m.Name, m.Version, m.Binary, m.EnvOverride, m.EnvDebug)
	}
	if len(m.Packages) != len(platforms.Table) {
		t.Fatalf("got %d packages, want %d", len(m.Packages), len(platforms.Table))
	}
	tests := []PlatformPackage{
		{Target: "linux-arm64", Package: "@agent-facets/cli-linux-arm64", OS: "linux", CPU: "arm64", Libc: "glibc", Bin: "bin/facet"},
		{Target: "linux-x64", Package: "@agent-facets/cli-linux-x64", OS: "linux", CPU: "x64", Libc: "glibc", Bin: "bin/facet"},
		{Target: "linux-x64-baseline-musl", Package: "@agent-facets/cli-linux-x64-baseline-musl", OS: "linux", CPU: "x64", Libc: "musl", Baseline: true, Bin: "bin/facet"},
		{Target: "darwin-x64-baseline", Package: "@agent-facets/cli-darwin-x64-baseline", OS: "darwin", CPU: "x64", Baseline: true, Bin: "bin/facet"},
		{Target: "windows-arm64", Package: "@agent-facets/cli-windows-arm64", OS: "win32", CPU: "arm64", Bin: "bin/facet.exe"},
		{Target: "windows-x64-baseline", Package: "@agent-facets/cli-windows-x64-baseline", OS: "win32", CPU: "x64", Baseline: true, Bin: "bin/facet.exe"},
	}
	for _, want := range tests {
		t.Run(want.Target, func(t *testing.T) {
			for _, got := range m.Packages {
				if got.Target == want.Target {
					if got != want {
						t.Errorf("got %+v\nwant %+v", got, want)
					}
					return
				}
			}
			t.Errorf("no package for %s", want.Target)
		})
	}
	for i, p := range m.Packages {
		if p.Target != platforms.Table[i].Name {
			t.Errorf("package %d is %s, want table order (%s)", i, p.Target, platforms.Table[i].Name)
		}
	}
	if err := m.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestNewManifestScopeWithoutAt(t *testing.T) {
	m := NewManifest("x", "acme/", "tool-", "x", "0.1.0", platforms.Table[:1])
	if got := m.Packages[0].Package; got != "@acme/tool-linux-arm64" {
		t.Errorf("package = %q, want @acme/tool-linux-arm64", got)
	}
}

func TestEnvOverride(t *testing.T) {
	tests := map[string]string{
		"facet":    "FACET_BIN_PATH",
		"my-tool":  "MY_TOOL_BIN_PATH",
		"tool2.x":  "TOOL2_X_BIN_PATH",
		"Mixed_Ok": "MIXED_OK_BIN_PATH",
	}
	for in, want := range tests {
		if got := EnvOverride(in); got != want {
			t.Errorf("EnvOverride(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Manifest)
		want   string
	}{
		{"no name", func(m *Manifest) { m.Name = "" }, "name is empty"},
		{"no version", func(m *Manifest) { m.Version = "" }, "version is empty"},
		{"binary with slash", func(m *Manifest) { m.Binary = "bin/facet" }, "not a plain file name"},
		{"bad env", func(m *Manifest) { m.EnvOverride = "facet-bin" }, "not an environment variable name"},
		{"bad debug env", func(m *Manifest) { m.EnvDebug = "" }, "envDebug"},
		{"no packages", func(m *Manifest) { m.Packages = nil }, "no platform packages"},
		{"duplicate", func(m *Manifest) { m.Packages[1].Package = m.Packages[0].Package }, "listed twice"},
		{"escaping bin", func(m *Manifest) { m.Packages[0].Bin = "../facet" }, "clean path inside the package"},
		{"absolute bin", func(m *Manifest) { m.Packages[0].Bin = "/bin/facet" }, "clean path inside the package"},
		{"linux without libc", func(m *Manifest) { m.Packages[0].Libc = "" }, "needs libc"},
		{"missing os", func(m *Manifest) { m.Packages[2].OS = "" }, "must all be set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fixtureManifest()
			tt.change(&m)
			err := m.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			if _, err := MarshalManifest(m); err == nil {
				t.Error("MarshalManifest accepted an invalid manifest")
			}
			if err := WriteLauncher(t.TempDir(), m); err == nil {
				t.Error("WriteLauncher accepted an invalid manifest")
			}
		})
	}
}

// TestFixtureMatchesGenerated proves the JS tests' fixture manifest is exactly
// what NewManifest generates from the platform table. Regenerate it with
// `go test ./npm -run TestFixtureMatchesGenerated -update`.
func TestFixtureMatchesGenerated(t *testing.T) {
	want, err := MarshalManifest(fixtureManifest())
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(fixturePath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(fixturePath)
	if err != nil {
		t.Fatalf("read fixture: %v (create it with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from NewManifest's output; run `go test ./npm -run TestFixtureMatchesGenerated -update`\ngot:\n%s\nwant:\n%s", fixturePath, got, want)
	}
	var decoded Manifest
	if err := json.Unmarshal(got, &decoded); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(decoded, fixtureManifest()) {
		t.Error("fixture does not decode to NewManifest's value")
	}
}

func TestWriteLauncher(t *testing.T) {
	dir := t.TempDir()
	m := fixtureManifest()
	if err := WriteLauncher(dir, m); err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{
		"bin/facet.js":      0o755,
		"lib/binary.js":     0o644,
		"lib/detect.js":     0o644,
		"lib/host.js":       0o644,
		"lib/manager.js":    0o644,
		"lib/manifest.json": 0o644,
		"lib/messages.js":   0o644,
		"lib/messages.json": 0o644,
		"lib/resolve.js":    0o644,
	}
	got := map[string]fs.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = info.Mode().Perm()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, mode := range want {
		gotMode, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s not written", name)
		case runtime.GOOS != "windows" && gotMode != mode:
			t.Errorf("%s has mode %v, want %v", name, gotMode, mode)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected file %s", name)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "lib", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Manifest
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Errorf("manifest.json = %+v, want %+v", back, m)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "bin", "facet.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(bin, []byte("#!/usr/bin/env node\n")) {
		t.Error("bin/facet.js lacks the node shebang")
	}
	if m.BinScript() != "bin/facet.js" {
		t.Errorf("BinScript() = %q", m.BinScript())
	}

	// Writing again over existing files keeps working and keeps the modes.
	if err := WriteLauncher(dir, m); err != nil {
		t.Fatalf("second WriteLauncher: %v", err)
	}
}

func TestWriteLauncherOtherBinaryName(t *testing.T) {
	dir := t.TempDir()
	m := NewManifest("tool", "@acme", "tool-", "acme-tool", "2.0.0", platforms.Table)
	if err := WriteLauncher(dir, m); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bin", "acme-tool.js")); err != nil {
		t.Errorf("bin/acme-tool.js: %v", err)
	}
	if m.EnvOverride != "ACME_TOOL_BIN_PATH" || m.EnvDebug != "ACME_TOOL_LAUNCHER_DEBUG" {
		t.Errorf("EnvOverride = %q, EnvDebug = %q", m.EnvOverride, m.EnvDebug)
	}
}

func TestREADMETroubleshootingMatchesLauncher(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := NewManifest("agent-facets", "@agent-facets", "cli-", "facet", "1.2.3", platforms.Table)
	if err := CheckTroubleshooting(string(readme), m); err != nil {
		t.Fatalf("README's Troubleshooting section is out of date (regenerate it with npm.Troubleshooting): %v", err)
	}
}
