// Package toolkittest builds toolkit Envs for tests: the repository's
// release.json with the demo workspace as adapter source, output captured in
// a buffer, and short retry schedules.
package toolkittest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/fixtures"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/toolkit"
)

// RepoRoot is the toolkit repository's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Buffer is a goroutine-safe output buffer.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Config loads the repository's release.json, with the adapters workspace
// replaced by a fresh copy of the demo workspace, then applies mutate.
// cli.source is cleared: the demo CLI's source depends on the demo
// libraries, and most tests release the CLI without them; a test of
// "libraries before the CLI", or of the CLI's version in its package.json,
// sets it back (SourceDir, SetSourceVersion).
func Config(t testing.TB, mutate func(*config.Config)) *config.Config {
	t.Helper()
	cfg, err := config.Load(filepath.Join(RepoRoot(), config.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := fixtures.WriteWorkspace(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Adapters.Workspace = ws
	cfg.CLI.Source = ""
	cfg.Dist.Dir = filepath.Join(t.TempDir(), "dist")
	if mutate != nil {
		mutate(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Env returns an Env on cfg whose programs run with the process
// environment plus env (a local registry's npm configuration, say:
// reg.NpmEnv(t, token)), read as the toolkit reads the environment when a
// target starts, with nobody at a terminal. Output goes to the returned
// buffer; registry reads retry on a short schedule. The process environment
// itself is not changed, so tests using it may run in parallel.
func Env(t testing.TB, cfg *config.Config, env ...string) (*toolkit.Env, *Buffer) {
	t.Helper()
	return FactsEnv(t, cfg, Facts(env...))
}

// Facts reads the process environment plus env as a target would, with
// nobody at a terminal.
func Facts(env ...string) toolkit.Facts {
	return toolkit.ReadFacts(command.Merge(os.Environ(), env), false)
}

// FactsEnv is Env with the facts given.
func FactsEnv(t testing.TB, cfg *config.Config, f toolkit.Facts) (*toolkit.Env, *Buffer) {
	t.Helper()
	buf := &Buffer{}
	e := toolkit.New(cfg, f, buf)
	e.Reg = &registry.Client{InitialInterval: 50 * time.Millisecond, MaxElapsed: 10 * time.Second, AttemptTimeout: 10 * time.Second}
	return e, buf
}

// DemoConfig is Config with the demo CLI's Go build instead of Bun's.
func DemoConfig(t testing.TB, mutate func(*config.Config)) *config.Config {
	t.Helper()
	return Config(t, func(c *config.Config) {
		fixtures.DemoBuild(c, RepoRoot())
		if mutate != nil {
			mutate(c)
		}
	})
}

var demoBuilds struct {
	mu   sync.Mutex
	dirs map[string]string
}

// BuildDemo puts demo binaries of every configured target, stamped with
// version, into cfg's dist directory. The binaries are built once per test
// process and version, then copied, so tests may damage their copy.
func BuildDemo(t testing.TB, cfg *config.Config, version string, build func(*toolkit.Env) error) {
	t.Helper()
	demoBuilds.mu.Lock()
	defer demoBuilds.mu.Unlock()
	if demoBuilds.dirs == nil {
		demoBuilds.dirs = map[string]string{}
	}
	src, ok := demoBuilds.dirs[version]
	if !ok {
		dir, err := os.MkdirTemp("", "demo-dist-")
		if err != nil {
			t.Fatal(err)
		}
		shared := *cfg
		shared.Dist.Dir = dir
		e, out := Env(t, &shared)
		if err := build(e); err != nil {
			t.Fatalf("build demo binaries: %v\n%s", err, out)
		}
		demoBuilds.dirs[version] = dir
		src = dir
	}
	dst := cfg.Path(cfg.Dist.Dir)
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// CleanupDemoBuilds removes the shared demo builds; call it from TestMain.
func CleanupDemoBuilds() {
	demoBuilds.mu.Lock()
	defer demoBuilds.mu.Unlock()
	for _, d := range demoBuilds.dirs {
		os.RemoveAll(d)
	}
	demoBuilds.dirs = nil
}

// SourceDir is the demo workspace's CLI source package (cli.source in the
// repository's release.json).
const SourceDir = "packages/cli"

// WithBun returns a PATH entry for Env that puts the pinned Bun
// (internal/build/testdata/bun, which .ci/run installs) first, for the demo
// workspace's packageManager (bun): its libraries build with `bun run build`.
func WithBun(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(RepoRoot(), "internal", "build", "testdata", "bun", "node_modules", ".bin")
	name := "bun"
	if runtime.GOOS == "windows" {
		name = "bun.exe"
	}
	if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
		t.Fatalf("the pinned Bun is not installed (%v): run `npm ci` in internal/build/testdata/bun, as .ci/run does", err)
	}
	return "PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")
}

// Again returns a new Env with e's configuration and facts and output of
// its own: the same run, started again (a re-run after a failure).
func Again(t testing.TB, e *toolkit.Env) (*toolkit.Env, *Buffer) {
	t.Helper()
	return FactsEnv(t, e.Cfg, e.Facts)
}

// tokenShapes are npm tokens and JWTs (OIDC ID tokens).
var tokenShapes = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ|npm_[A-Za-z0-9]{36}`)

// NoLeaks fails the test when one of secrets, or anything shaped like an
// npm token or a JWT, appears in one of texts (output, errors, reports) or
// in a file under one of paths (files or directories: dist, reports, what
// a run left behind). Paths that do not exist are skipped.
func NoLeaks(t testing.TB, secrets []string, texts []string, paths ...string) {
	t.Helper()
	check := func(where, s string) {
		t.Helper()
		for _, sec := range secrets {
			if sec != "" && strings.Contains(s, sec) {
				t.Errorf("a secret (%.6s…) reached %s", sec, where)
			}
		}
		if m := tokenShapes.FindString(s); m != "" {
			t.Errorf("a token (%.12s…) reached %s", m, where)
		}
	}
	for i, s := range texts {
		check(fmt.Sprintf("text %d", i), s)
	}
	for _, root := range paths {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			data, err := os.ReadFile(p)
			if err == nil {
				check(p, string(data))
			}
			return nil
		})
	}
}

// Rebuilt returns a copy of cfg whose build command makes other bytes for
// the same version (another Go build ID): a rebuild that is not the
// release's build, as the build manifest records it.
func Rebuilt(t testing.TB, cfg *config.Config) *config.Config {
	t.Helper()
	c := *cfg
	c.Build.Command = append([]string{}, cfg.Build.Command...)
	for i, a := range c.Build.Command {
		if a == "-ldflags" && i+1 < len(c.Build.Command) {
			c.Build.Command[i+1] += " -buildid=rebuilt"
			return &c
		}
	}
	t.Fatalf("the build command %q has no -ldflags to change", cfg.Build.Command)
	return nil
}

// SetSourceVersion points cfg.CLI.Source at the workspace's CLI package
// (SourceDir) and sets the version in its package.json to v, as a release
// commit of the monorepo does.
func SetSourceVersion(t testing.TB, cfg *config.Config, v string) {
	t.Helper()
	cfg.CLI.Source = SourceDir
	path := filepath.Join(cfg.SourceDir(), "package.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	m["version"] = v
	out, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
