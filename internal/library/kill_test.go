package library_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

// TestHelperLibraryRun is not a test: it is the release run that
// TestKilledRunLeavesTheTreeAlone starts in a process of its own (this
// test binary again) and kills. It runs publishAdapters as the target
// does: the environment read once, the configuration from a file.
func TestHelperLibraryRun(t *testing.T) {
	args := flag.Args()
	if len(args) != 2 || args[0] != "release-libraries" {
		t.Skip("the run TestKilledRunLeavesTheTreeAlone starts and kills")
	}
	cfg, err := config.Load(args[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	e := toolkit.New(cfg, toolkit.ReadFacts(os.Environ(), false), os.Stdout)
	if _, err := publish.Adapters(context.Background(), e, fastOpts()); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("RUN COMPLETE")
}

// marker closes seen once a line written to it contains want.
type marker struct {
	mu   sync.Mutex
	want string
	buf  bytes.Buffer
	seen chan struct{}
	once sync.Once
}

func (m *marker) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf.Write(p)
	if strings.Contains(m.buf.String(), m.want) {
		m.once.Do(func() { close(m.seen) })
	}
	return len(p), nil
}

func (m *marker) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.buf.String()
}

// hold is a script the fixture's build or prepack runs: when
// RELEASE_TEST_HOLD names its stage, it says so, with its process id, and
// waits. Killing the run does not end it (it is the build's child, in the
// build's process group): the test ends it by that id.
const hold = `const stage = process.argv[2];
if (process.env.RELEASE_TEST_HOLD === stage) {
  console.log("HOLDING IN " + stage + " AS " + process.pid + ".");
  setInterval(() => {}, 60000);
}
`

// holder is the process id the hold script printed in out.
func holder(t *testing.T, out string) int {
	t.Helper()
	m := regexp.MustCompile(`HOLDING IN \w+ AS (\d+)\.`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no process id in the hold line:\n%s", out)
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

// end ends the hold script's process, by its id.
func end(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

// TestKilledRunLeavesTheTreeAlone kills a library release (SIGKILL to its
// process group: no cleanup can run) while a build runs, and while a
// prepack script that rewrites package.json runs; each time `git status`
// of the monorepo's checkout is clean. A run after them completes.
func TestKilledRunLeavesTheTreeAlone(t *testing.T) {
	t.Parallel()
	reg, maintainer, _ := libraryRelease(t, nil)
	repo := t.TempDir()
	cfg := toolkittest.Config(t, func(c *config.Config) {
		c.Adapters.Workspace = "."
		c.Adapters.Prepack = true
		c.Dist.Dir = "dist"
	})
	// The monorepo: the demo workspace, with release.json at its root, a
	// build that can be held, and agent-facets' kind of prepack: one that
	// rewrites package.json where it runs (postpack would restore it).
	if err := os.CopyFS(repo, os.DirFS(maintainer.Cfg.Adapters.Workspace)); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(repo, "scripts", "hold.cjs"), hold)
	writeFile(t, filepath.Join(repo, "scripts", "prepack.mjs"), `import { readFileSync, writeFileSync } from "node:fs";
const m = JSON.parse(readFileSync("package.json", "utf8"));
m.exports = m.publishConfig.exports;
writeFileSync("package.json", JSON.stringify(m, null, 2) + "\n");
`)
	editJSON(t, repo, "packages/adapters/claude", func(m map[string]any) {
		m["scripts"].(map[string]any)["build"] = "node ../../../scripts/build.mjs && node ../../../scripts/hold.cjs build"
	})
	editJSON(t, repo, "packages/adapter", func(m map[string]any) {
		m["scripts"].(map[string]any)["prepack"] = "node ../../scripts/prepack.mjs && node ../../scripts/hold.cjs prepack"
	})
	data, _ := json.MarshalIndent(cfg, "", "  ")
	writeFile(t, filepath.Join(repo, "release.json"), string(data)+"\n")

	gitEnv := []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + filepath.Join(t.TempDir(), "gitconfig"),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@localhost", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@localhost"}
	git := &command.Runner{Environ: command.Merge(os.Environ(), gitEnv)}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-q", "-m", "the monorepo"}} {
		if _, err := git.Output(ctx(t), command.Cmd{Name: "git", Args: args, Dir: repo}); err != nil {
			t.Fatal(err)
		}
	}
	status := func() string {
		t.Helper()
		s, err := git.Output(ctx(t), command.Cmd{Name: "git", Args: []string{"status", "--porcelain", "--untracked-files=all"}, Dir: repo})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := status(); s != "" {
		t.Fatalf("the fixture repository is not clean before the run:\n%s", s)
	}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The run's environment: the maintainer's (npm login, the pinned Bun).
	runner := &command.Runner{Environ: maintainer.Facts.Environ}
	start := func(holdAt string) (*marker, <-chan error, context.CancelFunc) {
		m := &marker{want: "HOLDING IN " + holdAt + " AS ", seen: make(chan struct{})}
		c, cancel := context.WithCancel(ctx(t))
		done := make(chan error, 1)
		go func() {
			_, err := runner.Output(c, command.Cmd{Name: self, Dir: repo,
				Args:   []string{"-test.run=^TestHelperLibraryRun$", "-test.count=1", "--", "release-libraries", filepath.Join(repo, "release.json")},
				Env:    []string{"RELEASE_TEST_HOLD=" + holdAt},
				Output: m})
			done <- err
		}()
		return m, done, cancel
	}
	for _, stage := range []string{"build", "prepack"} {
		m, done, cancel := start(stage)
		select {
		case <-m.seen:
			// The run is under way: the marker's line holds the id.
		case err := <-done:
			cancel()
			t.Fatalf("the run ended before its %s was held: %v\n%s", stage, err, m)
		}
		cancel() // SIGKILL to the run's process group
		err := <-done
		// The hold script lives on until ended: once here, or, should the
		// test stop before, in its cleanup (never both: the id could be
		// another process's by then).
		pid, ended := holder(t, m.String()), false
		t.Cleanup(func() {
			if !ended {
				end(pid)
			}
		})
		if ce, ok := command.AsError(err); !ok || ce.Canceled == nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("the run was not killed during its %s: %v\n%s", stage, err, m)
		}
		if s := status(); s != "" {
			t.Errorf("after a run killed during the %s, git status shows:\n%s\nrun output:\n%s", stage, s, m)
		}
		end(pid)
		ended = true
	}
	for _, name := range []string{"@agent-facets/adapter", "@agent-facets/adapter-claude", "@agent-facets/adapter-openai"} {
		if n := reg.PublishCount(name); n != 1 {
			t.Errorf("%s was published %d times by the killed runs, want only its placeholder", name, n)
		}
	}

	// Nothing held: the run finishes what the killed ones started.
	m, done, cancel := start("nothing")
	defer cancel()
	if err := <-done; err != nil || !strings.Contains(m.String(), "RUN COMPLETE") {
		t.Fatalf("the run after the kills: %v\n%s", err, m)
	}
	if s := status(); s != "" {
		t.Errorf("after a whole run, git status shows:\n%s", s)
	}
	if got := manifestOf(t, reg, "@agent-facets/adapter", "1.2.0")["exports"]; got == nil {
		t.Errorf("the SDK was published without exports")
	}
}
