package ciconfig

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// parserDir pins @circleci/circleci-config-parser (package.json and its lock
// file) and holds validate.js, which runs it.
const parserDir = "testdata/parser"

const parserPackage = "@circleci/circleci-config-parser"

// parserSummary is what validate.js prints.
type parserSummary struct {
	Version       float64 `json:"version"`
	Jobs          []string
	RoundTripJobs []string `json:"roundTripJobs"`
	Workflows     map[string][]struct {
		Job      string
		Name     *string
		Requires []string
		Context  []string
		Matrix   map[string][]string
	}
}

// npmEnv is an environment for npm that reads no configuration of the
// developer's and caches in a temporary directory.
func npmEnv(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	user, global := filepath.Join(dir, "user.npmrc"), filepath.Join(dir, "global.npmrc")
	for _, f := range []string{user, global} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(strings.ToUpper(kv), "NPM_CONFIG_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"NPM_CONFIG_USERCONFIG="+user,
		"NPM_CONFIG_GLOBALCONFIG="+global,
		"NPM_CONFIG_CACHE="+filepath.Join(dir, "cache"),
		"NPM_CONFIG_UPDATE_NOTIFIER=false",
	)
}

// installParser runs `npm ci` in parserDir unless the pinned parser is
// already installed there. It skips the test when node or npm is missing or
// the install fails (no network), saying why.
func installParser(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found: cannot validate the CircleCI configuration with " + parserPackage)
	}
	var pinned struct {
		Dependencies map[string]string
	}
	data, err := os.ReadFile(filepath.Join(parserDir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &pinned); err != nil {
		t.Fatalf("%s/package.json: %v", parserDir, err)
	}
	want := pinned.Dependencies[parserPackage]
	var installed struct{ Version string }
	if data, err := os.ReadFile(filepath.Join(parserDir, "node_modules", parserPackage, "package.json")); err == nil {
		_ = json.Unmarshal(data, &installed)
	}
	if strings.TrimPrefix(installed.Version, "v") == want {
		return node
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm not found: cannot install " + parserPackage + "@" + want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = parserDir
	cmd.Env = npmEnv(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot install %s@%s with npm ci in %s (%v), so the CircleCI configuration is not validated by it:\n%s",
			parserPackage, want, parserDir, err, lastLines(out, 10))
	}
	return node
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// parse runs validate.js on data and returns its summary or its error text.
func parse(t *testing.T, node string, data []byte) (*parserSummary, string, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "validate.js", file)
	cmd.Dir = parserDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, stderr.String(), err
	}
	var s parserSummary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("validate.js printed %q: %v", stdout.String(), err)
	}
	return &s, stderr.String(), nil
}

func TestCircleCIParserAcceptsConfig(t *testing.T) {
	node := installParser(t)
	for _, tc := range configs(t) {
		t.Run(tc.name, func(t *testing.T) {
			out, err := CircleCI(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			s, stderr, err := parse(t, node, out)
			if err != nil {
				t.Fatalf("%s rejects the generated configuration: %v\n%s", parserPackage, err, stderr)
			}
			wantJobs := []string{BuildJob, PlatformJob, CLIJob, AdaptersJob, StatusJob}
			if s.Version != 2.1 || !reflect.DeepEqual(s.Jobs, wantJobs) || !reflect.DeepEqual(s.RoundTripJobs, wantJobs) {
				t.Errorf("parsed version %v, jobs %v, round-trip jobs %v; want 2.1 and %v", s.Version, s.Jobs, s.RoundTripJobs, wantJobs)
			}
			wf := s.Workflows[WorkflowName]
			if len(wf) != len(wantJobs) {
				t.Fatalf("workflow %s has %d jobs, want %d: %+v", WorkflowName, len(wf), len(wantJobs), wf)
			}
			plat, cli := wf[1], wf[2]
			if plat.Job != PlatformJob || plat.Name == nil || *plat.Name != PlatformJob+"-<< matrix.target >>" {
				t.Errorf("second workflow job = %+v, want the publish-platform matrix", plat)
			}
			if !reflect.DeepEqual(plat.Matrix["target"], tc.cfg.Targets) {
				t.Errorf("parsed matrix targets = %v, want %v", plat.Matrix["target"], tc.cfg.Targets)
			}
			if !reflect.DeepEqual(plat.Context, []string{DefaultCircleCIContext}) {
				t.Errorf("parsed matrix context = %v", plat.Context)
			}
			if cli.Job != CLIJob || len(cli.Requires) != len(tc.cfg.Targets)+1 || cli.Requires[len(cli.Requires)-1] != AdaptersJob {
				t.Errorf("parsed publish-cli = %+v, want it to require %d platform jobs and %s", cli, len(tc.cfg.Targets), AdaptersJob)
			}
			if libs := s.Workflows[LibraryWorkflow]; len(libs) != 1 || libs[0].Job != AdaptersJob {
				t.Errorf("parsed workflow %s = %+v, want %s alone", LibraryWorkflow, libs, AdaptersJob)
			}
		})
	}
}

// TestCircleCIParserRejects shows the parser is a real check: it rejects a
// workflow that names a job the configuration does not define, and a run
// step without a command.
func TestCircleCIParserRejects(t *testing.T) {
	node := installParser(t)
	good, err := CircleCI(loadConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unknown job", "      - release-status:\n          requires:", "      - release-statu:\n          requires:", "Job release-statu not found"},
		{"run without command", "          command: go tool mage publishCLI\n", "", "Failed to validate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := bytes.Replace(good, []byte(tc.old), []byte(tc.new), 1)
			if bytes.Equal(bad, good) {
				t.Fatal("the edit changed nothing")
			}
			_, stderr, err := parse(t, node, bad)
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("parser accepted the broken configuration (err %v)", err)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("parser error %q does not mention %q", stderr, tc.want)
			}
		})
	}
}
