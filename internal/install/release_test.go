package install_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/npm"
	"github.com/agent-facets/release/platforms"
)

// version is the one release every test installs.
const version = "1.2.3"

// pinnedVersion is an older release of this machine's platform packages
// only (no CLI package), published first, for the tests that pin a
// platform package to another version than the CLI's.
const pinnedVersion = "1.2.2"

// commandTimeout bounds every package manager or launcher run.
const commandTimeout = 2 * time.Minute

// shared is the release all tests of the package install: published once, by
// the first test that needs it, to one registry that lives until TestMain
// ends.
var shared struct {
	once  sync.Once
	ok    bool
	err   string
	reg   *localregistrytest.Registry
	cfg   *config.Config
	npm   []string // npm environment for installs: the registry, no token
	scope string   // "@agent-facets"
	dirs  []string // removed by TestMain
}

func TestMain(m *testing.M) {
	// Output is never a terminal here; set it for the whole process so that
	// toolkittest need not (t.Setenv is not allowed in parallel tests).
	os.Setenv("NO_COLOR", "1")
	code := m.Run()
	if shared.reg != nil {
		shared.reg.Close()
	}
	for _, d := range shared.dirs {
		os.RemoveAll(d)
	}
	toolkittest.CleanupDemoBuilds()
	os.Exit(code)
}

// tempDir is a directory that outlives the test creating it (removed by
// TestMain), for what the shared release keeps.
func tempDir(t *testing.T, pattern string) string {
	t.Helper()
	d, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatal(err)
	}
	shared.dirs = append(shared.dirs, d)
	return d
}

// release returns the registry holding agent-facets@version and its 12
// platform packages (demo binaries), publishing them on first use with npm's
// own login (a Verdaccio user), as CI would with its trusted publisher.
func release(t *testing.T) *localregistrytest.Registry {
	t.Helper()
	shared.once.Do(func() {
		shared.err = "the first test to publish the release stopped before finishing (see its failure)"
		reg, err := localregistry.New(localregistry.WithRunner(&command.Runner{Environ: os.Environ()}))
		if err != nil {
			shared.err = err.Error()
			t.Fatal(err)
		}
		shared.reg = &localregistrytest.Registry{Registry: reg}
		token, err := reg.CreateUser("maintainer")
		if err != nil {
			shared.err = err.Error()
			t.Fatal(err)
		}
		publishEnv, err := reg.WriteNpmEnv(tempDir(t, "install-publisher-"), token)
		if err != nil {
			shared.err = err.Error()
			t.Fatal(err)
		}
		shared.npm, err = reg.WriteNpmEnv(tempDir(t, "install-user-"), "")
		if err != nil {
			shared.err = err.Error()
			t.Fatal(err)
		}
		dist := filepath.Join(tempDir(t, "install-dist-"), "dist")
		cfg := toolkittest.DemoConfig(t, func(c *config.Config) { c.Dist.Dir = dist })
		shared.cfg = cfg
		shared.scope = cfg.Scope
		if !strings.HasPrefix(shared.scope, "@") {
			shared.scope = "@" + shared.scope
		}
		e, out := toolkittest.Env(t, cfg, publishEnv...)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		opts := publish.Options{
			Verify:  publish.Verifier{Deadline: 30 * time.Second, Min: 100 * time.Millisecond},
			Confirm: publish.Verifier{Deadline: 2 * time.Minute, Min: 100 * time.Millisecond, Rounds: 3},
		}
		var here []string
		for _, tg := range platforms.DetectHost().Candidates() {
			here = append(here, tg.Name)
		}
		if len(here) > 0 {
			toolkittest.BuildDemo(t, cfg, pinnedVersion, func(e *toolkit.Env) error {
				var ts []platforms.Target
				for _, n := range here {
					tg, _ := platforms.Lookup(n)
					ts = append(ts, tg)
				}
				_, err := build.Build(context.Background(), e, ts, pinnedVersion)
				return err
			})
			if _, err := publish.Platforms(ctx, e, here, pinnedVersion, opts); err != nil {
				shared.err = fmt.Sprintf("publish the platform packages at %s: %v", pinnedVersion, err)
				t.Fatalf("%s\n%s", shared.err, out)
			}
		}
		toolkittest.BuildDemo(t, cfg, version, func(e *toolkit.Env) error {
			_, err := build.Build(context.Background(), e, e.Cfg.PlatformTargets(), version)
			return err
		})
		if _, err := publish.Platforms(ctx, e, cfg.Targets, version, opts); err != nil {
			shared.err = fmt.Sprintf("publish the platform packages: %v", err)
			t.Fatalf("%s\n%s", shared.err, out)
		}
		if _, err := publish.CLI(ctx, e, version, opts); err != nil {
			shared.err = fmt.Sprintf("publish %s: %v", cfg.CLI.Package, err)
			t.Fatalf("%s\n%s", shared.err, out)
		}
		shared.ok = true
	})
	if !shared.ok {
		t.Fatalf("no release to install: %s", shared.err)
	}
	return shared.reg
}

// cli is the CLI package's name; platformPackage the package of a target.
func cli() string { return shared.cfg.CLI.Package }

func platformPackage(target string) string { return shared.cfg.PlatformPackage(target) }

// packagesFor names the platform packages npm must install on a machine
// like h: every target whose os, cpu and libc match, the -baseline twin
// included (npm cannot tell AVX2 apart; the launcher does).
func packagesFor(h platforms.Host) []string {
	var out []string
	for _, t := range h.Candidates() {
		out = append(out, platformPackage(t.Name))
	}
	slices.Sort(out)
	return out
}

// newProject makes an empty project directory with a package.json.
func newProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	pj := `{"name": "install-test", "version": "0.0.0", "private": true}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(pj), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// result is what one command printed and how it ended.
type result struct {
	cmd            string
	stdout, stderr string
	code           int // exit code; -1 when it did not exit normally
}

func (r result) String() string {
	return fmt.Sprintf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", r.cmd, r.code, r.stdout, r.stderr)
}

// run runs name with args in dir, with the process environment plus env
// (later entries win), and waits at most commandTimeout.
func run(t *testing.T, dir string, env []string, name string, args ...string) result {
	t.Helper()
	return runWith(t, dir, append(os.Environ(), env...), name, args...)
}

// runWith is run with exactly the environment environ.
func runWith(t *testing.T, dir string, environ []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = environ
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{cmd: filepath.Base(name) + " " + strings.Join(args, " "), stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("run %s: %v", r.cmd, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %s\n%s", r.cmd, commandTimeout, r)
	}
	return r
}

// mustRun is run that fails the test unless the command exits 0.
func mustRun(t *testing.T, dir string, env []string, name string, args ...string) result {
	t.Helper()
	r := run(t, dir, env, name, args...)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	return r
}

// installed walks a project's node_modules (without following symbolic
// links, so pnpm's and bun's links count once) and returns the directory of
// every platform package present, by package name.
func installed(t *testing.T, project string) map[string]string {
	t.Helper()
	prefix := shared.scope + "/" + shared.cfg.CLI.PlatformPrefix
	dirs := map[string]string{}
	root := filepath.Join(project, "node_modules")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != "package.json" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var pj struct{ Name, Version string }
		if json.Unmarshal(data, &pj) == nil && strings.HasPrefix(pj.Name, prefix) {
			if pj.Version != version {
				t.Errorf("%s is version %s, want %s", p, pj.Version, version)
			}
			if _, dup := dirs[pj.Name]; !dup {
				dirs[pj.Name] = filepath.Dir(p)
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("walk %s: %v", root, err)
	}
	return dirs
}

// installedPlatformPackages names the platform packages present in a
// project, sorted.
func installedPlatformPackages(t *testing.T, project string) []string {
	t.Helper()
	var out []string
	for n := range installed(t, project) {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// assertPackages fails unless exactly want (sorted) is installed in project.
func assertPackages(t *testing.T, who, project string, want []string) {
	t.Helper()
	got := installedPlatformPackages(t, project)
	if !slices.Equal(got, want) {
		t.Errorf("%s installed platform packages %v, want exactly %v", who, got, want)
	}
}

// manifest reads the launcher manifest the installed CLI package carries.
func manifest(t *testing.T, project string) npm.Manifest {
	t.Helper()
	p := filepath.Join(project, "node_modules", cli(), "lib", "manifest.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read the installed launcher manifest: %v", err)
	}
	var m npm.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decode %s: %v", p, err)
	}
	return m
}

// facet runs the installed launcher through node_modules/.bin, as a
// package.json script or `npx facet` would.
func facet(t *testing.T, project string, args ...string) result {
	t.Helper()
	return run(t, project, shared.npm, filepath.Join(project, "node_modules", ".bin", shared.cfg.CLI.Binary), args...)
}

// assertVersion fails unless `facet --version` prints the release's version.
func assertVersion(t *testing.T, project string) {
	t.Helper()
	r := facet(t, project, "--version")
	if r.code != 0 || strings.TrimSpace(r.stdout) != version {
		t.Errorf("facet --version: want %q on stdout and exit 0\n%s", version, r)
	}
}

// host is this machine as npm sees it.
func host(t *testing.T) platforms.Host {
	t.Helper()
	h := platforms.DetectHost()
	if len(h.Candidates()) == 0 {
		t.Skipf("no agent-facets target for this machine (%s %s %s)", h.OS, h.CPU, h.Libc)
	}
	return h
}

// realpath is p with symbolic links resolved, as the launcher names
// directories in its messages.
func realpath(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
