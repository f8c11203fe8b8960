package npm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/platforms"
)

func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH: install Node.js 18 or newer to run the launcher's tests")
	}
	return node
}

// launcherEnv is the environment for running the launcher: this process's,
// without an override that would bypass resolution.
func launcherEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FACET_BIN_PATH=") {
			env = append(env, kv)
		}
	}
	return env
}

// TestLauncherJS runs the launcher's own tests (node --test) so that
// `go test` covers the JavaScript too.
func TestLauncherJS(t *testing.T) {
	node := needNode(t)
	files, err := filepath.Glob(filepath.Join("launcher", "test", "*.test.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no launcher tests found under launcher/test (err %v)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Files are listed explicitly: Node 21+ reads a directory argument as a
	// glob pattern rather than a directory to search.
	cmd := exec.CommandContext(ctx, node, append([]string{"--test"}, files...)...)
	cmd.Env = launcherEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test %s: %v\n%s", strings.Join(files, " "), err, out)
	}
	if !bytes.Contains(out, []byte("# fail 0")) {
		t.Fatalf("node --test passed without reporting its results:\n%s", out)
	}
}

// TestMessagesMatchJS checks that Go renders the message catalogue exactly
// as lib/messages.js does.
func TestMessagesMatchJS(t *testing.T) {
	m := fixtureManifest()
	goMsgs, err := Messages(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(goMsgs) == 0 {
		t.Fatal("no messages")
	}
	causes, err := Causes(m)
	if err != nil {
		t.Fatal(err)
	}
	reinstall := map[string][]string{
		"npm":        {"rm -rf {packageDir} && npm install"},
		"npm-global": {"npm install -g agent-facets@1.2.3"},
		"npx":        {"rm -rf {root}"},
		"pnpm":       {"rm -rf node_modules && pnpm install"},
		"yarn":       {"yarn install --force"},
		"yarn-berry": {"rm -rf {packageDir} && yarn install"},
		"yarn-pnp":   {"rm -rf .yarn/unplugged && yarn install"},
		"bun":        {"bun pm cache rm && bun install --force"},
	}
	wantFixes := map[string]map[string][]string{
		"omitOptional": {
			"npm":        {"npm install --include=optional"},
			"npm-global": {"npm install -g agent-facets@1.2.3"},
			"npx":        {"rm -rf {root}"},
			"pnpm":       {"pnpm install"},
			"yarn":       {"yarn install --force"},
			"yarn-berry": {"yarn install"},
			"yarn-pnp":   {"yarn install"},
			"bun":        {"bun install"},
		},
		"lockfileOtherOS": {"npm": {"rm -rf node_modules package-lock.json && npm install"}},
		"copiedNodeModules": {
			"npm":        {"rm -rf node_modules && npm install"},
			"npm-global": {"npm install -g agent-facets@1.2.3"},
			"npx":        {"rm -rf {root}"},
			"pnpm":       {"rm -rf node_modules && pnpm install"},
			"yarn":       {"rm -rf node_modules && yarn install"},
			"yarn-berry": {"rm -rf node_modules && yarn install"},
			"yarn-pnp":   {"rm -rf .yarn/unplugged && yarn install"},
			"bun":        {"rm -rf node_modules && bun install"},
		},
		"versionMismatch": {
			"npm":        {"npm install agent-facets@1.2.3"},
			"npm-global": {"npm install -g agent-facets@1.2.3"},
			"npx":        {"rm -rf {root}"},
			"pnpm":       {"pnpm add agent-facets@1.2.3"},
			"yarn":       {"yarn add agent-facets@1.2.3"},
			"yarn-berry": {"yarn add agent-facets@1.2.3"},
			"yarn-pnp":   {"yarn add agent-facets@1.2.3"},
			"bun":        {"bun add agent-facets@1.2.3"},
		},
		"versionPinned": {
			"npm":        {"npm install"},
			"pnpm":       {"pnpm install"},
			"yarn":       {"yarn install"},
			"yarn-berry": {"yarn install"},
			"yarn-pnp":   {"yarn install"},
			"bun":        {"bun install"},
		},
		"reinstallPackage": reinstall,
		"lostExecute":      {"posix": {"chmod +x {path}"}},
		"unsupportedPlatform": {
			"posix":   {"export FACET_BIN_PATH=/path/to/facet"},
			"windows": {`$env:FACET_BIN_PATH = "C:\path\to\facet.exe"`, `set FACET_BIN_PATH=C:\path\to\facet.exe`},
		},
		"overrideBad": {
			"posix":   {"unset FACET_BIN_PATH"},
			"windows": {"Remove-Item Env:FACET_BIN_PATH", "set FACET_BIN_PATH="},
		},
	}
	runtime := map[string]bool{"path": true, "root": true, "packageDir": true, "pins": true}
	gotFixes := map[string]map[string][]string{}
	for _, c := range causes {
		gotFixes[c.ID] = c.Fixes
		strs := []string{c.Text}
		for _, fs := range c.Fixes {
			strs = append(strs, fs...)
		}
		for _, s := range strs {
			for _, p := range placeholderRE.FindAllStringSubmatch(s, -1) {
				if !runtime[p[1]] {
					t.Errorf("cause %s keeps a placeholder: %q", c.ID, s)
				}
			}
		}
	}
	if !reflect.DeepEqual(gotFixes, wantFixes) {
		t.Errorf("cause fixes = %v\nwant %v", gotFixes, wantFixes)
	}

	node := needNode(t)
	dir := t.TempDir()
	if err := WriteLauncher(dir, m); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	script := `const d = process.argv[1];
process.stdout.write(JSON.stringify(require(d + '/lib/messages.js').catalogFor(require(d + '/lib/manifest.json'))));`
	out, err := exec.CommandContext(ctx, node, "-e", script, dir).Output()
	if err != nil {
		t.Fatalf("node -e catalogFor: %v", err)
	}
	var jsMsgs []Message
	if err := json.Unmarshal(out, &jsMsgs); err != nil {
		t.Fatalf("decode catalogFor output: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(goMsgs, jsMsgs) {
		t.Errorf("Go and JS render the catalogue differently\nGo: %+v\nJS: %+v", goMsgs, jsMsgs)
	}
}

const standInSource = `package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	args := os.Args[1:]
	switch {
	case len(args) == 1 && args[0] == "--version":
		fmt.Println("facet 1.2.3")
	case len(args) == 2 && args[0] == "--exit":
		n, _ := strconv.Atoi(args[1])
		fmt.Fprintln(os.Stderr, "exiting with", n)
		os.Exit(n)
	default:
		fmt.Printf("args=%q\n", args)
	}
}
`

// buildStandIn compiles a tiny Go program for this machine into dir.
func buildStandIn(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	src := filepath.Join(dir, "standin-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module standin\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(standInSource), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "standin"+exeSuffix())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build stand-in: %v\n%s", err, b)
	}
	return out
}

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, mode); err != nil {
		t.Fatal(err)
	}
}

// TestLauncherRunsGoBinary writes the launcher with WriteLauncher into a
// node_modules layout, installs a Go-built stand-in as this machine's platform
// packages, and runs the real bin script: output and exit codes must pass
// through. It installs nothing from a registry.
func TestLauncherRunsGoBinary(t *testing.T) {
	node := needNode(t)
	host := platforms.DetectHost()
	cands := host.Candidates()
	if len(cands) == 0 {
		t.Skipf("no platform target for this machine (%s/%s)", host.OS, host.CPU)
	}
	root := t.TempDir()
	standIn := buildStandIn(t, root)
	m := fixtureManifest()
	nm := filepath.Join(root, "node_modules")
	cliDir := filepath.Join(nm, m.Name)
	if err := WriteLauncher(cliDir, m); err != nil {
		t.Fatal(err)
	}
	for _, tg := range cands {
		pkg := "@agent-facets/cli-" + tg.Name
		dir := filepath.Join(nm, filepath.FromSlash(pkg))
		copyFile(t, standIn, filepath.Join(dir, filepath.FromSlash(BinaryPath(tg, m.Binary))), 0o755)
		pj, _ := json.Marshal(map[string]string{"name": pkg, "version": m.Version})
		if err := os.WriteFile(filepath.Join(dir, "package.json"), pj, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name   string
		args   []string
		stdout string
		stderr string
		code   int
	}{
		{"version", []string{"--version"}, "facet 1.2.3\n", "", 0},
		{"exit code 3", []string{"--exit", "3"}, "", "exiting with 3\n", 3},
		{"exit code 42", []string{"--exit", "42"}, "", "exiting with 42\n", 42},
		{"arguments verbatim", []string{"a b", "", "--flag=x"}, "args=[\"a b\" \"\" \"--flag=x\"]\n", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(cliDir, "bin", m.Binary+".js")}, tt.args...)...)
			cmd.Dir = root
			cmd.Env = launcherEnv()
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || stdout.String() != tt.stdout || stderr.String() != tt.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr %q",
					code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}
