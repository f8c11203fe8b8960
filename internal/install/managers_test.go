package install_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/agent-facets/release/platforms"
)

// pinned is where a package manager's npm package is installed for the
// tests, each from a package.json and lock file with exact versions.
type pinned struct {
	dir  string   // holds package.json and package-lock.json
	bins []string // files that must exist under node_modules once installed
	once sync.Once
	err  error
}

var (
	tools = &pinned{dir: filepath.Join("testdata", "tools"), bins: []string{
		"pnpm/pnpm", "yarn/bin/yarn.js", "@yarnpkg/cli-dist/bin/yarn.js",
	}}
	// The build tests pin Bun there already; share that install.
	bunTool = &pinned{dir: filepath.Join("..", "build", "testdata", "bun"), bins: []string{".bin/bun"}}
)

// path returns the absolute path of a file under node_modules, installing
// the pinned packages with `npm ci` (from the default registry, with a
// throwaway npm configuration) the first time they are missing.
func (p *pinned) path(t *testing.T, rel string) string {
	t.Helper()
	dir, err := filepath.Abs(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	p.once.Do(func() {
		missing := false
		for _, b := range p.bins {
			if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(b))); err != nil {
				missing = true
			}
		}
		if !missing {
			return
		}
		tmp, err := os.MkdirTemp("", "install-tools-")
		if err != nil {
			p.err = err
			return
		}
		defer os.RemoveAll(tmp)
		rc := []byte("fund=false\naudit=false\nupdate-notifier=false\n")
		os.WriteFile(filepath.Join(tmp, "npmrc"), rc, 0o600)
		os.WriteFile(filepath.Join(tmp, "global-npmrc"), nil, 0o600)
		env := []string{
			"NPM_CONFIG_USERCONFIG=" + filepath.Join(tmp, "npmrc"),
			"NPM_CONFIG_GLOBALCONFIG=" + filepath.Join(tmp, "global-npmrc"),
			"NPM_CONFIG_CACHE=" + filepath.Join(tmp, "cache"),
			"NPM_CONFIG_UPDATE_NOTIFIER=false",
		}
		// Set until npm ci succeeds: run may stop this test midway.
		p.err = fmt.Errorf("install the pinned packages in %s with npm ci: did not finish", dir)
		// With install scripts: pnpm's and Bun's put the native binary of
		// this platform in place of a stand-in.
		r := run(t, dir, env, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		if r.code != 0 {
			p.err = fmt.Errorf("install the pinned packages in %s with npm ci: %s", dir, r)
			return
		}
		p.err = nil
	})
	if p.err != nil {
		t.Fatal(p.err)
	}
	return filepath.Join(dir, "node_modules", filepath.FromSlash(rel))
}

// isolatedHome returns environment entries that point HOME and the XDG
// directories at a fresh temporary directory, so no package manager reads or
// writes a developer's configuration, cache or store, plus the npm
// environment of the registry (which yarn classic and bun also read).
func isolatedHome(t *testing.T) (string, []string) {
	t.Helper()
	home := t.TempDir()
	env := append([]string{}, shared.npm...)
	env = append(env,
		"HOME="+home,
		"USERPROFILE="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"XDG_STATE_HOME="+filepath.Join(home, ".local", "state"),
		"NO_COLOR=1",
		"DO_NOT_TRACK=1",
	)
	return home, env
}

// ignoringLibc names the platform packages a package manager that ignores
// the libc field installs on h: every build for its os and cpu.
func ignoringLibc(h platforms.Host) []string {
	var out []string
	for _, tg := range platforms.Table {
		if tg.OS == h.OS && tg.CPU == h.CPU {
			out = append(out, platformPackage(tg.Name))
		}
	}
	slices.Sort(out)
	return out
}

// TestPackageManagers installs agent-facets@version with pnpm, yarn (classic
// and berry) and bun, each from its pinned npm package, reaching only the
// local registry and keeping its cache and store in a temporary home. Each
// must install the platform packages listed, and the launcher must print
// the version and pick the build for this machine.
//
// What they install on linux-x64 with glibc, where the registry, like the
// public one, leaves libc out of the abbreviated packument:
//   - pnpm 12.4.2, yarn 4.18.1 and bun 1.4.4: cli-linux-x64 and
//     cli-linux-x64-baseline, exactly as npm 11 does;
//   - yarn 1.22.22: also cli-linux-x64-musl and cli-linux-x64-baseline-musl,
//     since yarn classic knows no libc field; the launcher still runs the
//     glibc build.
func TestPackageManagers(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: installs pnpm, yarn and bun from their npm packages on first use")
	}
	t.Parallel()
	h := host(t)
	release(t)
	spec := cli() + "@" + version
	tests := []struct {
		name    string
		want    []string
		install func(t *testing.T, project, home string, env []string) result
	}{
		{"pnpm", packagesFor(h), func(t *testing.T, project, home string, env []string) result {
			pnpm := tools.path(t, "pnpm/pnpm")
			env = append(env, "PNPM_CONFIG_UPDATE_NOTIFIER=false", "PNPM_CONFIG_MANAGE_PACKAGE_MANAGER_VERSIONS=false")
			// pnpm's default minimumReleaseAge (a day, not strict) lets the
			// just-published release in and records it in
			// pnpm-workspace.yaml's minimumReleaseAgeExclude.
			return run(t, project, env, pnpm, "add", spec,
				"--registry="+shared.reg.URL,
				"--store-dir="+filepath.Join(home, "pnpm-store"),
				"--state-dir="+filepath.Join(home, "pnpm-state"),
				"--reporter=append-only")
		}},
		{"yarn-classic", ignoringLibc(h), func(t *testing.T, project, home string, env []string) result {
			yarn := tools.path(t, "yarn/bin/yarn.js")
			env = append(env, "YARN_DISABLE_SELF_UPDATE_CHECK=true")
			return run(t, project, env, "node", yarn, "add", spec,
				"--registry", shared.reg.URL,
				"--cache-folder", filepath.Join(home, "yarn-cache"),
				"--non-interactive", "--no-progress")
		}},
		{"yarn-berry", packagesFor(h), func(t *testing.T, project, home string, env []string) result {
			yarn := tools.path(t, "@yarnpkg/cli-dist/bin/yarn.js")
			// Yarn 4 refuses versions younger than npmMinimalAgeGate (a day
			// by default: "All versions satisfying ... are quarantined"); a
			// user installing a fresh release sets it, or waits.
			rc := fmt.Sprintf(`npmRegistryServer: %q
unsafeHttpWhitelist:
  - "127.0.0.1"
nodeLinker: node-modules
enableGlobalCache: false
cacheFolder: %q
enableTelemetry: false
npmMinimalAgeGate: 0
`, strings.TrimSuffix(shared.reg.URL, "/"), filepath.Join(home, "yarn-cache"))
			if err := os.WriteFile(filepath.Join(project, ".yarnrc.yml"), []byte(rc), 0o644); err != nil {
				t.Fatal(err)
			}
			env = append(env, "YARN_ENABLE_IMMUTABLE_INSTALLS=false", "YARN_GLOBAL_FOLDER="+filepath.Join(home, "yarn-global"))
			return run(t, project, env, "node", yarn, "add", spec)
		}},
		{"bun", packagesFor(h), func(t *testing.T, project, home string, env []string) result {
			bun := bunTool.path(t, ".bin/bun")
			env = append(env,
				"BUN_CONFIG_REGISTRY="+shared.reg.URL,
				"BUN_INSTALL="+filepath.Join(home, ".bun"),
				"BUN_INSTALL_CACHE_DIR="+filepath.Join(home, "bun-cache"))
			return run(t, project, env, bun, "add", spec)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home, env := isolatedHome(t)
			project := newProject(t)
			if r := tt.install(t, project, home, env); r.code != 0 {
				t.Fatalf("%s", r)
			}
			assertPackages(t, tt.name, project, tt.want)
			assertVersion(t, project)
			assertLauncherChoice(t, project, h)
		})
	}
}
