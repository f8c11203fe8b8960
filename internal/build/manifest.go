package build

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/agent-facets/release/internal/archive"
	"github.com/agent-facets/release/internal/atomicfile"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/platforms"
)

// ManifestName is the build manifest's file name in the dist directory.
const ManifestName = "build-manifest.json"

// Manifest is what build made: for each target, the version it stamped,
// the SHA-256 of the binary and the build command. Publishing targets
// publish a binary only when the manifest vouches for it at the version
// being published.
type Manifest struct {
	Schema  int               `json:"schema"`
	Targets map[string]Binary `json:"targets"`
}

// Binary is one target's entry in the manifest.
type Binary struct {
	Version string `json:"version"`
	// Path is the binary's path, relative to the dist directory when it is
	// inside it.
	Path    string    `json:"path"`
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size"`
	Command []string  `json:"command"`
	Built   time.Time `json:"built"`
}

// ManifestPath is where the build manifest of e's configuration lives.
func ManifestPath(e *toolkit.Env) string {
	return filepath.Join(e.Cfg.Path(e.Cfg.Dist.Dir), ManifestName)
}

// ReadManifest reads the build manifest; a missing one is an empty
// manifest, not an error.
func ReadManifest(e *toolkit.Env) (*Manifest, error) {
	m := &Manifest{Schema: 1, Targets: map[string]Binary{}}
	data, err := os.ReadFile(ManifestPath(e))
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the build manifest: %w", err)
	}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("the build manifest %s is not valid JSON (%v): rebuild with `go tool mage build`", ManifestPath(e), err)
	}
	if m.Targets == nil {
		m.Targets = map[string]Binary{}
	}
	return m, nil
}

// updateManifest changes the manifest under a lock, so that builds of
// several targets at once (one process each) keep each other's entries.
func updateManifest(e *toolkit.Env, change func(m *Manifest)) error {
	dir := e.Cfg.Path(e.Cfg.Dist.Dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock := flock.New(filepath.Join(dir, "."+ManifestName+".lock"))
	if err := lock.Lock(); err != nil {
		return fmt.Errorf("lock the build manifest: %w", err)
	}
	defer lock.Unlock()
	// Every writer holds the lock: a temporary manifest here is a killed
	// build's.
	if stale, _ := filepath.Glob(filepath.Join(dir, "."+ManifestName+".*.tmp")); len(stale) > 0 {
		for _, f := range stale {
			_ = os.Remove(f)
		}
	}
	m, err := ReadManifest(e)
	if err != nil {
		return err
	}
	change(m)
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(ManifestPath(e), append(data, '\n'), 0o644)
}

// forget drops t from the manifest: from the start of its build until it
// succeeds, nothing vouches for whatever lies at its binary's path.
func forget(e *toolkit.Env, t platforms.Target) error {
	return updateManifest(e, func(m *Manifest) { delete(m.Targets, t.Name) })
}

// record vouches for t's binary as built now at version.
func record(e *toolkit.Env, t platforms.Target, version string) error {
	bin := e.Cfg.BinaryPath(t)
	size, sum, err := archive.SHA256File(bin)
	if err != nil {
		return err
	}
	path := bin
	if rel, err := filepath.Rel(e.Cfg.Path(e.Cfg.Dist.Dir), bin); err == nil && filepath.IsLocal(rel) {
		path = filepath.ToSlash(rel)
	}
	b := Binary{Version: version, Path: path, SHA256: sum, Size: size, Command: e.Cfg.Build.Command, Built: time.Now().UTC().Truncate(time.Second)}
	return updateManifest(e, func(m *Manifest) { m.Targets[t.Name] = b })
}

// NotBuiltError: a binary the build manifest does not vouch for at the
// version being published.
type NotBuiltError struct {
	Target, Binary, Version string
	// Why says what is wrong: no manifest, no entry, another version,
	// other bytes.
	Why string
	// Rebuild is the command that makes the right binary.
	Rebuild string
}

func (e *NotBuiltError) Error() string {
	return fmt.Sprintf("%s is not the %s binary built at %s: %s; nothing was published: rebuild it with `%s`", e.Binary, e.Target, e.Version, e.Why, e.Rebuild)
}

// Vouch checks, before anything is published, that t's binary is the one
// `build` made at version v: it is in the build manifest, recorded at v,
// with the same SHA-256.
func Vouch(e *toolkit.Env, t platforms.Target, v string) error {
	bin := e.Cfg.BinaryPath(t)
	nb := &NotBuiltError{Target: t.Name, Binary: bin, Version: v, Rebuild: fmt.Sprintf("go tool mage build -target=%s -version=%s", t.Name, v)}
	m, err := ReadManifest(e)
	if err != nil {
		return err
	}
	b, ok := m.Targets[t.Name]
	switch {
	case len(m.Targets) == 0 && !exists(ManifestPath(e)):
		nb.Why = fmt.Sprintf("there is no build manifest (%s), which `build` writes: this binary was not made by `build`, or its build failed", ManifestPath(e))
		return nb
	case !ok:
		nb.Why = fmt.Sprintf("the build manifest (%s) has no entry for %s: its last build failed, or it was not built by `build`", ManifestPath(e), t.Name)
		return nb
	case b.Version != v:
		nb.Why = fmt.Sprintf("it was built at %s", b.Version)
		return nb
	}
	_, sum, err := archive.SHA256File(bin)
	if err != nil {
		return err
	}
	if sum != b.SHA256 {
		nb.Why = fmt.Sprintf("it changed since it was built (sha256 %s, the build manifest says %s)", short(sum), short(b.SHA256))
		return nb
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12] + "…"
	}
	return sum
}

// SourceVersion returns the version in cli.source's package.json ("" when
// cli.source is not set, or its package.json has no version).
func SourceVersion(e *toolkit.Env) (string, error) {
	if e.Cfg.CLI.Source == "" {
		return "", nil
	}
	path := filepath.Join(e.Cfg.SourceDir(), "package.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cli.source in %s: %w", e.Cfg.File, err)
	}
	var pj struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &pj); err != nil {
		return "", fmt.Errorf("cli.source in %s: %s is not valid JSON: %v", e.Cfg.File, path, err)
	}
	return strings.TrimSpace(pj.Version), nil
}

// CheckSourceVersion refuses a release version other than the one in
// cli.source's package.json, when it has one.
func CheckSourceVersion(e *toolkit.Env, v string) error {
	sv, err := SourceVersion(e)
	if err != nil || sv == "" || sv == v {
		return err
	}
	path := filepath.Join(e.Cfg.SourceDir(), "package.json")
	return fmt.Errorf("the release version %s is not the CLI's version %s (in %s): release %s, or bump the version there first", v, sv, path, sv)
}
