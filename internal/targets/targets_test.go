package targets

import (
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

func TestAuthSelection(t *testing.T) {
	e, _ := toolkittest.Env(t, toolkittest.Config(t, nil))
	tests := []struct {
		mode, circle, gha string
		want              string
	}{
		{"", "", "", "npm login"},
		{"", "true", "", "trusted publishing from CircleCI"},
		{"", "", "true", "trusted publishing from GitHub Actions"},
		{"npm", "true", "", "npm login"},
		{"oidc", "", "", "trusted publishing from CircleCI"},
	}
	for _, tt := range tests {
		t.Setenv("CIRCLECI", tt.circle)
		t.Setenv("GITHUB_ACTIONS", tt.gha)
		a, err := Auth(e, tt.mode)
		if err != nil || a.String() != tt.want {
			t.Errorf("Auth(%q) with CIRCLECI=%q GITHUB_ACTIONS=%q = %v, %v; want %s", tt.mode, tt.circle, tt.gha, a, err, tt.want)
		}
	}
	if _, err := Auth(e, "token"); err == nil || !strings.Contains(err.Error(), "use oidc") {
		t.Errorf("err = %v", err)
	}
	var _ publish.Auth = publish.NpmLogin{}
}

func TestPackageSets(t *testing.T) {
	e, _ := toolkittest.Env(t, toolkittest.Config(t, nil))
	for which, n := range map[string]int{"cli": 13, "adapters": 3, "all": 16, "": 16} {
		got, err := Packages(e, which)
		if err != nil || len(got) != n {
			t.Errorf("Packages(%q) = %d, %v; want %d", which, len(got), err, n)
		}
	}
	if _, err := Packages(e, "everything"); err == nil || !strings.Contains(err.Error(), "use cli, adapters or all") {
		t.Errorf("err = %v", err)
	}
}

func TestConfigErrorsReachTheUser(t *testing.T) {
	t.Setenv("RELEASE_CONFIG", t.TempDir()+"/missing.json")
	err := PublishCLI(t.Context(), PublishOptions{Version: "1.2.3"})
	if err == nil || !strings.Contains(err.Error(), "missing.json not found: create it") {
		t.Errorf("err = %v", err)
	}
}
