// Package toolkittest builds toolkit Envs for tests: the repository's
// release.json with the demo workspace as adapter source, output captured in
// a buffer, and short retry schedules.
package toolkittest

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/fixtures"
	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
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
	cfg.Dist.Dir = filepath.Join(t.TempDir(), "dist")
	if mutate != nil {
		mutate(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Env returns an Env on cfg whose output goes to the returned buffer. npm
// runs with the process environment (set it with testreg's SetEnv first).
func Env(t testing.TB, cfg *config.Config) (*toolkit.Env, *Buffer) {
	t.Helper()
	buf := &Buffer{}
	if _, ok := os.LookupEnv("NO_COLOR"); !ok {
		// Buffers are never terminals; keep it explicit anyway.
		t.Setenv("NO_COLOR", "1")
	}
	return &toolkit.Env{
		Cfg: cfg,
		NPM: &npmcli.CLI{},
		Reg: &registry.Client{InitialInterval: 50 * time.Millisecond, MaxElapsed: 10 * time.Second, AttemptTimeout: 10 * time.Second},
		Out: report.New(buf),
	}, buf
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
