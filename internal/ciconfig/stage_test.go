package ciconfig

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/publisher"
)

// stageExamplesDir holds the stage-mode variant of the examples: the same
// release.json with release.mode "stage".
var stageExamplesDir = filepath.Join(examplesDir, "stage")

func staged(cfg *config.Config) *config.Config {
	c := *cfg
	c.Release.Mode = config.ModeStage
	return &c
}

// TestStageExamplesUpToDate is TestExamplesUpToDate for examples/stage.
// Refresh them with `go test ./internal/ciconfig -run ExamplesUpToDate -update`.
func TestStageExamplesUpToDate(t *testing.T) {
	cfg := staged(loadConfig(t))
	if *update {
		if err := Write(cfg, stageExamplesDir, WithLayout(ExamplesLayout)); err != nil {
			t.Fatal(err)
		}
	}
	if err := Verify(cfg, stageExamplesDir, WithLayout(ExamplesLayout)); err != nil {
		t.Errorf("%v\n(to refresh the examples: go test ./internal/ciconfig -run ExamplesUpToDate -update)", err)
	}
}

// TestStageMode: in stage mode every publishing step stages (-mode=stage)
// and keeps its report as an artifact, status accepts a staged release,
// and every job installs an npm with `npm stage`; direct mode has none of it.
func TestStageMode(t *testing.T) {
	for _, mode := range []string{config.ModeDirect, config.ModeStage} {
		cfg := loadConfig(t)
		cfg.Release.Mode = mode
		circle, err := CircleCI(cfg)
		if err != nil {
			t.Fatal(err)
		}
		github, err := GitHubActions(cfg)
		if err != nil {
			t.Fatal(err)
		}
		stage := mode == config.ModeStage
		for system, out := range map[string][]byte{"CircleCI": circle, "GitHub": github} {
			jobs := at(t, decode(t, out), "jobs").(map[string]any)
			for job, cmd := range map[string]string{PlatformJob: " publishPlatform", CLIJob: " publishCLI", AdaptersJob: " publishAdapters", LibraryJob: " publishAdapters", StatusJob: " status"} {
				cmds := commands(t, at(t, jobs, job, "steps"))
				if got := contains(cmds, cmd) && contains(cmds, "-mode=stage"); got != stage {
					t.Errorf("%s %s mode: job %s runs %s with -mode=stage: %v; commands %q", system, mode, job, cmd, got, cmds)
				}
			}
			text := string(out)
			for _, w := range []string{"RELEASE_REPORT: reports/publish-cli.json", "RELEASE_REPORT: reports/publish-adapters.json", "release:approve <version> -reports=<dir>", "npm install --global npm@11.15.0"} {
				if strings.Contains(text, w) != stage {
					t.Errorf("%s %s mode: mentions %q: %v", system, mode, w, !stage)
				}
			}
			if strings.Contains(text, "npm@11.11.0") == stage {
				t.Errorf("%s %s mode: npm 11.11.0 installed: %v", system, mode, !stage)
			}
		}
		if strings.Contains(string(circle), "RELEASE_REPORT: reports/publish-platform-<< parameters.target >>.json") != stage ||
			strings.Count(string(circle), "store_artifacts:") != map[bool]int{true: 4, false: 0}[stage] {
			t.Errorf("CircleCI %s mode: platform reports and artifacts:\n%s", mode, circle)
		}
		if strings.Contains(string(github), "RELEASE_REPORT: reports/publish-platform-${{ matrix.target }}.json") != stage ||
			strings.Count(string(github), "name: release-report-") != map[bool]int{true: 4, false: 0}[stage] {
			t.Errorf("GitHub %s mode: platform reports and artifacts:\n%s", mode, github)
		}
	}
	cfg := staged(loadConfig(t))
	if _, err := CircleCI(cfg, WithOptions(Options{NPMVersion: "11.12.0"})); err == nil || !strings.Contains(err.Error(), "npm 11.12.0 has no `npm stage`: use npm 11.15.0 or newer") {
		t.Errorf("stage mode with npm 11.12.0: %v", err)
	}
	if out, err := CircleCI(cfg, WithOptions(Options{NPMVersion: "11.19.1"})); err != nil || !strings.Contains(string(out), "npm@11.19.1") {
		t.Errorf("stage mode with npm 11.19.1: %v", err)
	}
}

// TestCircleCIParserAcceptsStageConfig validates the stage-mode CircleCI
// configuration with CircleCI's own parser.
func TestCircleCIParserAcceptsStageConfig(t *testing.T) {
	node := installParser(t)
	out, err := CircleCI(staged(loadConfig(t)))
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := parse(t, node, out); err != nil {
		t.Fatalf("%s rejects the stage-mode configuration: %v\n%s", parserPackage, err, stderr)
	}
}

// TestGitHubPublisherWorkflow: with a GitHub Actions trusted publisher the
// publish jobs, and only they, run in its environment, and the header
// names the publisher.
func TestGitHubPublisherWorkflow(t *testing.T) {
	cfg := loadConfig(t)
	cfg.TrustedPublisher = publisher.Identity{Provider: publisher.GitHub, Repository: "agent-facets/facets", Workflow: "release.yml", Environment: "npm"}
	out, err := GitHubActions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	jobs := at(t, decode(t, out), "jobs").(map[string]any)
	for _, job := range []string{PlatformJob, CLIJob, AdaptersJob, LibraryJob} {
		if got := at(t, jobs, job, "environment"); got != "npm" {
			t.Errorf("%s environment = %v, want npm", job, got)
		}
		if got := at(t, jobs, job, "permissions", "id-token"); got != "write" {
			t.Errorf("%s id-token = %v", job, got)
		}
	}
	for _, job := range []string{BuildJob, StatusJob} {
		if _, ok := jobs[job].(map[string]any)["environment"]; ok {
			t.Errorf("%s runs in the environment", job)
		}
	}
	header := strings.ReplaceAll(string(out[:strings.Index(string(out), "name: release")]), "\n# ", " ")
	if !strings.Contains(header, "the trusted publisher in release.json: the repository agent-facets/facets, this workflow file (release.yml), in the environment \"npm\"") || strings.Contains(header, "describes the CircleCI trusted publisher") {
		t.Errorf("header:\n%s", header)
	}
	cfg.TrustedPublisher.Environment = ""
	out, err = GitHubActions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "environment:") {
		t.Error("a workflow without an environment names one")
	}
}
