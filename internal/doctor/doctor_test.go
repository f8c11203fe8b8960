package doctor

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

func TestCompareGo(t *testing.T) {
	tests := []struct {
		have, want string
		level      Level
		detail     string
	}{
		{"go1.26.8", "1.26.8", Pass, "go1.26.8 (/m/go.mod requires go 1.26.8)"},
		{"go1.27rc1", "1.26.8", Pass, "go1.27rc1 (/m/go.mod requires go 1.26.8)"},
		{"go1.26.0", "1.26", Pass, "go1.26.0 (/m/go.mod requires go 1.26)"},
		{"go1.26.7", "1.26.8", Fail, "go1.26.7 is older than go 1.26.8, which /m/go.mod requires"},
		{"go1.9", "1.26", Fail, "go1.9 is older than go 1.26, which /m/go.mod requires"},
		{"go1.25.3", "", Pass, "go1.25.3 (no go.mod found to compare with)"},
		{"devel +abc", "1.26.8", Fail, "`go env GOVERSION` printed \"devel +abc\", not a Go version"},
	}
	for _, tt := range tests {
		mod := "/m/go.mod"
		if tt.want == "" {
			mod = ""
		}
		r := compareGo(tt.have, tt.want, mod)
		if r.Level != tt.level || r.Detail != tt.detail {
			t.Errorf("compareGo(%q, %q) = %v %q, want %v %q", tt.have, tt.want, r.Level, r.Detail, tt.level, tt.detail)
		}
		if r.Level == Fail && !strings.Contains(r.Fix, "https://go.dev/dl/") {
			t.Errorf("compareGo(%q, %q): fix %q does not say where Go comes from", tt.have, tt.want, r.Fix)
		}
	}
}

func TestCompareNode(t *testing.T) {
	tests := []struct {
		out    string
		level  Level
		detail string
	}{
		{"v20.20.2", Pass, "Node.js 20.20.2"},
		{"v20.17.0", Pass, "Node.js 20.17.0"},
		{"v24.1.0", Pass, "Node.js 24.1.0"},
		{"v20.16.0", Fail, "Node.js 20.16.0 is older than 20.17.0, the oldest that runs npm 11"},
		{"v18.19.1", Fail, "Node.js 18.19.1 is older than 20.17.0, the oldest that runs npm 11"},
		{"Welcome to Node", Fail, "`node --version` printed \"Welcome to Node\", not a version"},
	}
	for _, tt := range tests {
		r := compareNode(tt.out)
		if r.Level != tt.level || r.Detail != tt.detail {
			t.Errorf("compareNode(%q) = %v %q, want %v %q", tt.out, r.Level, r.Detail, tt.level, tt.detail)
		}
		if r.Level == Fail && !strings.Contains(r.Fix, "install Node.js 20.17.0 or newer") {
			t.Errorf("compareNode(%q): fix %q", tt.out, r.Fix)
		}
	}
}

func TestGoModVersion(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("// comment\nmodule example.com/x\n\ngo 1.26.8\n\ntoolchain go1.27.0\n"), 0o644)
	sub := filepath.Join(dir, "a", "b")
	os.MkdirAll(sub, 0o755)
	path, v := goModVersion(sub)
	if path != filepath.Join(dir, "go.mod") || v != "1.26.8" {
		t.Errorf("goModVersion = %q, %q", path, v)
	}
}

// writeConfig writes the repository's release.json with build.command
// replaced (a tool this machine has, unless the test says otherwise) and
// extra keys merged in.
func writeConfig(t *testing.T, command []string, extra map[string]any) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(toolkittest.RepoRoot(), "release.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["build"] = map[string]any{"command": command}
	for k, v := range extra {
		m[k] = v
	}
	data, _ = json.Marshal(m)
	path := filepath.Join(t.TempDir(), "release.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// toolPath returns a PATH with only the directories of go, node and npm,
// and the stand-in directories first.
func toolPath(t *testing.T, first ...string) string {
	t.Helper()
	dirs := append([]string{}, first...)
	for _, tool := range []string{"go", "node", "npm"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s is not installed", tool)
		}
		if d := filepath.Dir(p); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return strings.Join(dirs, string(os.PathListSeparator))
}

// standIns writes an npm that says it is 10.9.0 and otherwise runs the
// real npm, and a circleci that does nothing; each in its own directory.
func standIns(t *testing.T) (oldNPM, circleci string) {
	t.Helper()
	real, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed")
	}
	oldNPM, circleci = t.TempDir(), t.TempDir()
	script := "#!/bin/sh\nif [ \"$1\" = \"--version\" ]; then echo 10.9.0; exit 0; fi\nexec '" + real + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(oldNPM, "npm"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(circleci, "circleci"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return oldNPM, circleci
}

type result struct {
	results []Result
	out     string
	err     error
}

func (o result) level(name string) []Level {
	var ls []Level
	for _, r := range o.results {
		if r.Name == name {
			ls = append(ls, r.Level)
		}
	}
	return ls
}

// doctor runs the checks with the process environment plus env.
func doctor(t *testing.T, cfgPath string, env ...string) result {
	t.Helper()
	var buf toolkittest.Buffer
	rs, err := Run(t.Context(), Options{
		Facts:  toolkittest.Facts(append(env, "RELEASE_CONFIG="+cfgPath)...),
		ModDir: toolkittest.RepoRoot(),
		Reg:    &registry.Client{AttemptTimeout: 5 * time.Second, MaxElapsed: 5 * time.Second},
		Out:    report.Plain(&buf),
	})
	return result{rs, buf.String(), err}
}

// TestDoctor runs every check against a local registry: the happy path,
// an npm too old, logged out (off CI and on CI), on CircleCI with and
// without the circleci CLI, a bad configuration, a missing build tool, and
// finally the registry down.
func TestDoctor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local registry")
	}
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "maintainer")
	url := strings.TrimSuffix(reg.URL, "/") + "/"
	oldNPM, circleci := standIns(t)
	goodConfig := writeConfig(t, []string{"go", "build", "-o", "{out}", "."}, nil)

	type check struct {
		name  string
		level Level
	}
	tests := []struct {
		name     string
		loggedIn bool
		onCI     bool     // CIRCLECI=true
		path     []string // stand-in directories first on PATH
		config   string
		fails    []string // names of the failed checks, in order
		levels   []check
		lines    []string // must appear in the output
	}{
		{
			name: "ready", loggedIn: true, config: goodConfig,
			levels: []check{{"config", Pass}, {"Go", Pass}, {"Node.js", Pass}, {"npm", Pass}, {"registry", Pass}, {"npm login", Pass}, {"circleci CLI", Skip}, {"build tool", Pass}},
			lines: []string{
				"✓ config: " + goodConfig + " is valid: agent-facets with 12 targets, trusted publishing from circleci\n",
				"✓ Go: go1.", "requires go 1.26",
				"✓ npm: npm 11.", "(new enough for trusted publishing from CircleCI, where the release publishes)\n",
				"✓ registry: " + url + " answers (",
				"✓ npm login: logged in to " + url + " as maintainer (seeding and trust setup can run)\n",
				"~ circleci CLI: not needed: not on CircleCI\n",
				"✓ build tool: go found at ",
				"\nReady for a release.\n",
			},
		},
		{
			name: "npm too old", loggedIn: true, config: goodConfig, path: []string{oldNPM},
			fails:  []string{"npm"},
			levels: []check{{"npm", Fail}, {"npm login", Pass}},
			lines: []string{
				"✗ npm: npm 10.9.0 is too old for trusted publishing from CircleCI, where the release publishes\n",
				"    fix: npm 10.9.0 is installed but trusted publishing from CircleCI needs npm 11.11.0 or newer",
				"npm install -g npm@^11.11.0",
			},
		},
		{
			name: "npm too old on CircleCI", loggedIn: true, onCI: true, config: goodConfig, path: []string{oldNPM, circleci},
			fails:  []string{"npm"},
			levels: []check{{"npm", Fail}, {"circleci CLI", Pass}},
			lines:  []string{"✗ npm: npm 10.9.0 is too old for trusted publishing on CircleCI\n", "✓ circleci CLI: found at " + filepath.Join(circleci, "circleci") + "\n"},
		},
		{
			name: "logged out", config: goodConfig,
			fails:  []string{"npm login"},
			levels: []check{{"registry", Pass}, {"npm login", Fail}},
			lines: []string{
				"✗ npm login: not logged in to " + url + ": seeding and trust setup need a maintainer's login\n",
				"    fix: npm login --registry " + url + " (a personal account with publish rights on the scope)\n",
			},
		},
		{
			name: "logged out on CircleCI", onCI: true, config: goodConfig, path: []string{circleci},
			levels: []check{{"npm login", Warn}, {"circleci CLI", Pass}},
			lines: []string{
				"! npm login: not logged in to " + url + ": seeding and trust setup need a maintainer's login (CI publishes with trusted publishing and needs none)\n",
				"    fix: npm login --registry " + url,
				"\nReady for a release, with 1 warning(s) above.\n",
			},
		},
		{
			name: "CircleCI without its CLI", loggedIn: true, onCI: true, config: goodConfig,
			fails:  []string{"circleci CLI"},
			levels: []check{{"circleci CLI", Fail}},
			lines: []string{
				"✗ circleci CLI: circleci is not on PATH; publishing mints its token with `circleci run oidc get`\n",
				"    fix: use a CircleCI image that has the circleci CLI, or install it in the job before publishing\n",
			},
		},
		{
			name: "bad config", loggedIn: true, config: writeConfig(t, []string{"go", "build", "-o", "{out}"}, map[string]any{"targets": []string{"linux-x64", "plan9-x64"}}),
			fails:  []string{"config"},
			levels: []check{{"config", Fail}, {"registry", Pass}, {"npm login", Pass}, {"build tool", Skip}},
			lines:  []string{"✗ config: ", "targets", "plan9-x64", "    fix: correct ", "~ build tool: not checked: the configuration is not valid\n"},
		},
		{
			name: "build tool missing", loggedIn: true, config: writeConfig(t, []string{"no-such-compiler", "-o", "{out}"}, nil),
			fails:  []string{"build tool"},
			levels: []check{{"build tool", Fail}},
			lines:  []string{"✗ build tool: no-such-compiler (build.command[0] in ", "is not installed or not on PATH\n", "    fix: install no-such-compiler and put it on PATH, or change build.command in "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := ""
			if tt.loggedIn {
				tok = token
			}
			env := append(reg.NpmEnv(t, tok), "PATH="+toolPath(t, tt.path...))
			if tt.onCI {
				env = append(env, "CIRCLECI=true", "CI=true")
			}
			if len(tt.path) == 0 && tt.onCI {
				if p, err := exec.LookPath("circleci"); err == nil {
					t.Skipf("a real circleci is on PATH next to go, node or npm: %s", p)
				}
			}
			o := doctor(t, tt.config, env...)
			checkOutcome(t, o, tt.fails)
			for _, c := range tt.levels {
				if got := o.level(c.name); len(got) != 1 || got[0] != c.level {
					t.Errorf("%s: levels %v, want [%v]\n%s", c.name, got, c.level, o.out)
				}
			}
			for _, l := range tt.lines {
				if !strings.Contains(o.out, l) {
					t.Errorf("output lacks %q\n--- output ---\n%s", l, o.out)
				}
			}
		})
	}

	t.Run("registry down", func(t *testing.T) {
		env := append(reg.NpmEnv(t, token), "PATH="+toolPath(t))
		reg.Stop()
		o := doctor(t, goodConfig, env...)
		checkOutcome(t, o, []string{"registry"})
		for _, l := range []string{
			"✗ registry: registry " + url + " is not answering: ",
			"connection refused",
			"    fix: check the URL (`npm config get registry`, or @scope:registry), the network and any proxy",
			"~ npm login: not checked: " + url + " is not reachable\n",
		} {
			if !strings.Contains(o.out, l) {
				t.Errorf("output lacks %q\n--- output ---\n%s", l, o.out)
			}
		}
	})
}

// checkOutcome checks the error against the failed checks: none, or
// ErrFailed naming each.
func checkOutcome(t *testing.T, o result, fails []string) {
	t.Helper()
	if len(fails) == 0 {
		if o.err != nil {
			t.Fatalf("Run: %v\n%s", o.err, o.out)
		}
		return
	}
	if !errors.Is(o.err, ErrFailed) {
		t.Fatalf("Run error = %v, want ErrFailed\n%s", o.err, o.out)
	}
	var names []string
	for _, r := range o.results {
		if r.Level == Fail {
			names = append(names, r.Name)
		}
	}
	if !slices.Equal(names, fails) {
		t.Errorf("failed checks %v, want %v\n%s", names, fails, o.out)
	}
	want := "(" + strings.Join(fails, ", ") + "); fix them as shown above and run `mage doctor` again"
	if !strings.Contains(o.err.Error(), want) {
		t.Errorf("error %q lacks %q", o.err, want)
	}
}
