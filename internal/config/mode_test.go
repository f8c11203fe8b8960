package config

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/publisher"
)

func parseWith(t *testing.T, mutate func(m map[string]any)) (*Config, error) {
	t.Helper()
	m := loadRepoConfig(t)
	mutate(m)
	data, _ := json.Marshal(m)
	return Parse("release.json", t.TempDir(), data)
}

func TestMode(t *testing.T) {
	c, err := parseWith(t, func(map[string]any) {})
	if err != nil || c.Release.Mode != ModeDirect || c.Staged() {
		t.Fatalf("default mode = %q (staged %v), err %v; want direct", c.Release.Mode, c.Staged(), err)
	}
	c, err = parseWith(t, func(m map[string]any) { m["release"].(map[string]any)["mode"] = "stage" })
	if err != nil || !c.Staged() {
		t.Fatalf("mode stage: %+v %v", c.Release, err)
	}
	_, err = parseWith(t, func(m map[string]any) { m["release"].(map[string]any)["mode"] = "staged" })
	if err == nil || !strings.Contains(err.Error(), `release.json: release.mode: "staged" is not a release mode: use "direct"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestGitHubTrustedPublisher(t *testing.T) {
	github := func(repo, workflow, env string) func(m map[string]any) {
		return func(m map[string]any) {
			m["trustedPublisher"] = map[string]any{"provider": "github", "repository": repo, "workflow": workflow, "environment": env}
		}
	}
	c, err := parseWith(t, github("agent-facets/facets", "release.yml", "npm"))
	if err != nil {
		t.Fatal(err)
	}
	if tp := c.TrustedPublisher; tp.Provider != publisher.GitHub || tp.Repository != "agent-facets/facets" || tp.Workflow != "release.yml" || tp.Environment != "npm" {
		t.Errorf("trustedPublisher = %+v", tp)
	}
	for _, tc := range []struct {
		mutate func(m map[string]any)
		want   string
	}{
		{github("facets", "release.yml", ""), `trustedPublisher.repository: "facets" must be owner/repo`},
		{github("agent-facets/facets", ".github/workflows/release.yml", ""), `trustedPublisher.workflow: ".github/workflows/release.yml" must be the workflow's file name`},
		{github("agent-facets/facets", "release", ""), `trustedPublisher.workflow: "release" must be`},
		{func(m map[string]any) { m["trustedPublisher"].(map[string]any)["provider"] = "gitlab" }, `trustedPublisher.provider: "gitlab" is not supported`},
	} {
		if _, err := parseWith(t, tc.mutate); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}
