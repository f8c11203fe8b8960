package publish_test

import (
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

func TestChooseAuth(t *testing.T) {
	t.Parallel()
	cfg := toolkittest.Config(t, nil)
	tests := []struct {
		mode string
		env  []string
		want string
	}{
		{"", []string{"CIRCLECI=", "GITHUB_ACTIONS=", "CI="}, "npm login"},
		{"", []string{"CIRCLECI=true", "GITHUB_ACTIONS="}, "trusted publishing from CircleCI"},
		{"", []string{"CIRCLECI=", "GITHUB_ACTIONS=true"}, "trusted publishing from GitHub Actions"},
		{"npm", []string{"CIRCLECI=true", "GITHUB_ACTIONS="}, "npm login"},
		{"oidc", []string{"CIRCLECI=", "GITHUB_ACTIONS=", "CI="}, "trusted publishing from CircleCI"},
	}
	for _, tt := range tests {
		e, _ := toolkittest.Env(t, cfg, tt.env...)
		a, err := publish.ChooseAuth(e, tt.mode)
		if err != nil || a.String() != tt.want {
			t.Errorf("ChooseAuth(%q) with %v = %v, %v; want %s", tt.mode, tt.env, a, err, tt.want)
		}
	}
	e, _ := toolkittest.Env(t, cfg)
	if _, err := publish.ChooseAuth(e, "token"); err == nil || !strings.Contains(err.Error(), "use oidc") {
		t.Errorf("err = %v", err)
	}
}
