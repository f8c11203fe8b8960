package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release"
	"github.com/agent-facets/release/internal/ciconfig"
	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

// Sizes and start costs for the cost model's tests: distinct, so that a sum
// tells which files it counted.
const (
	tBinary, tTarball, tCLI, tToolkit, tGoCache, tModCache = 100_000, 40_000, 3_000, 15_000, 500_000, 700_000
)

var tStarts = startCosts{Cold: 10 * time.Second, WarmGo: time.Second, Warm: 200 * time.Millisecond, Compiled: 10 * time.Millisecond}

func testFiles(t *testing.T) (*config.Config, *releaseFiles) {
	t.Helper()
	cfg, err := config.Parse("release.json (embedded)", toolkittest.RepoRoot(), release.DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	f := newReleaseFiles(cfg, version)
	f.binarySize, f.tarballSize, f.cliSize, f.toolkitSize, f.goBuildCache, f.goModCache = tBinary, tTarball, tCLI, tToolkit, tGoCache, tModCache
	return cfg, f
}

func costOf(t *testing.T, yml []byte, tag string) map[string]JobCost {
	t.Helper()
	_, files := testFiles(t)
	jobs, err := parseCircleCI(yml, tag)
	if err != nil {
		t.Fatal(err)
	}
	costs, err := costPipeline(jobs, files, tStarts)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]JobCost{}
	for _, c := range costs {
		out[c.Name] = c
	}
	return out
}

// TestBeforePipeline costs the pipeline committed at cab9365: the build job
// compiles the toolkit and persists every binary; each of the 13 publish
// jobs attaches them all and compiles the toolkit again.
func TestBeforePipeline(t *testing.T) {
	cfg, _ := testFiles(t)
	costs := costOf(t, beforePipeline, cfg.Release.TagPrefix+"1.0.0")
	n := int64(len(cfg.Targets))
	if len(costs) != len(cfg.Targets)+4 {
		t.Fatalf("%d jobs, want %d: %v", len(costs), len(cfg.Targets)+4, costs)
	}
	want := map[string]JobCost{
		"build":            {Persisted: n * tBinary, MageCalls: 1, Compiles: 1, Starts: []string{"cold"}, Start: tStarts.Cold},
		"publish-cli":      {Attached: n * tBinary, MageCalls: 1, Compiles: 1, Starts: []string{"cold"}, Start: tStarts.Cold},
		"publish-adapters": {MageCalls: 1, Compiles: 1, Starts: []string{"cold"}, Start: tStarts.Cold},
		"release-status":   {MageCalls: 1, Compiles: 1, Starts: []string{"cold"}, Start: tStarts.Cold},
	}
	for _, target := range cfg.Targets {
		want["publish-platform-"+target] = JobCost{Attached: n * tBinary, MageCalls: 1, Compiles: 1, Starts: []string{"cold"}, Start: tStarts.Cold}
	}
	for name, w := range want {
		w.Name = name
		if got := costs[name]; !reflect.DeepEqual(got, w) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, w)
		}
	}
	if got := costOf(t, beforePipeline, "other@1.0.0"); len(got) != 0 {
		t.Errorf("a tag the filters do not match runs %d jobs", len(got))
	}
}

// TestCompiledPipeline costs a pipeline with what the rework brings:
// reusable commands, a toolkit compiled once, a restored Go build cache,
// per-target build jobs, a matrix alias, when/unless.
func TestCompiledPipeline(t *testing.T) {
	yml, err := os.ReadFile(filepath.Join("testdata", "circleci-compiled.yml"))
	if err != nil {
		t.Fatal(err)
	}
	costs := costOf(t, yml, "agent-facets@1.2.3")
	publish := JobCost{Attached: tToolkit + tBinary, CompiledCalls: 1, Starts: []string{"compiled"}, Start: tStarts.Compiled}
	build := JobCost{Attached: tToolkit, Persisted: tBinary, CompiledCalls: 1, Starts: []string{"compiled"}, Start: tStarts.Compiled}
	want := map[string]JobCost{
		"toolkit": {Persisted: tToolkit, Restored: tGoCache, Saved: tGoCache, MageCalls: 1, Compiles: 1,
			Starts: []string{"warm Go cache"}, Start: tStarts.WarmGo},
		"build-linux-x64":      build,
		"build-darwin-arm64":   build,
		"publish-linux-x64":    publish,
		"publish-darwin-arm64": publish,
		"publish-cli": {Attached: tToolkit + 2*tBinary, Persisted: tCLI, CompiledCalls: 2, Starts: []string{"compiled", "compiled"},
			Start: 2 * tStarts.Compiled, Unsized: []string{"persist dist/checksums.txt"}},
	}
	if len(costs) != len(want) {
		t.Errorf("jobs %v, want %d (lint runs on no tag)", keys(costs), len(want))
	}
	for name, w := range want {
		w.Name = name
		if got := costs[name]; !reflect.DeepEqual(got, w) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, w)
		}
	}
}

// TestGeneratedPipeline reads what ciconfig generates now: every job it
// runs for a release tag is costed, and every platform package is
// published by a job that starts the toolkit.
func TestGeneratedPipeline(t *testing.T) {
	cfg, files := testFiles(t)
	yml, err := ciconfig.CircleCI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := parseCircleCI(yml, cfg.Release.TagPrefix+"1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	costs, err := costPipeline(jobs, files, tStarts)
	if err != nil {
		t.Fatal(err)
	}
	// The binaries any job compiles (a later job attaches them), then the
	// platform packages they publish.
	compiled := map[string]bool{}
	for _, j := range jobs {
		for _, s := range j.Steps {
			for _, c := range toolkitCalls(s.Command, compiled) {
				if c.CompileOut != "" {
					compiled[c.CompileOut] = true
				}
			}
		}
	}
	if len(compiled) == 0 {
		t.Error("no job compiles the toolkit")
	}
	published := map[string]bool{}
	for _, j := range jobs {
		for _, s := range j.Steps {
			for _, c := range toolkitCalls(s.Command, compiled) {
				if c.Target == "publishPlatform" {
					published[positional(c.Args)] = true
				}
			}
		}
	}
	for _, target := range cfg.Targets {
		if !published[target] {
			t.Errorf("no job publishes %s: %v", target, published)
		}
	}
	var total PipelineCost
	total.Jobs = costs
	if tt := total.Total(); tt.MageCalls+tt.CompiledCalls < len(cfg.Targets) || tt.Start <= 0 {
		t.Errorf("total %+v: fewer toolkit starts than platform packages", tt)
	}
	// One job compiles the toolkit; every other start is of that binary
	// (the failure notice's fallback to go tool mage runs only on failure).
	// A platform job hands on only its record, the assets job the archives
	// and checksums.
	for _, c := range costs {
		if c.Compiles > 0 && c.Name != "build" {
			t.Errorf("%s compiles the toolkit: %v", c.Name, c.Starts)
		}
		if c.Name == "build" {
			continue
		}
		if c.MageCalls > 0 {
			t.Errorf("%s starts go tool mage: %v", c.Name, c.Starts)
		}
		switch {
		case strings.HasPrefix(c.Name, "publish-platform-"):
			target := strings.TrimPrefix(c.Name, "publish-platform-")
			if c.Persisted != files.records[target] {
				t.Errorf("%s persists %d bytes, want its record's %d", c.Name, c.Persisted, files.records[target])
			}
		case c.Name == "package-assets":
			if want := int64(len(files.archives)) * tTarball; c.Persisted <= want || len(files.archives) != 8 {
				t.Errorf("package-assets persists %d bytes for %d archives", c.Persisted, len(files.archives))
			}
		}
	}
}

// TestOnFailStepsAreNotCosted: a step that runs only when the job failed
// is not part of a release that succeeds.
func TestOnFailStepsAreNotCosted(t *testing.T) {
	yml := []byte(`version: 2.1
jobs:
  publish:
    steps:
      - run: go tool mage publishCLI
      - run:
          when: on_fail
          command: go tool mage notify failure
workflows:
  release:
    jobs:
      - publish:
          filters: {tags: {only: /.*/}}
`)
	costs := costOf(t, yml, "agent-facets@1.0.0")
	if c := costs["publish"]; c.MageCalls != 1 || !reflect.DeepEqual(c.Starts, []string{"cold"}) {
		t.Errorf("publish: %+v", c)
	}
}

func keys(m map[string]JobCost) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestToolkitCalls(t *testing.T) {
	compiled := map[string]bool{"bin/release": true}
	tests := []struct {
		script string
		want   string
	}{
		{"go tool mage build", "mage build []"},
		{"FOO=1 go tool mage -v -d . publishPlatform linux-x64", "mage publishPlatform [linux-x64]"},
		{"sudo -E env A=b go tool mage status \"$RELEASE_VERSION\"", "mage status [$RELEASE_VERSION]"},
		{"go tool mage -compile=./bin/release", "compile bin/release"},
		{"go tool mage -compile bin/x && bin/x build", "compile bin/x"},
		{"cd sub && ./bin/release publishCLI -tag next; ~/project/bin/release status 1.2.3", "compiled publishCLI [-tag next]; compiled status [1.2.3]"},
		{"echo go tool mage build # not a start\n# go tool mage build", ""},
		{"go tool mage \\\n  publishPlatform 'darwin-x64'", "mage publishPlatform [darwin-x64]"},
		{"go build -o bin/tool ./cmd/tool", "compile bin/tool"},
		{"go version\nnode --version | head -1", ""},
	}
	for _, tt := range tests {
		var got []string
		for _, c := range toolkitCalls(tt.script, compiled) {
			switch {
			case c.CompileOut != "":
				got = append(got, "compile "+c.CompileOut)
			case c.Compiled:
				got = append(got, fmt.Sprintf("compiled %s %v", c.Target, c.Args))
			default:
				got = append(got, fmt.Sprintf("mage %s %v", c.Target, c.Args))
			}
		}
		if s := strings.Join(got, "; "); s != tt.want {
			t.Errorf("toolkitCalls(%q) = %q, want %q", tt.script, s, tt.want)
		}
	}
}

func TestSelects(t *testing.T) {
	tests := []struct {
		pattern, file string
		want          bool
	}{
		{"dist", "dist/linux-x64/facet", true},
		{"dist", "distx/a", false},
		{"dist/linux-x64", "dist/linux-x64/facet", true},
		{"dist/npm/*.tgz", "dist/npm/a-1.0.0.tgz", true},
		{"dist/npm/*.tgz", "dist/linux-x64/facet", false},
		{"dist/*", "dist/linux-x64/facet", true},
		{".", "bin/release", true},
	}
	for _, tt := range tests {
		if got := selects(tt.pattern, tt.file); got != tt.want {
			t.Errorf("selects(%q, %q) = %v", tt.pattern, tt.file, got)
		}
	}
}

// TestBeforeIsTheCommittedPipeline checks the baseline against the commit
// it was copied from, where the repository's history is at hand.
func TestBeforeIsTheCommittedPipeline(t *testing.T) {
	git := &command.Runner{Environ: os.Environ()}
	out, err := git.Output(context.Background(), command.Cmd{Name: "git", Dir: toolkittest.RepoRoot(),
		Args: []string{"show", "cab9365:internal/ciconfig/examples/circleci/config.yml"}})
	if err != nil {
		t.Skipf("no git history here: %v", err)
	}
	if out != string(beforePipeline) {
		t.Error("testdata/circleci-cab9365.yml differs from internal/ciconfig/examples/circleci/config.yml at cab9365")
	}
}
