package install_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/npm"
	"github.com/agent-facets/release/platforms"
)

// project is one install of agent-facets: a project directory, or a global
// prefix, with the environment its package manager runs in.
type project struct {
	dir    string   // the project directory; for global installs where npm runs
	root   string   // where the launcher says the CLI is installed
	cwd    string   // where facet and the printed fixes run
	env    []string // entries after os.Environ(): registry, home, PATH
	search []string // directories holding the installed platform packages
	bin    string   // the package manager wrappers, first on PATH
}

// manager installs agent-facets the way one package manager does, with a
// temporary home, cache and store, reaching only the local registry. Its
// commands are the ones a user types: the registry and the other settings
// come from the environment and the project's configuration files, so the
// fixes the launcher prints run unchanged.
type manager struct {
	name string   // the subtest
	ctx  string   // the launcher's context id for it (lib/manager.js)
	pins string   // where the test pins versions: "overrides", "resolutions" or "pnpm-workspace.yaml"; "" for none
	omit []string // install flags that skip optional dependencies; nil for none
	// dropOptional, for a package manager without such flags, removes the
	// installed platform packages instead.
	dropOptional func(t *testing.T, p *project)
	new          func(t *testing.T) *project
	install      func(t *testing.T, p *project, extra ...string) result // agent-facets@version
	reinstall    func(t *testing.T, p *project) result                  // after the pins changed
	facet        func(t *testing.T, p *project, args ...string) result
}

// wrappers writes executables named after the package managers into a
// directory for PATH, each running the pinned one.
func wrappers(t *testing.T, home string, tools map[string][]string) string {
	t.Helper()
	bin := filepath.Join(home, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, argv := range tools {
		var q []string
		for _, a := range argv {
			q = append(q, shellQuote(a))
		}
		script := "#!/bin/sh\nexec " + strings.Join(q, " ") + " \"$@\"\n"
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// ciVariables mark a CI machine for package managers (ci-info and its
// kin), set to anything, even empty: pnpm then refuses to update its
// lockfile. The failure tests run as on a developer's machine without them.
var ciVariables = []string{
	"CI", "CONTINUOUS_INTEGRATION", "BUILD_ID", "BUILD_NUMBER", "RUN_ID", "CIRCLECI", "GITHUB_ACTIONS",
	"GITLAB_CI", "BUILDKITE", "TF_BUILD", "JENKINS_URL", "TRAVIS", "CODEBUILD_BUILD_ARN", "TEAMCITY_VERSION",
	"APPVEYOR", "DRONE", "SEMAPHORE", "BITBUCKET_COMMIT", "CI_NAME",
}

// environ is os.Environ() plus env, later entries first, without the CI
// variables.
func environ(env []string) []string {
	var out []string
	for _, kv := range append(os.Environ(), env...) {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(ciVariables, k) {
			out = append(out, kv)
		}
	}
	return out
}

// run runs a command in dir with the project's environment.
func (p *project) run(t *testing.T, dir, name string, args ...string) result {
	t.Helper()
	return runWith(t, dir, environ(p.env), name, args...)
}

// baseProject makes a project directory (with a package.json) and the
// environment for a package manager: an isolated home plus extra, with the
// wrappers first on PATH.
func baseProject(t *testing.T, tools map[string][]string, extra ...string) *project {
	t.Helper()
	home, env := isolatedHome(t)
	bin := wrappers(t, home, tools)
	env = append(env, extra...)
	env = append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir := realpath(t, newProject(t))
	return &project{dir: dir, root: dir, cwd: dir, env: append(env, "TEST_HOME="+home), bin: bin}
}

// tool is the wrapper for a package manager (exec.Command looks names up
// in the test's PATH, not in the project's).
func (p *project) tool(name string) string { return filepath.Join(p.bin, name) }

func (p *project) home() string {
	for _, kv := range p.env {
		if h, ok := strings.CutPrefix(kv, "TEST_HOME="); ok {
			return h
		}
	}
	return ""
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func binFacet(p *project) string {
	return filepath.Join(p.dir, "node_modules", ".bin", shared.cfg.CLI.Binary)
}

// managers lists the package managers of the failure tests.
func managers(t *testing.T) []manager {
	spec := cli() + "@" + version
	npmQuiet := []string{"--no-audit", "--no-fund", "--loglevel=error"}
	npmProject := func(t *testing.T) *project {
		p := baseProject(t, nil)
		p.search = []string{filepath.Join(p.dir, "node_modules")}
		return p
	}
	pnpmEnv := []string{"PNPM_CONFIG_UPDATE_NOTIFIER=false", "PNPM_CONFIG_MANAGE_PACKAGE_MANAGER_VERSIONS=false"}
	return []manager{
		{
			name: "npm", ctx: "npm", pins: "overrides", omit: []string{"--omit=optional"},
			new: npmProject,
			install: func(t *testing.T, p *project, extra ...string) result {
				return p.run(t, p.dir, "npm", append(append([]string{"install", spec}, npmQuiet...), extra...)...)
			},
			reinstall: func(t *testing.T, p *project) result {
				return p.run(t, p.dir, "npm", append([]string{"install"}, npmQuiet...)...)
			},
			facet: func(t *testing.T, p *project, args ...string) result { return p.run(t, p.cwd, binFacet(p), args...) },
		},
		{
			// npm 11 installs optional dependencies globally whatever
			// --omit says; the test removes them.
			name: "npm-global", ctx: "npm-global",
			dropOptional: func(t *testing.T, p *project) {
				dir := filepath.Join(p.root, "node_modules", cli(), "node_modules", shared.scope)
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
			},
			new: func(t *testing.T) *project {
				p := baseProject(t, nil)
				prefix := filepath.Join(p.home(), "prefix")
				p.env = append(p.env, "NPM_CONFIG_PREFIX="+prefix, "npm_config_prefix="+prefix)
				// npm runs, and facet and the fixes run, in an unrelated
				// project: a fix for a local install would damage it.
				p.root = filepath.Join(prefix, "lib")
				p.search = []string{filepath.Join(prefix, "lib", "node_modules")}
				return p
			},
			install: func(t *testing.T, p *project, extra ...string) result {
				return p.run(t, p.dir, "npm", append(append([]string{"install", "-g", spec}, npmQuiet...), extra...)...)
			},
			facet: func(t *testing.T, p *project, args ...string) result {
				return p.run(t, p.cwd, filepath.Join(filepath.Dir(p.root), "bin", shared.cfg.CLI.Binary), args...)
			},
		},
		{
			name: "npx", ctx: "npx",
			new: func(t *testing.T) *project {
				p := baseProject(t, nil)
				cache := filepath.Join(p.home(), "npm-cache")
				p.env = append(p.env, "NPM_CONFIG_CACHE="+cache, "npm_config_cache="+cache)
				return p
			},
			install: func(t *testing.T, p *project, extra ...string) result {
				r := p.run(t, p.dir, "npx", append([]string{"--yes", spec, "--version"}, extra...)...)
				entries, _ := filepath.Glob(filepath.Join(p.home(), "npm-cache", "_npx", "*"))
				if len(entries) != 1 {
					t.Fatalf("want one npx cache entry, got %v\n%s", entries, r)
				}
				p.root = realpath(t, entries[0])
				p.search = []string{filepath.Join(p.root, "node_modules")}
				return r
			},
			facet: func(t *testing.T, p *project, args ...string) result {
				return p.run(t, p.cwd, "npx", append([]string{"--yes", spec}, args...)...)
			},
		},
		{
			name: "pnpm", ctx: "pnpm", pins: "pnpm-workspace.yaml", omit: []string{"--no-optional"},
			new: func(t *testing.T) *project {
				p := baseProject(t, map[string][]string{"pnpm": {tools.path(t, "pnpm/pnpm")}}, pnpmEnv...)
				p.search = []string{filepath.Join(p.dir, "node_modules")}
				return p
			},
			install: func(t *testing.T, p *project, extra ...string) result {
				return p.run(t, p.dir, p.tool("pnpm"), append([]string{"add", spec, "--reporter=append-only"}, extra...)...)
			},
			reinstall: func(t *testing.T, p *project) result {
				return p.run(t, p.dir, p.tool("pnpm"), "install", "--reporter=append-only")
			},
			facet: func(t *testing.T, p *project, args ...string) result { return p.run(t, p.cwd, binFacet(p), args...) },
		},
		{
			name: "yarn-classic", ctx: "yarn", pins: "resolutions", omit: []string{"--ignore-optional"},
			new: func(t *testing.T) *project {
				p := baseProject(t, map[string][]string{"yarn": {"node", tools.path(t, "yarn/bin/yarn.js")}},
					"YARN_DISABLE_SELF_UPDATE_CHECK=true")
				writeFile(t, filepath.Join(p.dir, ".yarnrc"), fmt.Sprintf("registry %q\n", shared.reg.URL))
				p.search = []string{filepath.Join(p.dir, "node_modules")}
				return p
			},
			install: func(t *testing.T, p *project, extra ...string) result {
				return p.run(t, p.dir, p.tool("yarn"), append([]string{"add", spec, "--non-interactive", "--no-progress"}, extra...)...)
			},
			reinstall: func(t *testing.T, p *project) result {
				return p.run(t, p.dir, p.tool("yarn"), "install", "--non-interactive", "--no-progress")
			},
			facet: func(t *testing.T, p *project, args ...string) result { return p.run(t, p.cwd, binFacet(p), args...) },
		},
		{
			name: "yarn-berry-pnp", ctx: "yarn-pnp", pins: "resolutions",
			new: func(t *testing.T) *project {
				p := baseProject(t, map[string][]string{"yarn": {"node", tools.path(t, "@yarnpkg/cli-dist/bin/yarn.js")}},
					"YARN_ENABLE_IMMUTABLE_INSTALLS=false", "YARN_ENABLE_TELEMETRY=false")
				// Plug'n'Play is Yarn 4's default linker; the packages
				// themselves go to the global cache in the temporary home.
				// npmMinimalAgeGate: a day by default, so a fresh release is
				// quarantined.
				writeFile(t, filepath.Join(p.dir, ".yarnrc.yml"), fmt.Sprintf(
					"npmRegistryServer: %q\nunsafeHttpWhitelist:\n  - \"127.0.0.1\"\nnpmMinimalAgeGate: 0\n",
					strings.TrimSuffix(shared.reg.URL, "/")))
				p.search = []string{filepath.Join(p.dir, ".yarn", "unplugged")}
				return p
			},
			install: func(t *testing.T, p *project, extra ...string) result {
				return p.run(t, p.dir, p.tool("yarn"), append([]string{"add", spec}, extra...)...)
			},
			reinstall: func(t *testing.T, p *project) result { return p.run(t, p.dir, p.tool("yarn"), "install") },
			facet: func(t *testing.T, p *project, args ...string) result {
				return p.run(t, p.cwd, p.tool("yarn"), append([]string{shared.cfg.CLI.Binary}, args...)...)
			},
		},
		{
			name: "bun", ctx: "bun", pins: "overrides", omit: []string{"--omit=optional"},
			new: func(t *testing.T) *project {
				p := baseProject(t, map[string][]string{"bun": {bunTool.path(t, ".bin/bun")}}, "BUN_CONFIG_REGISTRY="+shared.reg.URL)
				p.env = append(p.env, "BUN_INSTALL="+filepath.Join(p.home(), ".bun"))
				p.search = []string{filepath.Join(p.dir, "node_modules")}
				return p
			},
			install: func(t *testing.T, p *project, extra ...string) result {
				return p.run(t, p.dir, p.tool("bun"), append([]string{"add", spec}, extra...)...)
			},
			reinstall: func(t *testing.T, p *project) result { return p.run(t, p.dir, p.tool("bun"), "install") },
			facet:     func(t *testing.T, p *project, args ...string) result { return p.run(t, p.cwd, binFacet(p), args...) },
		},
	}
}

// platformDir finds where pkg@v is installed in p, or "".
func platformDir(t *testing.T, p *project, pkg, v string) string {
	t.Helper()
	found := ""
	for _, root := range p.search {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || found != "" {
				return err
			}
			if d.IsDir() || d.Name() != "package.json" {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var pj struct{ Name, Version string }
			if json.Unmarshal(data, &pj) == nil && pj.Name == pkg && pj.Version == v {
				found = filepath.Dir(path)
				return fs.SkipAll
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatalf("walk %s: %v", root, err)
		}
	}
	return found
}

// launcherManifest is the manifest the published CLI package carries.
func launcherManifest() npm.Manifest {
	c := shared.cfg
	return npm.NewManifest(c.CLI.Package, c.Scope, c.CLI.PlatformPrefix, c.CLI.Binary, version, c.PlatformTargets())
}

// assertRuns checks that facet --version prints the version and nothing
// else: the preferred build runs, with no notice.
func assertRuns(t *testing.T, mgr manager, p *project) {
	t.Helper()
	r := mgr.facet(t, p, "--version")
	if r.code != 0 || r.stdout != version+"\n" || r.stderr != "" {
		t.Fatalf("want %s on stdout, nothing on stderr and exit 0\n%s", version, r)
	}
}

// writeInPlace replaces a file's contents without replacing the file, as
// damage does: a file a package store shares by a hard link changes too.
// The file is dated a minute on, as damage found later is: pnpm checks a
// store file's contents only when it changed well after pnpm stored it.
func writeInPlace(t *testing.T, path string, data []byte) {
	t.Helper()
	defer func() {
		later := time.Now().Add(time.Minute)
		if err := os.Chtimes(path, later, later); err != nil {
			t.Fatal(err)
		}
	}()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// runFix runs a command the launcher printed, as a user pastes it into a
// shell where facet ran.
func runFix(t *testing.T, p *project, fix string) {
	t.Helper()
	if r := p.run(t, p.cwd, "sh", "-c", fix); r.code != 0 {
		t.Fatalf("the printed fix failed: %s", r)
	}
}

// TestBrokenInstalls installs agent-facets with each package manager, then
// damages the install the ways users report (an empty, foreign or truncated
// binary; lost execute bits; one build missing or pinned to another version;
// optional dependencies skipped) and checks, for each, the launcher's exit
// code and message word for word, and that the printed fix, run as printed,
// repairs the install.
func TestBrokenInstalls(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: installs with pnpm, yarn and bun")
	}
	if runtime.GOOS == "windows" {
		t.Skip("the fixes are POSIX shell commands")
	}
	t.Parallel()
	h := host(t)
	release(t)
	for _, mgr := range managers(t) {
		t.Run(mgr.name, func(t *testing.T) {
			t.Parallel()
			exercise(t, mgr, h)
		})
	}
}

func exercise(t *testing.T, mgr manager, h platforms.Host) {
	c := newCatalogue(t, launcherManifest())
	cands := h.Candidates()
	pkgs := launcherOrder(h)
	p := mgr.new(t)
	if r := mgr.install(t, p); r.code != 0 {
		t.Fatalf("%s", r)
	}
	bins := make([]string, len(cands))
	good := make([][]byte, len(cands))
	rels := make([]string, len(cands))
	for i, tg := range cands {
		dir := platformDir(t, p, pkgs[i], version)
		if dir == "" {
			t.Fatalf("%s installed no %s", mgr.name, pkgs[i])
		}
		bins[i] = filepath.Join(dir, "bin", tg.BinaryName(shared.cfg.CLI.Binary))
		rel, _ := filepath.Rel(p.root, dir)
		rels[i] = shellQuote(filepath.ToSlash(rel))
		data, err := os.ReadFile(bins[i])
		if err != nil {
			t.Fatal(err)
		}
		good[i] = data
	}
	assertRuns(t, mgr, p)
	installedWith := []string{c.text(npm.KindNotice, "installedWith", map[string]string{"manager": c.label(mgr.ctx), "root": p.root})}
	// The binaries are whole again, executable, at the same place.
	assertRepaired := func(t *testing.T) {
		t.Helper()
		assertRuns(t, mgr, p)
		for i, tg := range cands {
			dir := platformDir(t, p, pkgs[i], version)
			b := filepath.Join(dir, "bin", tg.BinaryName(shared.cfg.CLI.Binary))
			data, err := os.ReadFile(b)
			info, serr := os.Stat(b)
			if err != nil || serr != nil || string(data) != string(good[i]) || info.Mode().Perm()&0o111 == 0 {
				t.Fatalf("after the fix %s is not the published binary (read %v, stat %v)", b, err, serr)
			}
			bins[i] = b
		}
	}

	other := "linux-arm64"
	if h.CPU == "arm64" {
		other = "linux-x64"
	}
	otherTarget, _ := platforms.Lookup(other)
	foreign, err := os.ReadFile(shared.cfg.BinaryPath(otherTarget))
	if err != nil {
		t.Fatal(err)
	}
	damage := []struct {
		name    string
		data    func(i int) []byte
		problem func(i int) map[string]string
		id      string
	}{
		{"empty", func(int) []byte { return nil }, func(int) map[string]string { return nil }, "empty"},
		{"another CPU", func(int) []byte { return foreign }, func(int) map[string]string {
			return map[string]string{"binArch": otherTarget.CPU, "arch": h.CPU}
		}, "wrongArch"},
		{"truncated", func(i int) []byte { return good[i][:len(good[i])/2] }, func(i int) map[string]string {
			return map[string]string{"size": fmt.Sprint(len(good[i]) / 2), "need": fmt.Sprint(len(good[i]))}
		}, "truncated"},
	}
	// Each step starts from the install the previous one repaired: stop at
	// the first that fails.
	for _, d := range damage {
		ok := t.Run(d.name, func(t *testing.T) {
			var want [][]string
			for i := range cands {
				problem := c.text(npm.KindProblem, d.id, d.problem(i))
				vars := map[string]string{"package": pkgs[i], "problem": problem}
				if i == 0 {
					want = append(want, []string{c.text(npm.KindHeadline, "binaryBroken", vars), "  " + bins[i]})
				} else {
					want = append(want, []string{c.text(npm.KindNotice, "alsoBroken", vars), "  " + bins[i]})
				}
				writeInPlace(t, bins[i], d.data(i))
			}
			want = append(want, installedWith, causes(c.cause("reinstallPackage", mgr.ctx, "", map[string]string{
				"packageDir": strings.Join(rels, " "), "root": shellQuote(p.root),
			})))
			r := mgr.facet(t, p, "--version")
			assertMessage(t, r, lines(want...))
			runFix(t, p, printedFix(t, r.stderr))
			assertRepaired(t)
		})
		if !ok {
			return
		}
	}

	if !t.Run("not executable", func(t *testing.T) {
		var want [][]string
		var quoted []string
		for i := range cands {
			if err := os.Chmod(bins[i], 0o644); err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{"package": pkgs[i], "problem": c.text(npm.KindProblem, "notExecutable", map[string]string{"mode": "644"})}
			if i == 0 {
				want = append(want, []string{c.text(npm.KindHeadline, "binaryBroken", vars), "  " + bins[i]})
			} else {
				want = append(want, []string{c.text(npm.KindNotice, "alsoBroken", vars), "  " + bins[i]})
			}
			quoted = append(quoted, shellQuote(bins[i]))
		}
		want = append(want, installedWith, causes(c.cause("lostExecute", "posix", "", map[string]string{"path": strings.Join(quoted, " ")})))
		r := mgr.facet(t, p, "--version")
		assertMessage(t, r, lines(want...))
		runFix(t, p, printedFix(t, r.stderr))
		assertRepaired(t)
	}) {
		return
	}

	if len(cands) > 1 {
		fallback := func(t *testing.T, reason string) {
			t.Helper()
			r := mgr.facet(t, p, "--version")
			notice := c.text(npm.KindNotice, "fallback", map[string]string{"from": pkgs[0], "to": pkgs[1], "reason": reason}) + "\n"
			if r.code != 0 || r.stdout != version+"\n" || r.stderr != notice {
				t.Fatalf("want %s from the twin build and only this on stderr:\n%s\ngot: %s", version, notice, r)
			}
		}
		if !t.Run("preferred build not executable", func(t *testing.T) {
			if err := os.Chmod(bins[0], 0o644); err != nil {
				t.Fatal(err)
			}
			fallback(t, c.text(npm.KindReason, "broken", map[string]string{
				"problem": c.text(npm.KindProblem, "notExecutable", map[string]string{"mode": "644"}),
			}))
			if err := os.Chmod(bins[0], 0o755); err != nil {
				t.Fatal(err)
			}
			assertRuns(t, mgr, p)
		}) {
			return
		}
		if !t.Run("preferred build missing", func(t *testing.T) {
			if err := os.Remove(bins[0]); err != nil {
				t.Fatal(err)
			}
			fallback(t, c.text(npm.KindReason, "binaryMissing", nil))
			if err := os.WriteFile(bins[0], good[0], 0o755); err != nil {
				t.Fatal(err)
			}
			assertRuns(t, mgr, p)
		}) {
			return
		}
	}

	if mgr.pins != "" {
		t.Run("pinned", func(t *testing.T) {
			pinned := func(t *testing.T, n int) {
				t.Helper()
				setPins(t, p, mgr.pins, pkgs[:n])
				if r := mgr.reinstall(t, p); r.code != 0 {
					t.Fatalf("install with the pins: %s", r)
				}
			}
			if len(cands) > 1 {
				// Only the preferred build pinned: its twin is the right
				// version and runs, with a notice.
				pinned(t, 1)
				r := mgr.facet(t, p, "--version")
				notice := c.text(npm.KindNotice, "fallback", map[string]string{
					"from": pkgs[0], "to": pkgs[1],
					"reason": c.text(npm.KindReason, "version", map[string]string{"found": pinnedVersion}),
				}) + "\n"
				if r.code != 0 || r.stdout != version+"\n" || r.stderr != notice {
					t.Fatalf("want %s from the twin build and only this on stderr:\n%s\ngot: %s", version, notice, r)
				}
			}
			pinned(t, len(cands))
			var found, texts []string
			for _, pkg := range pkgs {
				found = append(found, pkg+"@"+pinnedVersion)
				texts = append(texts, pinText(mgr.pins, pkg))
			}
			file, field := pinPlace(p, mgr.pins)
			want := lines(
				[]string{c.text(npm.KindHeadline, "versionMismatch", nil)},
				listBlock("Found:", found),
				listBlock(c.text(npm.KindNotice, "pinnedBy", map[string]string{"field": `"` + field + `"`, "file": file}), texts),
				installedWith,
				causes(c.cause("versionPinned", mgr.ctx, "", map[string]string{"pins": c.text(npm.KindPins, mgr.ctx, nil)})),
			)
			r := mgr.facet(t, p, "--version")
			assertMessage(t, r, want)
			// The user removes the pins, then runs the printed fix.
			setPins(t, p, mgr.pins, nil)
			runFix(t, p, printedFix(t, r.stderr))
			assertRepaired(t)
		})
	}

	if mgr.omit != nil || mgr.dropOptional != nil {
		t.Run("optional dependencies skipped", func(t *testing.T) {
			p := mgr.new(t)
			if r := mgr.install(t, p, mgr.omit...); r.code != 0 {
				t.Fatalf("%s", r)
			}
			if mgr.dropOptional != nil {
				mgr.dropOptional(t, p)
			}
			blocks := [][]string{c.cause("omitOptional", mgr.ctx, "", nil)}
			if mgr.ctx == "npm" {
				blocks = append(blocks, c.cause("lockfileOtherOS", mgr.ctx, "", nil))
			}
			want := lines(
				[]string{c.text(npm.KindHeadline, "notInstalled", map[string]string{"host": hostLabel(h)})},
				listBlock("Looked for:", pkgs),
				[]string{c.text(npm.KindNotice, "installedWith", map[string]string{"manager": c.label(mgr.ctx), "root": p.root})},
				causes(blocks...),
				[]string{c.text(npm.KindNotice, "overrideHint", nil)},
			)
			r := mgr.facet(t, p, "--version")
			assertMessage(t, r, want)
			runFix(t, p, printedFix(t, r.stderr))
			assertRuns(t, mgr, p)
		})
	}
}

// pinPlace is the file and field the launcher names for the test's pins.
func pinPlace(p *project, kind string) (file, field string) {
	if kind == "pnpm-workspace.yaml" {
		return filepath.Join(p.dir, "pnpm-workspace.yaml"), "overrides"
	}
	return filepath.Join(p.dir, "package.json"), kind
}

// pinText is a pin of pkg to pinnedVersion as the launcher quotes it.
func pinText(kind, pkg string) string {
	if kind == "pnpm-workspace.yaml" {
		return fmt.Sprintf("'%s': %s", pkg, pinnedVersion)
	}
	return fmt.Sprintf("%q: %q", pkg, pinnedVersion)
}

// setPins pins pkgs to pinnedVersion where the package manager reads pins,
// replacing the test's earlier pins; no pkgs removes them.
func setPins(t *testing.T, p *project, kind string, pkgs []string) {
	t.Helper()
	if kind == "pnpm-workspace.yaml" {
		path := filepath.Join(p.dir, "pnpm-workspace.yaml")
		data, _ := os.ReadFile(path)
		// Keep every other top-level key (pnpm records
		// minimumReleaseAgeExclude there).
		var keep []string
		skip := false
		for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			if l != "" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "-") {
				skip = strings.HasPrefix(l, "overrides:")
			}
			if !skip && l != "" {
				keep = append(keep, l)
			}
		}
		if len(pkgs) > 0 {
			keep = append(keep, "overrides:")
			for _, pkg := range pkgs {
				keep = append(keep, "  "+pinText(kind, pkg))
			}
		}
		writeFile(t, path, strings.Join(keep, "\n")+"\n")
		return
	}
	path := filepath.Join(p.dir, "package.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, kind)
	if len(pkgs) > 0 {
		// Written in this order, which the launcher keeps.
		var b strings.Builder
		b.WriteString("{")
		for i, pkg := range pkgs {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%q:%q", pkg, pinnedVersion)
		}
		b.WriteString("}")
		doc[kind] = json.RawMessage(b.String())
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(out)+"\n")
}

// TestOverrideVariable points FACET_BIN_PATH at things that are not a facet
// binary for this machine: the message names the variable and what is
// wrong, and its fix (unsetting the variable) runs the installed binary. A
// binary it names that can run, runs.
func TestOverrideVariable(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fixes are POSIX shell commands")
	}
	t.Parallel()
	h := host(t)
	release(t)
	mgr := managers(t)[0]
	p := mgr.new(t)
	if r := mgr.install(t, p); r.code != 0 {
		t.Fatalf("%s", r)
	}
	c := newCatalogue(t, launcherManifest())
	env := launcherManifest().EnvOverride
	work := realpath(t, t.TempDir())
	good := filepath.Join(work, "facet")
	data, err := os.ReadFile(shared.cfg.BinaryPath(h.Candidates()[0]))
	if err != nil {
		t.Fatal(err)
	}
	other := "linux-arm64"
	if h.CPU == "arm64" {
		other = "linux-x64"
	}
	otherTarget, _ := platforms.Lookup(other)
	foreign, err := os.ReadFile(shared.cfg.BinaryPath(otherTarget))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name    string
		path    string
		problem string
		vars    map[string]string
	}{
		{"missing file", filepath.Join(work, "nothing-here"), "missing", nil},
		{"directory", work, "directory", nil},
		{"not executable", write("not-executable", data, 0o644), "notExecutable", map[string]string{"mode": "644"}},
		{"empty", write("empty", nil, 0o755), "empty", nil},
		{"another CPU", write("foreign", foreign, 0o755), "wrongArch", map[string]string{"binArch": otherTarget.CPU, "arch": h.CPU}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := *p
			q.env = append(append([]string{}, p.env...), env+"="+tc.path)
			r := mgr.facet(t, &q, "--version")
			assertMessage(t, r, lines(
				[]string{c.text(npm.KindHeadline, "overrideBad", map[string]string{
					"path": tc.path, "problem": c.text(npm.KindProblem, tc.problem, tc.vars),
				})},
				causes(c.cause("overrideBad", "posix", "", nil)),
			))
			fix := printedFix(t, r.stderr)
			if rr := q.run(t, q.cwd, "sh", "-c", fix+" && "+shellQuote(binFacet(p))+" --version"); rr.code != 0 || rr.stdout != version+"\n" || rr.stderr != "" {
				t.Fatalf("after the printed fix, want %s from the installed binary:\n%s", version, rr)
			}
		})
	}
	t.Run("a binary that runs", func(t *testing.T) {
		q := *p
		q.env = append(append([]string{}, p.env...), env+"="+write("facet", data, 0o755))
		if r := mgr.facet(t, &q, "--version"); r.code != 0 || r.stdout != version+"\n" || r.stderr != "" {
			t.Fatalf("want %s from %s:\n%s", version, good, r)
		}
	})
}
