package oidc

import (
	"slices"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/agent-facets/release/internal/publisher"
)

func TestCheckNPMVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		version  string
		provider publisher.Provider
		errs     []string // substrings; none: accepted
	}{
		{"11.11.0", publisher.CircleCI, nil},
		{"11.19.1", publisher.CircleCI, nil},
		{"12.0.0", publisher.CircleCI, nil},
		{"11.10.9", publisher.CircleCI, []string{"npm 11.10.9 is installed", "CircleCI needs npm 11.11.0 or newer", "npm install -g npm@^11.11.0"}},
		{"11.11.0-pre.1", publisher.CircleCI, []string{"npm 11.11.0-pre.1 is installed"}},
		{"10.9.2", publisher.CircleCI, []string{"npm 10.9.2 is installed"}},
		{"11.5.1", publisher.GitHub, nil},
		{"11.5.0", publisher.GitHub, []string{"GitHub Actions needs npm 11.5.1 or newer", "npm install -g npm@^11.5.1"}},
		{"11.5.1", publisher.GitLab, nil},
		{"11.4.0", publisher.GitLab, []string{"GitLab needs npm 11.5.1"}},
		{"11.19.1", "jenkins", []string{`provider "jenkins" is not supported`}},
		{"", publisher.CircleCI, []string{"npm version is unknown", "npm install -g npm@^11.11.0"}},
	}
	for _, tc := range tests {
		var v *semver.Version
		if tc.version != "" {
			v = semver.MustParse(tc.version)
		}
		err := CheckNPMVersion(v, tc.provider)
		captureErr(t, err)
		if len(tc.errs) == 0 {
			if err != nil {
				t.Errorf("CheckNPMVersion(%s, %s): %v", tc.version, tc.provider, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("CheckNPMVersion(%s, %s) accepted it", tc.version, tc.provider)
			continue
		}
		for _, s := range tc.errs {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("CheckNPMVersion(%s, %s) = %v; does not mention %q", tc.version, tc.provider, err, s)
			}
		}
	}
}

func TestPublishEnv(t *testing.T) {
	t.Parallel()
	const tok = "header.payload.signature"
	tests := []struct {
		provider []publisher.Provider
		want     []string
	}{
		{nil, []string{"NPM_ID_TOKEN=" + tok}},
		{[]publisher.Provider{publisher.CircleCI}, []string{"NPM_ID_TOKEN=" + tok, "CIRCLECI=true", "CI=true"}},
		{[]publisher.Provider{publisher.GitHub}, []string{"NPM_ID_TOKEN=" + tok, "GITHUB_ACTIONS=true", "CI=true"}},
		{[]publisher.Provider{publisher.GitLab}, []string{"NPM_ID_TOKEN=" + tok, "GITLAB_CI=true", "CI=true"}},
		{[]publisher.Provider{"jenkins"}, []string{"NPM_ID_TOKEN=" + tok}},
	}
	for _, tc := range tests {
		if got := PublishEnv(tok, tc.provider...); !slices.Equal(got, tc.want) {
			t.Errorf("PublishEnv(%v) = %q, want %q", tc.provider, got, tc.want)
		}
	}
}
