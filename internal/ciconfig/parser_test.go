package ciconfig

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/command"
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
	Commands      []string
	Steps         map[string][]string
	Workflows     map[string][]struct {
		Job         string
		Name        *string
		Requires    []string
		Context     []string
		Matrix      map[string][]string
		SerialGroup *string `json:"serialGroup"`
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
	node, err := runner.LookPath("node")
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
	if _, err := runner.LookPath("npm"); err != nil {
		t.Skip("npm not found: cannot install " + parserPackage + "@" + want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	npm := &command.Runner{Environ: npmEnv(t)}
	if _, err := npm.Output(ctx, command.Cmd{Name: "npm", Args: []string{"ci", "--ignore-scripts", "--no-audit", "--no-fund"}, Dir: parserDir, Output: &out}); err != nil {
		t.Skipf("cannot install %s@%s with npm ci in %s (%v), so the CircleCI configuration is not validated by it:\n%s",
			parserPackage, want, parserDir, err, lastLines(out.Bytes(), 10))
	}
	return node
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

var runner = &command.Runner{Environ: os.Environ()}

// parse runs validate.js on data and returns its summary or its error text.
func parse(t *testing.T, node string, data []byte) (*parserSummary, string, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stdout, err := runner.Output(ctx, command.Cmd{Name: node, Args: []string{"validate.js", file}, Dir: parserDir})
	if err != nil {
		if e, ok := command.AsError(err); ok {
			return nil, e.Stderr, err
		}
		return nil, "", err
	}
	var s parserSummary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("validate.js printed %q: %v", stdout, err)
	}
	return &s, "", nil
}

func TestCircleCIParserAcceptsConfig(t *testing.T) {
	t.Parallel()
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
			if s.Version != 2.1 || !reflect.DeepEqual(s.Jobs, jobNames) || !reflect.DeepEqual(s.RoundTripJobs, jobNames) {
				t.Errorf("parsed version %v, jobs %v, round-trip jobs %v; want 2.1 and %v", s.Version, s.Jobs, s.RoundTripJobs, jobNames)
			}
			if want := []string{"setup", "npm", "toolkit", "bun", "oidc-check", "notify-failure"}; !reflect.DeepEqual(s.Commands, want) {
				t.Errorf("parsed commands %v, want %v", s.Commands, want)
			}
			if got := s.Steps[CLIJob]; !reflect.DeepEqual(got, []string{"setup", "npm", "toolkit", "oidc-check", "run", "notify-failure"}) {
				t.Errorf("parsed publish-cli steps %v", got)
			}
			if got := s.Steps[PlatformJob]; len(got) < 3 || got[2] != "toolkit" || got[3] != "bun" {
				t.Errorf("parsed publish-platform steps %v", got)
			}
			graph := jobsOf(t, tc.cfg)
			for _, wf := range []string{WorkflowName, LibraryWorkflow} {
				parsed := map[string]int{}
				for i, e := range s.Workflows[wf] {
					parsed[e.Job] = i
				}
				for _, j := range graph {
					if j.Workflow != wf {
						continue
					}
					i, ok := parsed[j.Definition]
					if !ok {
						t.Errorf("the parser finds no %s in workflow %s", j.Definition, wf)
						continue
					}
					e := s.Workflows[wf][i]
					sg := ""
					if e.SerialGroup != nil {
						sg = *e.SerialGroup
					}
					if !reflect.DeepEqual(e.Context, j.Contexts) || sg != j.SerialGroup {
						t.Errorf("parsed %s/%s: context %v, serial group %q; want %v, %q", wf, j.Definition, e.Context, sg, j.Contexts, j.SerialGroup)
					}
					if j.Definition == PlatformJob {
						if e.Name == nil || *e.Name != PlatformJob+"-<< matrix.target >>" || !reflect.DeepEqual(e.Matrix["target"], tc.cfg.Targets) {
							t.Errorf("parsed matrix entry %+v", e)
						}
					} else if len(e.Requires) != len(j.Requires) {
						t.Errorf("parsed %s/%s requires %v, want %v", wf, j.Definition, e.Requires, j.Requires)
					}
				}
			}
		})
	}
}

// TestCircleCIParserRejects shows the parser is a real check: it rejects a
// workflow that names a job the configuration does not define, a run step
// without a command, and a step naming a command that is not defined.
func TestCircleCIParserRejects(t *testing.T) {
	t.Parallel()
	node := installParser(t)
	good, err := CircleCI(loadConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unknown job", "      - release-status:\n          context:", "      - release-statu:\n          context:", "Job release-statu not found"},
		{"run without command", "          command: " + ToolkitBinary + " publishCLI\n", "", "Failed to validate"},
		{"unknown command", "      - oidc-check: {}\n", "      - oidc-chek: {}\n", "oidc-chek"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := bytes.Replace(good, []byte(tc.old), []byte(tc.new), 1)
			if bytes.Equal(bad, good) {
				t.Fatal("the edit changed nothing")
			}
			_, stderr, err := parse(t, node, bad)
			if _, ok := command.AsError(err); !ok {
				t.Fatalf("parser accepted the broken configuration (err %v)", err)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("parser error %q does not mention %q", stderr, tc.want)
			}
		})
	}
}
