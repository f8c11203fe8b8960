package install_test

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/agent-facets/release/platforms"
)

// npmInstall runs `npm install agent-facets@version` plus flags in a new
// project and returns the project.
func npmInstall(t *testing.T, flags ...string) string {
	t.Helper()
	release(t)
	project := newProject(t)
	args := append([]string{"install", cli() + "@" + version, "--no-audit", "--no-fund", "--loglevel=error"}, flags...)
	mustRun(t, project, shared.npm, "npm", args...)
	return project
}

// TestNpmInstallOnThisMachine installs the CLI as a user would and runs it:
// npm installs exactly the platform packages whose os, cpu and libc match
// this machine (on x64 both the AVX2 build and its -baseline twin, which
// differ only in name), `npx facet --version` prints the release's version,
// and the launcher picks the build this CPU should run, falling back to the
// next one when a build dies of SIGILL.
func TestNpmInstallOnThisMachine(t *testing.T) {
	t.Parallel()
	h := host(t)
	project := npmInstall(t)

	want := packagesFor(h)
	assertPackages(t, "npm install", project, want)
	if h.CPU == "x64" && len(want) != 2 {
		t.Errorf("on x64 npm should install the AVX2 build and its -baseline twin, got %v", want)
	}

	r := mustRun(t, project, shared.npm, "npx", "--no", "--", shared.cfg.CLI.Binary, "--version")
	if got := strings.TrimSpace(r.stdout); got != version {
		t.Errorf("npx facet --version printed %q, want %q\n%s", got, version, r)
	}
	if r.stderr != "" {
		t.Errorf("npx facet --version wrote to stderr:\n%s", r.stderr)
	}

	if runtime.GOOS == "windows" {
		return // the stand-ins below are shell scripts
	}
	assertLauncherChoice(t, project, h)
	cands := h.Candidates()
	if len(cands) < 2 {
		return
	}
	// The preferred build dies of SIGILL (an AVX2 build on a CPU without
	// it): the launcher says so once and runs the next one.
	writeStandIn(t, project, cands[0].Name, "#!/bin/sh\nkill -ILL $$\n")
	r = facet(t, project)
	c := newCatalogue(t, manifest(t, project))
	notice := c.text("notice", "sigillFallback", map[string]string{
		"from": platformPackage(cands[0].Name), "to": platformPackage(cands[1].Name),
	})
	if r.code != 0 || strings.TrimSpace(r.stdout) != cands[1].Name || r.stderr != notice+"\n" {
		t.Errorf("after SIGILL: want %s on stdout and only %q on stderr\n%s", cands[1].Name, notice, r)
	}
}

// assertLauncherChoice replaces every installed platform binary with a
// stand-in script that prints its target, runs the launcher and checks that
// it ran the best build for this machine: the full build with AVX2, the
// -baseline one without, and never another C library's.
func assertLauncherChoice(t *testing.T, project string, h platforms.Host) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	for _, name := range installedPlatformPackages(t, project) {
		target := strings.TrimPrefix(name, shared.scope+"/"+shared.cfg.CLI.PlatformPrefix)
		writeStandIn(t, project, target, "#!/bin/sh\necho "+target+"\n")
	}
	want := h.Candidates()[0]
	if h.AVX2 && want.Baseline {
		t.Errorf("with AVX2 the best candidate is %s", want.Name)
	}
	r := facet(t, project)
	if got := strings.TrimSpace(r.stdout); r.code != 0 || got != want.Name {
		t.Errorf("the launcher ran %q, want %s (AVX2 %v)\n%s", got, want.Name, h.AVX2, r)
	}
}

// writeStandIn replaces the installed binary of a target with a script,
// wherever the package manager put the package.
func writeStandIn(t *testing.T, project, target, script string) {
	t.Helper()
	tg, err := platforms.Lookup(target)
	if err != nil {
		t.Fatal(err)
	}
	dir, ok := installed(t, project)[platformPackage(target)]
	if !ok {
		t.Fatalf("%s is not installed", platformPackage(target))
	}
	p := filepath.Join(dir, "bin", tg.BinaryName(shared.cfg.CLI.Binary))
	// Remove first: the file may be a hard link into a package store.
	if err := os.Remove(p); err != nil {
		t.Fatalf("replace the installed binary: %v", err)
	}
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestNpmInstallForOtherPlatforms uses npm's --os, --cpu and --libc install
// flags: each selects exactly the platform packages of that machine. Run
// here, a project installed for another machine fails with the launcher's
// "copied node_modules" message naming what it found instead.
func TestNpmInstallForOtherPlatforms(t *testing.T) {
	t.Parallel()
	here := host(t)
	tests := []struct {
		name  string
		flags []string
		as    platforms.Host
		want  []string // targets
	}{
		{"linux-x64-musl", []string{"--os=linux", "--cpu=x64", "--libc=musl"},
			platforms.Host{OS: "linux", CPU: "x64", Libc: platforms.Musl},
			[]string{"linux-x64-musl", "linux-x64-baseline-musl"}},
		{"darwin-arm64", []string{"--os=darwin", "--cpu=arm64"},
			platforms.Host{OS: "darwin", CPU: "arm64"},
			[]string{"darwin-arm64"}},
		{"windows-x64", []string{"--os=win32", "--cpu=x64"},
			platforms.Host{OS: "win32", CPU: "x64"},
			[]string{"windows-x64", "windows-x64-baseline"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			project := npmInstall(t, tt.flags...)
			var want []string
			for _, n := range tt.want {
				want = append(want, platformPackage(n))
			}
			slices.Sort(want)
			if got := packagesFor(tt.as); !slices.Equal(got, want) {
				t.Fatalf("the platform table gives %v for %s, the test expects %v", got, tt.name, want)
			}
			assertPackages(t, "npm install "+strings.Join(tt.flags, " "), project, want)

			if tt.as.OS == here.OS && tt.as.CPU == here.CPU && tt.as.Libc == here.Libc {
				return // installed for this very machine: nothing to report
			}
			m := manifest(t, project)
			c := newCatalogue(t, m)
			var found []string
			for _, p := range m.Packages { // the launcher lists them in table order
				if slices.Contains(want, p.Package) {
					found = append(found, p.Package)
				}
			}
			root := realpath(t, project)
			wantText := lines(
				[]string{c.text("headline", "copiedNodeModules", map[string]string{"host": hostLabel(here)})},
				listBlock("Looked for:", launcherOrder(here)),
				listBlock("Found instead:", found),
				[]string{c.text("notice", "installedWith", map[string]string{"manager": c.label("npm"), "root": root})},
				causes(c.cause("copiedNodeModules", "npm", "", nil)),
			)
			// Literally too, so that a change of the catalogue shows here.
			for _, s := range []string{
				"node_modules was installed on another machine or OS (for example outside a container) and copied here.",
				"Installed with npm in " + root + ".\n",
				"    Fix: rm -rf node_modules && npm install\n",
			} {
				if !strings.Contains(wantText, s) {
					t.Errorf("the expected message lacks %q:\n%s", s, wantText)
				}
			}
			r := facet(t, project, "--version")
			assertMessage(t, r, wantText)
			mustRun(t, project, shared.npm, "sh", "-c", printedFix(t, r.stderr))
			assertVersion(t, project)
		})
	}
}

// TestNpmOmitOptional installs with --omit=optional: no platform package
// arrives, and the launcher exits non-zero naming the packages it looked for,
// the skipped optional dependencies as the likely cause, and the commands
// that fix it.
func TestNpmOmitOptional(t *testing.T) {
	t.Parallel()
	here := host(t)
	project := npmInstall(t, "--omit=optional")
	assertPackages(t, "npm install --omit=optional", project, nil)

	c := newCatalogue(t, manifest(t, project))
	want := lines(
		[]string{c.text("headline", "notInstalled", map[string]string{"host": hostLabel(here)})},
		listBlock("Looked for:", launcherOrder(here)),
		[]string{c.text("notice", "installedWith", map[string]string{"manager": c.label("npm"), "root": realpath(t, project)})},
		causes(c.cause("omitOptional", "npm", "", nil), c.cause("lockfileOtherOS", "npm", "", nil)),
		[]string{c.text("notice", "overrideHint", nil)},
	)
	// The fixes, literally, so that a change of the catalogue shows here too.
	for _, s := range []string{
		"    Fix: npm install --include=optional\n",
		"(npm install --omit=optional or --no-optional, pnpm install --no-optional, yarn install --ignore-optional, bun install --omit=optional, or the same setting in a configuration file)",
		"To run a facet binary from elsewhere, set FACET_BIN_PATH to its path.",
	} {
		if !strings.Contains(want, s) {
			t.Errorf("the expected message lacks %q:\n%s", s, want)
		}
	}
	r := facet(t, project, "--version")
	assertMessage(t, r, want)
	// The printed fix installs the platform packages.
	mustRun(t, project, shared.npm, "sh", "-c", printedFix(t, r.stderr))
	assertPackages(t, "the printed fix", project, packagesFor(here))
	assertVersion(t, project)
}
