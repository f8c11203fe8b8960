package rehearse

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

// TestRehearsal runs the README's first command's job end to end.
func TestRehearsal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	t.Parallel()
	out := &toolkittest.Buffer{}
	// A maintainer's machine, or a CI job that is not a release: whatever
	// the environment holds, the rehearsal runs on its own registry.
	facts := toolkittest.Facts("CIRCLECI=", "GITHUB_ACTIONS=", "NPM_ID_TOKEN=", "CIRCLE_TAG=", "RELEASE_CONFIG=")
	res, err := Run(ctx, Options{Version: "3.1.4", RepoRoot: toolkittest.RepoRoot(), Out: out, Facts: facts})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	recs := res.Records
	if res.Tool != "agent-facets" || res.Version != "3.1.4" {
		t.Errorf("result: %s@%s", res.Tool, res.Version)
	}
	if len(recs) != 16 {
		t.Errorf("%d records, want 13 CLI packages + 3 adapters", len(recs))
	}
	for _, r := range recs {
		if r.Action != outcome.Published || r.Version == "" {
			t.Errorf("%s: %s", r.Package, r.Action)
		}
	}
	text := out.String()
	for _, want := range []string{
		"+ agent-facets@0.0.1",
		"+ @agent-facets/cli-linux-x64: trusted publisher attached",
		"(trusted publishing from CircleCI)",
		"✓ registry serves all 12 platform packages at 3.1.4",
		"npm install agent-facets@3.1.4, then `facet --version` printed 3.1.4",
		"+ facet-linux-x64.tar.gz (facet from linux-x64-baseline,",
		"+ facet-windows-x64.zip (facet.exe from windows-x64-baseline,",
		"+ checksums.txt (SHA-256 of 8 archives, sha256sum format)",
		"+ created agent-facets@3.1.4 as a draft (notes from ",
		"~ checksums.txt already on the release, identical",
		"the second run uploaded nothing",
		"+ notice sent through chat.postMessage to #releases: agent-facets 3.1.4 is released",
		"Rehearsal complete: 16 packages released to a throwaway registry, 8 archives on a GitHub Release and a notice posted",
		"✓ the 3 libraries the CLI depends on are on the registry",
		`dependencies["@agent-facets/adapter"]: workspace:^ → ^1.2.0`,
		`+ @agent-facets/adapter-openai@1.0.0 published to latest`,
		`✓ import("@agent-facets/adapter") from @agent-facets/adapter@1.2.0: exports defineAdapter, sdk`,
		`✓ import("@agent-facets/adapter-openai") from @agent-facets/adapter-openai@1.0.0: exports adapter; resolved @agent-facets/adapter@1.2.0, @agent-facets/adapter-claude@1.1.0`,
		"✓ no installed package.json holds a workspace: range",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if len(res.Assets) != 9 || outcome.Count(res.Assets, outcome.Published) != 9 {
		t.Errorf("assets: %+v", res.Assets)
	}
	if len(res.GitHub) != 10 || res.GitHub[0].Note != "created" || outcome.Count(res.GitHub, outcome.Published) != 10 {
		t.Errorf("GitHub records: %+v", res.GitHub)
	}
	if !strings.HasSuffix(res.ReleaseURL, "/agent-facets/facets/releases/tag/agent-facets@3.1.4") || res.Notice.Action != outcome.Published ||
		!strings.HasPrefix(res.Posted, "agent-facets 3.1.4 is released") {
		t.Errorf("release %q, notice %+v, posted %q", res.ReleaseURL, res.Notice, res.Posted)
	}
	// No token of any kind in the whole output.
	if m := regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ|npm_[A-Za-z0-9]{36}|_authToken=[^\[]|gh[ps]_[A-Za-z0-9]{20}|xoxb-[0-9]`).FindString(text); m != "" {
		t.Errorf("a secret reached the output: %.24s…", m)
	}
}

// TestRehearsedConfig: RELEASE_CONFIG names the configuration rehearsed;
// unset, the embedded default is.
func TestRehearsedConfig(t *testing.T) {
	t.Parallel()
	root := toolkittest.RepoRoot()
	def, err := rehearsedConfig(Options{RepoRoot: root})
	if err != nil || def.File != "release.json (embedded)" || def.CLI.Package != "agent-facets" {
		t.Fatalf("default: %+v, %v", def, err)
	}
	data, err := os.ReadFile(filepath.Join(root, "release.json"))
	if err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(t.TempDir(), "release.json")
	if err := os.WriteFile(own, []byte(strings.Replace(string(data), `"binary": "facet"`, `"binary": "mytool"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := rehearsedConfig(Options{RepoRoot: root, Facts: toolkittest.Facts("RELEASE_CONFIG=" + own)})
	if err != nil || cfg.CLI.Binary != "mytool" || cfg.File != own {
		t.Fatalf("RELEASE_CONFIG: %+v, %v", cfg, err)
	}
	missing := filepath.Join(t.TempDir(), "nope.json")
	if _, err := rehearsedConfig(Options{RepoRoot: root, Facts: toolkittest.Facts("RELEASE_CONFIG=" + missing)}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing RELEASE_CONFIG: %v", err)
	}
}

// TestStagedRehearsalFromGitHubActions rehearses a staged release whose
// trusted publisher is a GitHub Actions workflow: CI stages every package,
// a maintainer approves, the CLI installs and runs.
func TestStagedRehearsalFromGitHubActions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	t.Parallel()
	root := toolkittest.RepoRoot()
	data, err := os.ReadFile(filepath.Join(root, "release.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["trustedPublisher"] = map[string]any{"provider": "github", "repository": "agent-facets/facets", "workflow": "release.yml", "environment": "npm"}
	// The configuration's own changelog is read by a real release, never
	// written by a rehearsal.
	changes := filepath.Join(t.TempDir(), "CHANGELOG.md")
	const mine = "# agent-facets\n\n## 3.1.4\n\n- the maintainers' own\n"
	if err := os.WriteFile(changes, []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}
	m["github"] = map[string]any{"changelog": changes}
	data, _ = json.Marshal(m)
	cfg := filepath.Join(t.TempDir(), "release.json")
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := &toolkittest.Buffer{}
	facts := toolkittest.Facts("CIRCLECI=", "GITHUB_ACTIONS=", "NPM_ID_TOKEN=", "CIRCLE_TAG=", "RELEASE_CONFIG="+cfg)
	res, err := Run(ctx, Options{Version: "3.1.5", RepoRoot: root, Out: out, Facts: facts, Stage: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(res.Records) != 16 {
		t.Errorf("%d records, want 16", len(res.Records))
	}
	for _, r := range res.Records {
		if r.Action != outcome.Published || r.Note != "approved" || r.StageID == "" {
			t.Errorf("%s: %s %q %q", r.Package, r.Action, r.Note, r.StageID)
		}
	}
	text := out.String()
	for _, want := range []string{
		"Attaching the GitHub Actions trusted publisher, allowed to stage publish",
		"trusted publisher attached (GitHub Actions workflow agent-facets/facets/.github/workflows/release.yml, stage publish only)",
		"(trusted publishing from GitHub Actions)",
		"staged 16 packages in ",
		"✓ registry serves the 15 package(s) approved before agent-facets@3.1.5",
		"+ agent-facets@3.1.5 approved",
		"npm install agent-facets@3.1.5, then `facet --version` printed 3.1.5",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ|npm_[A-Za-z0-9]{36}|_authToken=[^\[]|--otp=\d`).FindString(text); m != "" {
		t.Errorf("a secret reached the output: %.24s…", m)
	}
	if got, _ := os.ReadFile(changes); string(got) != mine {
		t.Errorf("the rehearsal wrote to the configuration's changelog:\n%s", got)
	}
}
