// Package npm holds the JavaScript launcher that the CLI package runs as its
// bin, and generates the per-release manifest that tells the launcher which
// platform package carries the native binary for which machine.
//
// The launcher sources live in launcher/ and are embedded; WriteLauncher
// copies them into a CLI package directory together with lib/manifest.json,
// generated from the platform table by NewManifest.
package npm

import (
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/agent-facets/release/platforms"
)

//go:embed launcher/bin/facet.js launcher/lib/*.js launcher/lib/messages.json
var launcherFS embed.FS

// Manifest is lib/manifest.json: what the launcher knows about one release.
// It is generated per release and never committed. Its JSON shape:
//
//	{
//	  "name": "agent-facets",           // the CLI package
//	  "version": "1.2.3",               // every platform package must carry it too
//	  "binary": "facet",                // the native binary's name, without ".exe"
//	  "envOverride": "FACET_BIN_PATH",  // variable naming a binary to run instead
//	  "envDebug": "FACET_LAUNCHER_DEBUG", // variable that makes the launcher say what it does
//	  "packages": [                     // platform table order: best build first
//	    {
//	      "target": "linux-x64",
//	      "package": "@agent-facets/cli-linux-x64",
//	      "os": "linux",                // npm "os" (process.platform)
//	      "cpu": "x64",                 // npm "cpu" (process.arch)
//	      "libc": "glibc",              // "glibc" or "musl"; absent off Linux
//	      "baseline": false,            // x64 build that runs without AVX2
//	      "bin": "bin/facet"            // relative to the platform package root
//	    }
//	  ]
//	}
//
// A platform package keeps its binary at bin/<binary> (bin/<binary>.exe on
// Windows), and its package.json must stay resolvable as
// "<package>/package.json" (no "exports" field, or one that exports it).
type Manifest struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Binary      string            `json:"binary"`
	EnvOverride string            `json:"envOverride"`
	EnvDebug    string            `json:"envDebug"`
	Packages    []PlatformPackage `json:"packages"`
}

// PlatformPackage is one entry of Manifest.Packages.
type PlatformPackage struct {
	Target   string `json:"target"`
	Package  string `json:"package"`
	OS       string `json:"os"`
	CPU      string `json:"cpu"`
	Libc     string `json:"libc,omitempty"`
	Baseline bool   `json:"baseline"`
	Bin      string `json:"bin"`
}

// NewManifest builds the launcher manifest for a release. The package for a
// target is scope + "/" + platformPrefix + target name (for example
// "@agent-facets/" + "cli-" + "linux-x64"); scope gains a leading "@" if it
// lacks one. The override variable is the binary name in upper case, with
// every character other than A-Z and 0-9 turned into "_", plus "_BIN_PATH";
// the debug variable the same with "_LAUNCHER_DEBUG".
func NewManifest(cliName, scope, platformPrefix, binary, version string, targets []platforms.Target) Manifest {
	scope = strings.TrimSuffix(scope, "/")
	if !strings.HasPrefix(scope, "@") {
		scope = "@" + scope
	}
	m := Manifest{
		Name:        cliName,
		Version:     version,
		Binary:      binary,
		EnvOverride: EnvOverride(binary),
		EnvDebug:    EnvDebug(binary),
		Packages:    make([]PlatformPackage, 0, len(targets)),
	}
	for _, t := range targets {
		m.Packages = append(m.Packages, PlatformPackage{
			Target:   t.Name,
			Package:  scope + "/" + platformPrefix + t.Name,
			OS:       t.OS,
			CPU:      t.CPU,
			Libc:     t.Libc,
			Baseline: t.Baseline,
			Bin:      BinaryPath(t, binary),
		})
	}
	return m
}

// BinaryPath is where a platform package keeps its binary, relative to the
// package root: "bin/facet", or "bin/facet.exe" on Windows.
func BinaryPath(t platforms.Target, binary string) string {
	return "bin/" + t.BinaryName(binary)
}

// EnvOverride is the name of the variable that makes the launcher run a
// given binary instead of the installed one: "facet" gives "FACET_BIN_PATH".
func EnvOverride(binary string) string { return envName(binary) + "_BIN_PATH" }

// EnvDebug is the name of the variable that makes the launcher say on stderr
// which build it runs and what it does with each signal: "facet" gives
// "FACET_LAUNCHER_DEBUG".
func EnvDebug(binary string) string { return envName(binary) + "_LAUNCHER_DEBUG" }

func envName(binary string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(binary) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// BinScript is the launcher's path inside the CLI package, the value for
// package.json's "bin": {"<binary>": BinScript()}.
func (m Manifest) BinScript() string { return "bin/" + m.Binary + ".js" }

var (
	binaryRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	envRE    = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
)

// Validate reports the first thing that would make the launcher fail.
func (m Manifest) Validate() error {
	where := fmt.Sprintf("launcher manifest for %q", m.Name)
	switch {
	case m.Name == "":
		return fmt.Errorf("%s: name is empty: pass the CLI package name", where)
	case m.Version == "":
		return fmt.Errorf("%s: version is empty: pass the release version", where)
	case !binaryRE.MatchString(m.Binary):
		return fmt.Errorf("%s: binary %q is not a plain file name (letters, digits, '.', '_', '-')", where, m.Binary)
	case !envRE.MatchString(m.EnvOverride):
		return fmt.Errorf("%s: envOverride %q is not an environment variable name", where, m.EnvOverride)
	case !envRE.MatchString(m.EnvDebug):
		return fmt.Errorf("%s: envDebug %q is not an environment variable name", where, m.EnvDebug)
	case len(m.Packages) == 0:
		return fmt.Errorf("%s: no platform packages: pass the platform table", where)
	}
	seen := map[string]bool{}
	for i, p := range m.Packages {
		at := fmt.Sprintf("%s: package %d (%s)", where, i, p.Target)
		if p.Target == "" || p.Package == "" || p.OS == "" || p.CPU == "" {
			return fmt.Errorf("%s: target, package, os and cpu must all be set, got %+v", at, p)
		}
		if seen[p.Package] {
			return fmt.Errorf("%s: package %s is listed twice", at, p.Package)
		}
		seen[p.Package] = true
		if p.Bin == "" || path.IsAbs(p.Bin) || path.Clean(p.Bin) != p.Bin || strings.HasPrefix(p.Bin, "../") {
			return fmt.Errorf("%s: bin %q must be a clean path inside the package, like bin/%s", at, p.Bin, m.Binary)
		}
		if p.OS == "linux" && p.Libc != platforms.Glibc && p.Libc != platforms.Musl {
			return fmt.Errorf("%s: a Linux package needs libc %q or %q, got %q", at, platforms.Glibc, platforms.Musl, p.Libc)
		}
	}
	return nil
}

// MarshalManifest encodes m exactly as WriteLauncher writes lib/manifest.json:
// two-space indentation and a final newline.
func MarshalManifest(m Manifest) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode launcher manifest for %s: %w", m.Name, err)
	}
	return append(b, '\n'), nil
}

// File is one file of the launcher, by its path inside the CLI package.
type File struct {
	Path string // slash-separated, relative to the package root
	Mode os.FileMode
	Data []byte
}

// Files returns the launcher files a CLI package gets: bin/<binary>.js
// (mode 0755), lib/*.js, lib/messages.json and lib/manifest.json (0644).
// Callers that build a tarball in memory use this; WriteLauncher writes them.
func Files(m Manifest) ([]File, error) {
	manifest, err := MarshalManifest(m)
	if err != nil {
		return nil, err
	}
	bin, err := launcherFS.ReadFile("launcher/bin/facet.js")
	if err != nil {
		return nil, fmt.Errorf("read embedded launcher: %w", err)
	}
	files := []File{{Path: m.BinScript(), Mode: 0o755, Data: bin}}
	libs, err := launcherFS.ReadDir("launcher/lib")
	if err != nil {
		return nil, fmt.Errorf("read embedded launcher lib: %w", err)
	}
	for _, e := range libs { // ReadDir sorts by name
		data, err := launcherFS.ReadFile("launcher/lib/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read embedded launcher lib/%s: %w", e.Name(), err)
		}
		files = append(files, File{Path: "lib/" + e.Name(), Mode: 0o644, Data: data})
	}
	return append(files, File{Path: "lib/manifest.json", Mode: 0o644, Data: manifest}), nil
}

// WriteLauncher writes the launcher (see Files) into dir, the CLI package's
// root. The caller writes package.json, with "bin": {m.Binary: m.BinScript()}
// and no install scripts, and the README.
func WriteLauncher(dir string, m Manifest) error {
	files, err := Files(m)
	if err != nil {
		return err
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write launcher into %s: %w", dir, err)
		}
		if err := os.WriteFile(p, f.Data, f.Mode); err != nil {
			return fmt.Errorf("write launcher file %s: %w", p, err)
		}
		// WriteFile keeps the mode of a file that already exists; umask may narrow it.
		if err := os.Chmod(p, f.Mode); err != nil {
			return fmt.Errorf("set mode of launcher file %s: %w", p, err)
		}
	}
	return nil
}
