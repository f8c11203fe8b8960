package tasks

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/archive"
	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localgithub"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/localslack"
	"github.com/agent-facets/release/internal/releaseassets"
	"github.com/agent-facets/release/internal/report/releasereport"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/platforms"
)

// The tasks are the one place that reads the process environment, so these
// tests set it (and do not run in parallel).

// setenv applies KEY=VALUE entries with t.Setenv.
func setenv(t *testing.T, env ...string) {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// writeConfig writes cfg where RELEASE_CONFIG points.
func writeConfig(t *testing.T, cfg *config.Config) {
	t.Helper()
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "release.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RELEASE_CONFIG", path)
}

// reportFiles points RELEASE_REPORT and GITHUB_STEP_SUMMARY at fresh files.
func reportFiles(t *testing.T) (reportPath, summaryPath string) {
	dir := t.TempDir()
	reportPath, summaryPath = filepath.Join(dir, "out", "release.json"), filepath.Join(dir, "summary.md")
	setenv(t, "RELEASE_REPORT="+reportPath, "GITHUB_STEP_SUMMARY="+summaryPath)
	return reportPath, summaryPath
}

// readReport reads and validates the JSON report.
func readReport(t *testing.T, path string) releasereport.Report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no report: %v", err)
	}
	if err := releasereport.Validate(data); err != nil {
		t.Fatalf("report does not validate: %v\n%s", err, data)
	}
	var r releasereport.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// notOnCI clears what would make this run look like a CI job.
func notOnCI(t *testing.T) {
	setenv(t, "CI=", "CIRCLECI=", "GITHUB_ACTIONS=", "GITLAB_CI=", "CIRCLE_TAG=", "GITHUB_REF_TYPE=", "GITHUB_REF_NAME=", "NPM_ID_TOKEN=")
}

func s(v string) *string { return &v }

func TestConfigErrorsReachTheUser(t *testing.T) {
	notOnCI(t)
	t.Setenv("RELEASE_CONFIG", filepath.Join(t.TempDir(), "missing.json"))
	err := PublishCLI(t.Context(), s("1.2.3"), nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "missing.json not found: create it") {
		t.Errorf("err = %v", err)
	}
}

func TestFailedTargetsWriteReports(t *testing.T) {
	notOnCI(t)
	// Both cases fail before any registry call; should one ever be made, it
	// goes to a closed loopback port.
	t.Setenv("NPM_CONFIG_REGISTRY", "http://127.0.0.1:9/")
	writeConfig(t, toolkittest.Config(t, nil))
	tests := []struct {
		name      string
		run       func() error
		operation string
		version   string
		packages  []releasereport.Package // name and action
		errWant   string
	}{
		{
			name:      "unknown target",
			run:       func() error { return PublishPlatform(t.Context(), "plan9-mips", s("1.2.3"), nil, nil, nil) },
			operation: "publishPlatform", version: "1.2.3",
			packages: []releasereport.Package{{Name: "plan9-mips", Action: "failed"}},
			errWant:  "plan9-mips",
		},
		{
			name:      "no version",
			run:       func() error { return PublishCLI(t.Context(), nil, nil, nil, nil) },
			operation: "publishCLI",
			errWant:   "version",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reportPath, summaryPath := reportFiles(t)
			err := tt.run()
			if err == nil {
				t.Fatal("the target succeeded")
			}
			r := readReport(t, reportPath)
			if r.Operation != tt.operation || r.Tool != "agent-facets" || r.Version != tt.version || r.Result != releasereport.Failure || r.Error != err.Error() {
				t.Errorf("report = %+v; target error %q", r, err)
			}
			if !strings.Contains(r.Error, tt.errWant) {
				t.Errorf("report error %q lacks %q", r.Error, tt.errWant)
			}
			if len(r.Packages) != len(tt.packages) {
				t.Fatalf("packages = %+v, want %d", r.Packages, len(tt.packages))
			}
			for i, p := range tt.packages {
				if r.Packages[i].Name != p.Name || r.Packages[i].Action != p.Action || r.Packages[i].Error == "" {
					t.Errorf("packages[%d] = %+v, want %s %s with an error", i, r.Packages[i], p.Name, p.Action)
				}
			}
			summary, err := os.ReadFile(summaryPath)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(summary), "### "+tt.operation+" `agent-facets") || !strings.Contains(string(summary), "**✗ "+tt.operation+" failed**") {
				t.Errorf("step summary:\n%s", summary)
			}
		})
	}
}

// TestPublishPlatformReports publishes this machine's platform package to a
// local registry twice through the target, as a CI job would call it: the
// version from the CI tag, the first report says published, the second
// identical, and the step summary holds both.
func TestPublishPlatformReports(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local registry")
	}
	cur, err := platforms.Current()
	if err != nil {
		t.Skip(err)
	}
	notOnCI(t)
	reg := localregistrytest.Start(t)
	npmEnv := reg.NpmEnv(t, reg.AddUser(t, "maintainer"))
	cfg := toolkittest.DemoConfig(t, func(c *config.Config) { c.Targets = []string{cur.Name} })
	e, out := toolkittest.Env(t, cfg, npmEnv...)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if _, err := build.Build(ctx, e, cfg.PlatformTargets(), "1.2.3"); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	setenv(t, npmEnv...)
	t.Setenv("CIRCLE_TAG", "agent-facets@1.2.3")
	writeConfig(t, cfg)
	reportPath, summaryPath := reportFiles(t)
	name := cfg.PlatformPackage(cur.Name)

	for _, want := range []string{"published", "identical"} {
		if err := PublishPlatform(ctx, cur.Name, nil, nil, s("npm"), nil); err != nil {
			t.Fatal(err)
		}
		r := readReport(t, reportPath)
		if r.Operation != "publishPlatform" || r.Result != releasereport.Success || r.Error != "" || len(r.Packages) != 1 {
			t.Fatalf("report = %+v", r)
		}
		p := r.Packages[0]
		if p.Name != name || p.Version != "1.2.3" || p.Action != want || !strings.HasPrefix(p.Integrity, "sha512-") || p.Registry != reg.URL {
			t.Errorf("package = %+v, want %s %s on %s", p, name, want, reg.URL)
		}
		if want == "published" && (p.Tag != "latest" || p.DurationMS <= 0) {
			t.Errorf("published package: tag %q, %d ms", p.Tag, p.DurationMS)
		}
		if r.DurationMS < p.DurationMS {
			t.Errorf("operation took %d ms, its package %d ms", r.DurationMS, p.DurationMS)
		}
	}
	summary, err := os.ReadFile(summaryPath)
	if err != nil {
		t.Fatal(err)
	}
	got := string(summary)
	if strings.Count(got, "### publishPlatform `agent-facets@1.2.3`") != 2 ||
		!strings.Contains(got, "| `"+name+"` | 1.2.3 | published | latest | `sha512-") ||
		!strings.Contains(got, "| `"+name+"` | 1.2.3 | identical |  | `sha512-") ||
		!strings.Contains(got, "**✓ publishPlatform succeeded**: 1 published in ") ||
		!strings.Contains(got, "**✓ publishPlatform succeeded**: 1 identical in ") {
		t.Errorf("step summary:\n%s", got)
	}
}

// TestNotifyNeverFails: with Slack down, the notify target reports the
// notice as not sent and still succeeds.
func TestNotifyNeverFails(t *testing.T) {
	notOnCI(t)
	sl, err := localslack.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	sl.Channel("#releases")
	sl.Down(-1)
	writeConfig(t, toolkittest.Config(t, func(c *config.Config) {
		c.Slack.APIURL, c.Slack.Channel = sl.APIURL(), "#releases"
	}))
	reportPath, _ := reportFiles(t)
	setenv(t, "SLACK_BOT_TOKEN="+sl.BotToken(), "SLACK_WEBHOOK_URL=")
	if err := Notify(t.Context(), "success", s("1.2.3"), nil); err != nil {
		t.Fatalf("a Slack outage failed the target: %v", err)
	}
	r := readReport(t, reportPath)
	if r.Operation != "notify" || r.Result != releasereport.Failure || !strings.Contains(r.Error, "503") || len(r.Packages) != 1 || r.Packages[0].Action != "failed" {
		t.Errorf("report = %+v", r)
	}
	if err := sl.AwaitRequests(t.Context(), 2); err != nil || sl.Requests() != 2 {
		t.Errorf("%d requests to Slack (%v), want 2", sl.Requests(), err)
	}
	if err := Notify(t.Context(), "finished", s("1.2.3"), nil); err == nil {
		t.Error("an unknown result was accepted")
	}
}

// TestGithubReleaseTarget runs the githubRelease target as a CI job
// would, against the GitHub emulator: the release is made, the report says
// so, and neither the report nor the step summary holds a credential, also
// when GitHub refuses it.
func TestGithubReleaseTarget(t *testing.T) {
	notOnCI(t)
	gh, err := localgithub.New()
	if err != nil {
		t.Fatal(err)
	}
	defer gh.Close()
	gh.AddRepo("agent-facets/facets", "agent-facets@1.2.3")
	cfg := toolkittest.Config(t, func(c *config.Config) { c.GitHub.APIURL = gh.APIURL() })
	dir := cfg.AssetsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "facet-linux-x64.tar.gz"), []byte("an archive"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, sum, _ := archive.SHA256File(filepath.Join(dir, "facet-linux-x64.tar.gz"))
	if err := os.WriteFile(filepath.Join(dir, "checksums.txt"), archive.Checksums([]archive.Info{{Name: "facet-linux-x64.tar.gz", SHA256: sum}}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, releaseassets.VersionFile), []byte("1.2.3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, cfg)
	reportPath, summaryPath := reportFiles(t)
	app, err := gh.AddApp("agent-facets/facets")
	if err != nil {
		t.Fatal(err)
	}
	key := string(app.KeyPEM)
	setenv(t, "CIRCLECI=true", "CIRCLE_TAG=agent-facets@1.2.3", "GITHUB_TOKEN=", "GH_TOKEN=", "GITHUB_API_URL=",
		"GITHUB_APP_ID="+app.ClientID, "GITHUB_APP_PRIVATE_KEY="+key, "GITHUB_APP_INSTALLATION_ID=")
	if err := GithubRelease(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	r := readReport(t, reportPath)
	if r.Operation != "githubRelease" || r.Result != releasereport.Success || r.Version != "1.2.3" || len(r.Packages) != 3 || r.Packages[0].Name != "GitHub Release agent-facets@1.2.3" {
		t.Errorf("report = %+v", r)
	}

	bad := "ghp_" + strings.Repeat("z", 36)
	setenv(t, "GITHUB_APP_ID=", "GITHUB_APP_PRIVATE_KEY=", "GITHUB_TOKEN="+bad)
	err = GithubRelease(t.Context(), nil)
	if err == nil || !strings.Contains(err.Error(), "401 Bad credentials") {
		t.Fatalf("a bad token: %v", err)
	}
	report, _ := os.ReadFile(reportPath)
	summary, _ := os.ReadFile(summaryPath)
	for _, text := range []string{string(report), string(summary), err.Error()} {
		for _, s := range []string{bad, "BEGIN RSA PRIVATE KEY", strings.Split(key, "\n")[1], "ghs_"} {
			if strings.Contains(text, s) {
				t.Errorf("a credential (%.12s…) reached a report or an error:\n%s", s, text)
			}
		}
	}
}

// TestLibraryTargets: publishAdapters takes its tag from -release over the
// CI tag, and status -adapters reports the libraries, through the targets.
func TestLibraryTargets(t *testing.T) {
	notOnCI(t)
	reg := localregistrytest.Start(t)
	setenv(t, reg.NpmEnv(t, reg.AddUser(t, "maintainer"))...)
	setenv(t, toolkittest.WithBun(t))
	writeConfig(t, toolkittest.Config(t, nil))
	if err := SeedAdapters(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	reportPath, _ := reportFiles(t)

	// -release wins over the CI tag, and is checked against package.json.
	t.Setenv("CIRCLE_TAG", "@agent-facets/adapter-openai@1.0.0")
	err := PublishAdapters(t.Context(), s("@agent-facets/adapter@9.9.9"), nil, s("npm"), nil)
	if err == nil || !strings.Contains(err.Error(), "tag @agent-facets/adapter@9.9.9 asks for @agent-facets/adapter 9.9.9, but packages/adapter/package.json has version 1.2.0") {
		t.Fatalf("err = %v", err)
	}
	if r := readReport(t, reportPath); r.Operation != "publishAdapters" || r.Result != releasereport.Failure {
		t.Errorf("report = %+v", r)
	}
	if err := PublishAdapters(t.Context(), s("@agent-facets/adapter@1.2.0"), nil, s("npm"), nil); err != nil {
		t.Fatal(err)
	}
	r := readReport(t, reportPath)
	got := map[string]string{}
	for _, p := range r.Packages {
		got[p.Name+"@"+p.Version] = p.Action
	}
	if got["@agent-facets/adapter@1.2.0"] != "published" || got["@agent-facets/adapter-openai@1.0.0"] != "skipped" {
		t.Errorf("report packages = %v", got)
	}
	if !reg.HasVersion(t, "@agent-facets/adapter", "1.2.0") || reg.HasVersion(t, "@agent-facets/adapter-openai", "1.0.0") {
		t.Error("the -release tag did not release exactly its package")
	}

	// status -adapters: the libraries in the report, incomplete while two
	// are missing.
	t.Setenv("CIRCLE_TAG", "")
	err = Status(t.Context(), "1.2.3", b(true), nil)
	if err == nil {
		t.Fatal("status reports a complete release")
	}
	r = readReport(t, reportPath)
	got = map[string]string{}
	for _, p := range r.Packages {
		got[p.Name+"@"+p.Version] = p.Action
	}
	if got["@agent-facets/adapter@1.2.0"] != "published" || got["@agent-facets/adapter-claude@1.1.0"] != "missing" || len(r.Packages) != 16 {
		t.Errorf("status report packages = %v", got)
	}
}

func b(v bool) *bool { return &v }
