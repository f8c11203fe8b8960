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
