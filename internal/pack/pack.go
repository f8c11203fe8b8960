// Package pack assembles the release's npm packages from the configuration,
// the platform table and the built binaries: one package per platform
// carrying its binary, and the CLI package carrying the launcher with exact
// optionalDependencies on every platform package. Tarballs are made with
// internal/tarball, so the same inputs always give the same bytes.
package pack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gofrs/flock"

	"github.com/agent-facets/release/internal/artifact"
	"github.com/agent-facets/release/internal/atomicfile"
	"github.com/agent-facets/release/internal/tarball"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/version"
	launcher "github.com/agent-facets/release/npm"
	"github.com/agent-facets/release/platforms"
)

// Manifest is a generated package.json. Field order is the order npm users
// expect to read; maps marshal with sorted keys, so output is deterministic.
type Manifest struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Description          string            `json:"description"`
	License              string            `json:"license,omitempty"`
	Repository           *Repository       `json:"repository,omitempty"`
	Bin                  map[string]string `json:"bin,omitempty"`
	Files                []string          `json:"files"`
	OS                   []string          `json:"os,omitempty"`
	CPU                  []string          `json:"cpu,omitempty"`
	Libc                 []string          `json:"libc,omitempty"`
	Engines              map[string]string `json:"engines,omitempty"`
	OptionalDependencies map[string]string `json:"optionalDependencies,omitempty"`
	PreferUnplugged      bool              `json:"preferUnplugged,omitempty"`
}

// Repository is package.json's repository field.
type Repository struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// Package is a packed package ready to publish.
type Package struct {
	Name    string
	Version string
	// Tarball is the .tgz path under the dist directory.
	Tarball string
	Info    tarball.Info
	// Notes are what the artifact check could not confirm about the binary.
	Notes []string
	// Access, Tag and Registry are what the package's own publishConfig
	// asks for (a library's), "" when it says nothing: the access level, the
	// dist-tag and the registry to publish to.
	Access, Tag, Registry string
}

func repository(e *toolkit.Env) *Repository {
	if e.Cfg.Release.Repository == "" {
		return nil
	}
	return &Repository{Type: "git", URL: "git+" + strings.TrimSuffix(e.Cfg.Release.Repository, ".git") + ".git"}
}

// Describe names a target for people: "Linux x64 (musl libc, no AVX2)".
func Describe(t platforms.Target) string {
	osName := map[string]string{"linux": "Linux", "darwin": "macOS", "win32": "Windows"}[t.OS]
	var notes []string
	if t.Libc != "" {
		notes = append(notes, t.Libc+" libc")
	}
	if t.Baseline {
		notes = append(notes, "no AVX2")
	}
	s := osName + " " + t.CPU
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, ", ") + ")"
	}
	return s
}

// PlatformManifest is the package.json of t's platform package.
func PlatformManifest(e *toolkit.Env, t platforms.Target, v string) Manifest {
	m := Manifest{
		Name:            e.Cfg.PlatformPackage(t.Name),
		Version:         v,
		Description:     fmt.Sprintf("The %s binary of %s for %s.", e.Cfg.CLI.Binary, e.Cfg.CLI.Package, Describe(t)),
		License:         e.Cfg.Release.License,
		Repository:      repository(e),
		Files:           []string{"bin/"},
		OS:              []string{t.OS},
		CPU:             []string{t.CPU},
		PreferUnplugged: true,
	}
	if t.Libc != "" {
		m.Libc = []string{t.Libc}
	}
	return m
}

// LauncherManifest is the launcher's table of platform packages.
func LauncherManifest(e *toolkit.Env, v string) launcher.Manifest {
	return launcher.NewManifest(e.Cfg.CLI.Package, e.Cfg.Scope, e.Cfg.CLI.PlatformPrefix, e.Cfg.CLI.Binary, v, e.Cfg.PlatformTargets())
}

// CLIManifest is the package.json of the CLI package.
func CLIManifest(e *toolkit.Env, v string) Manifest {
	lm := LauncherManifest(e, v)
	deps := map[string]string{}
	for _, p := range e.Cfg.PlatformPackages() {
		deps[p] = v // exact: a launcher only works with its own binaries
	}
	desc := e.Cfg.CLI.Description
	if desc == "" {
		desc = "The " + e.Cfg.CLI.Binary + " command-line interface."
	}
	return Manifest{
		Name:                 e.Cfg.CLI.Package,
		Version:              v,
		Description:          desc,
		License:              e.Cfg.Release.License,
		Repository:           repository(e),
		Bin:                  map[string]string{e.Cfg.CLI.Binary: lm.BinScript()},
		Files:                []string{"bin/", "lib/"},
		Engines:              map[string]string{"node": ">=18"},
		OptionalDependencies: deps,
	}
}

// marshal encodes m as npm writes package.json: two-space indentation, a
// final newline, and "<", ">" and "&" as they are (">=18", not "\u003e=18").
func marshal(m Manifest) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(m) // a Manifest always encodes; Encode adds the newline
	return b.Bytes()
}

// TarballName is npm's file name for name@v: "@s/p" → "s-p-1.2.3.tgz".
func TarballName(name, v string) string {
	return strings.NewReplacer("@", "", "/", "-").Replace(name) + "-" + v + ".tgz"
}

func (p Package) String() string { return p.Name + "@" + p.Version }

// Dir is where packed tarballs go: <dist>/npm.
func Dir(e *toolkit.Env) string { return filepath.Join(e.Cfg.Path(e.Cfg.Dist.Dir), "npm") }

// Contents is a package before it is packed: its manifest and files.
type Contents struct {
	Manifest Manifest
	Files    []tarball.File
	// Notes are what the binary check could not tell (see artifact.Result).
	Notes []string
}

// Integrity packs c in memory and returns the tarball's integrity, without
// writing anything: the same bytes Write would write.
func (c *Contents) Integrity() (tarball.Info, error) {
	return tarball.Write(io.Discard, c.Files)
}

// PlatformContents checks t's binary and returns its platform package at
// version v.
func PlatformContents(e *toolkit.Env, t platforms.Target, v string) (*Contents, error) {
	if _, err := version.Validate(v); err != nil {
		return nil, err
	}
	bin := e.Cfg.BinaryPath(t)
	checked, err := artifact.Check(bin, t, artifact.Build{Command: e.Cfg.Build.Command, Config: e.Cfg.File})
	if err != nil {
		return nil, err
	}
	m := PlatformManifest(e, t, v)
	readme := fmt.Sprintf("# %s\n\nThe `%s` binary of `%s` for %s.\n\n"+
		"Do not install this package directly: install `%s`, whose launcher picks the right platform package for your machine.\n",
		m.Name, t.BinaryName(e.Cfg.CLI.Binary), e.Cfg.CLI.Package, Describe(t), e.Cfg.CLI.Package)
	files := []tarball.File{
		{Path: "package.json", Data: marshal(m), Mode: 0o644},
		{Path: "README.md", Data: []byte(readme), Mode: 0o644},
		{Path: "bin/" + t.BinaryName(e.Cfg.CLI.Binary), Source: bin, Mode: 0o755},
	}
	if lic := licenseFile(e); lic != "" {
		files = append(files, tarball.File{Path: "LICENSE", Source: lic, Mode: 0o644})
	}
	return &Contents{Manifest: m, Files: files, Notes: checked.Notes}, nil
}

// CLIContents returns the CLI package at version v.
func CLIContents(e *toolkit.Env, v string) (*Contents, error) {
	if _, err := version.Validate(v); err != nil {
		return nil, err
	}
	m := CLIManifest(e, v)
	lf, err := launcher.Files(LauncherManifest(e, v))
	if err != nil {
		return nil, err
	}
	files := []tarball.File{{Path: "package.json", Data: marshal(m), Mode: 0o644}}
	for _, f := range lf {
		files = append(files, tarball.File{Path: f.Path, Data: f.Data, Mode: f.Mode})
	}
	readme := fmt.Sprintf("# %s\n\n%s\n\n```sh\nnpm install -g %s\n%s --version\n```\n\n"+
		"The package's launcher runs the native binary from the platform package npm installed for your machine "+
		"(%d platforms). If it cannot find one, it says why and how to fix it.\n",
		m.Name, m.Description, m.Name, e.Cfg.CLI.Binary, len(e.Cfg.Targets))
	files = append(files, tarball.File{Path: "README.md", Data: []byte(readme), Mode: 0o644})
	if lic := licenseFile(e); lic != "" {
		files = append(files, tarball.File{Path: "LICENSE", Source: lic, Mode: 0o644})
	}
	return &Contents{Manifest: m, Files: files}, nil
}

// Platform checks t's binary and packs its platform package at version v
// into the dist directory.
func Platform(e *toolkit.Env, t platforms.Target, v string) (*Package, error) {
	c, err := PlatformContents(e, t, v)
	if err != nil {
		return nil, err
	}
	return Write(e, c)
}

// CLI packs the CLI package at version v into the dist directory.
func CLI(e *toolkit.Env, v string) (*Package, error) {
	c, err := CLIContents(e, v)
	if err != nil {
		return nil, err
	}
	return Write(e, c)
}

// licenseFile returns a LICENSE file next to the configuration, if any.
func licenseFile(e *toolkit.Env) string {
	p := e.Cfg.Path("LICENSE")
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
		return p
	}
	return ""
}

// Record is what the file beside a packed tarball (RecordPath) holds: the
// package, its version and the tarball's integrity, so that a later step
// (publishCLI in its own CI job) can compare the registry's bytes with this
// build's without the tarball or the binary.
type Record struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Integrity string `json:"integrity"`
	Shasum    string `json:"shasum"`
	Size      int64  `json:"size"`
}

// RecordPath is where the Record of name@v goes: beside its tarball, with
// ".json" added.
func RecordPath(e *toolkit.Env, name, v string) string {
	return filepath.Join(Dir(e), TarballName(name, v)) + ".json"
}

// ReadRecord reads the Record of name@v.
func ReadRecord(e *toolkit.Env, name, v string) (*Record, error) {
	data, err := os.ReadFile(RecordPath(e, name, v))
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", RecordPath(e, name, v), err)
	}
	if r.Name != name || r.Version != v || r.Integrity == "" {
		return nil, fmt.Errorf("%s describes %s@%s, not %s@%s", RecordPath(e, name, v), r.Name, r.Version, name, v)
	}
	return &r, nil
}

// Write packs c into the dist directory (see Dir), with its Record beside it.
//
// A pack writes a temporary file and renames it over the tarball; one
// killed on the way leaves the temporary file behind. Every pack holds a
// shared lock on the directory while it writes, so a pack that can take
// the lock exclusively knows nobody is packing, and removes what killed
// packs left. Several targets may be packed at once, by one process or
// several.
func Write(e *toolkit.Env, c *Contents) (*Package, error) {
	m, files := c.Manifest, c.Files
	dir := Dir(e)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := packing(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	path := filepath.Join(dir, TarballName(m.Name, m.Version))
	info, err := tarball.Create(path, files)
	if err != nil {
		return nil, fmt.Errorf("pack %s@%s: %w", m.Name, m.Version, err)
	}
	rec, _ := json.MarshalIndent(Record{Name: m.Name, Version: m.Version, Integrity: info.Integrity, Shasum: info.Shasum, Size: info.Size}, "", "  ")
	if err := atomicfile.WriteFile(RecordPath(e, m.Name, m.Version), append(rec, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("pack %s@%s: %w", m.Name, m.Version, err)
	}
	return &Package{Name: m.Name, Version: m.Version, Tarball: path, Info: info, Notes: c.Notes}, nil
}

// packing takes the pack directory's shared lock, first removing the
// temporary files of killed packs when nobody else holds it.
func packing(dir string) (unlock func(), err error) {
	lock := flock.New(filepath.Join(dir, ".pack.lock"))
	if ok, err := lock.TryLock(); err == nil && ok {
		removeLeftovers(dir)
		_ = lock.Unlock()
	}
	if err := lock.RLock(); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { _ = lock.Unlock() }, nil
}

// removeLeftovers removes the temporary tarballs in dir that killed packs
// left (".<name>.tgz.<random>.tmp"). Call it only while no pack writes in
// dir (see Write).
func removeLeftovers(dir string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, ".*.tgz.*.tmp"))
	var removed []string
	for _, m := range matches {
		if os.Remove(m) == nil {
			removed = append(removed, m)
		}
	}
	return removed
}
