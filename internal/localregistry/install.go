package localregistry

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/agent-facets/release/internal/command"
)

// The pinned Verdaccio: its package.json and lock file are compiled into
// the toolkit, so a registry can be started wherever the toolkit runs.
var (
	//go:embed verdaccio/package.json
	verdaccioPackage []byte
	//go:embed verdaccio/package-lock.json
	verdaccioLock []byte
)

// installTimeout bounds `npm ci` of the pinned Verdaccio.
const installTimeout = 5 * time.Minute

// installMarker is written after a successful `npm ci`.
const installMarker = ".installed"

// CacheDir is where Install puts the pinned Verdaccio by default:
// <user cache dir>/agent-facets-release/verdaccio-<hash of the lock file>.
func CacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("localregistry: no cache directory for Verdaccio (%v): set one with WithCacheDir", err)
	}
	return filepath.Join(base, "agent-facets-release"), nil
}

// VerdaccioVersion is the version of the pinned Verdaccio.
func VerdaccioVersion() string {
	var p struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	_ = json.Unmarshal(verdaccioPackage, &p)
	return p.Dependencies["verdaccio"]
}

var installed sync.Map // dir -> true, once installed in this process

// Install installs the pinned Verdaccio with `npm ci` into a directory of
// its own under cacheDir (CacheDir when empty), keyed by the lock file's
// hash, unless it is there already, and returns that directory. Several
// processes may call it at once: the check and the install run under a file
// lock.
func Install(run *command.Runner, cacheDir string) (string, error) {
	if cacheDir == "" {
		var err error
		if cacheDir, err = CacheDir(); err != nil {
			return "", err
		}
	}
	sum := sha256.Sum256(verdaccioLock)
	dir := filepath.Join(cacheDir, "verdaccio-"+hex.EncodeToString(sum[:6]))
	if _, ok := installed.Load(dir); ok {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("localregistry: create %s: %w", dir, err)
	}
	lock := flock.New(filepath.Join(dir, ".install.lock"))
	if err := lock.Lock(); err != nil {
		return "", fmt.Errorf("localregistry: lock %s: %w", dir, err)
	}
	defer lock.Unlock()
	if !fileExists(filepath.Join(dir, installMarker)) {
		if err := npmCI(run, dir); err != nil {
			return "", err
		}
	}
	installed.Store(dir, true)
	return dir, nil
}

func npmCI(run *command.Runner, dir string) error {
	for name, data := range map[string][]byte{"package.json": verdaccioPackage, "package-lock.json": verdaccioLock} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("localregistry: write %s: %w", name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	_, err := run.Output(ctx, command.Cmd{
		Name: "npm",
		Args: []string{"ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"},
		Dir:  dir,
	})
	if err != nil {
		var ce *command.Error
		if errors.As(err, &ce) && ce.NotFound {
			return fmt.Errorf("localregistry: npm is not on PATH: install Node.js 20+ with npm to run a local registry")
		}
		return fmt.Errorf("localregistry: install Verdaccio %s in %s: %w; fix the install or run `npm ci` there by hand", VerdaccioVersion(), dir, err)
	}
	if !fileExists(verdaccioMain(dir)) {
		return fmt.Errorf("localregistry: npm ci in %s finished but %s is missing", dir, verdaccioMain(dir))
	}
	return os.WriteFile(filepath.Join(dir, installMarker), []byte(VerdaccioVersion()+"\n"), 0o644)
}

// verdaccioMain is Verdaccio's entry point, run with node.
func verdaccioMain(dir string) string {
	return filepath.Join(dir, "node_modules", "verdaccio", "bin", "verdaccio")
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// tail returns at most the last n bytes of s, starting at a line boundary when
// one is near.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < 200 {
		s = s[i+1:]
	}
	return "..." + s
}
