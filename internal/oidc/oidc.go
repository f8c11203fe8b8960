// Package oidc mints, checks and preflights the OIDC identity tokens of npm
// trusted publishing, so that a publish from CI fails early and clearly
// instead of with the ENEEDAUTH or E404 npm reports after it has silently
// swallowed a failed token exchange.
//
// A publishing job calls Mint (or uses a CI-provided NPM_ID_TOKEN), then
// Preflight: Check decodes the token and compares its claims with the
// trusted publisher configured in release.json, and Exchange asks the
// registry for a publish token exactly as npm will. Only then does it run
// npm, handing it the token through the child environment from PublishEnv.
// Tokens are registered with package secret as soon as they are obtained and
// never appear in errors or output.
package oidc

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/agent-facets/release/internal/publisher"
)

// Audience returns the aud claim npm expects for registryURL: "npm:" plus
// the URL's hostname, as npm computes it (`new URL(registry).hostname`:
// lower-cased, without port, IPv6 literals in brackets). It returns "npm:"
// alone for a URL without a host; Check then reports the mismatch.
func Audience(registryURL string) string {
	u, err := url.Parse(strings.TrimSpace(registryURL))
	if err != nil {
		return "npm:"
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return "npm:" + host
}

// The oldest npm that performs trusted publishing from each provider.
var minNPM = map[publisher.Provider]*semver.Version{
	publisher.CircleCI: semver.MustParse("11.11.0"),
	publisher.GitHub:   semver.MustParse("11.5.1"),
	publisher.GitLab:   semver.MustParse("11.5.1"),
}

// CheckNPMVersion reports whether npm v can publish with trusted publishing
// from provider: CircleCI needs npm 11.11.0 or newer, GitHub Actions and
// GitLab 11.5.1. An older npm skips the OIDC step without a word.
func CheckNPMVersion(v *semver.Version, provider publisher.Provider) error {
	min, ok := minNPM[provider]
	if !ok {
		return fmt.Errorf("trusted publishing provider %q is not supported: use %q, %q or %q", provider, publisher.CircleCI, publisher.GitHub, publisher.GitLab)
	}
	if v == nil {
		return fmt.Errorf("the installed npm version is unknown; trusted publishing from %s needs npm %s or newer: run `npm --version`, and upgrade with `npm install -g npm@^%s`", provider.Name(), min, min)
	}
	if v.LessThan(min) {
		return fmt.Errorf("npm %s is installed but trusted publishing from %s needs npm %s or newer (older npm skips the OIDC step and fails with ENEEDAUTH): run `npm install -g npm@^%s` in the job before publishing, or use an image with a newer npm", v, provider.Name(), min, min)
	}
	return nil
}

// PublishEnv returns the environment entries, to append to a child npm
// process's environment, that make npm take its OIDC path: NPM_ID_TOKEN with
// the token and, when provider is given, the marker npm's ci-info detects
// (CIRCLECI=true, GITHUB_ACTIONS=true or GITLAB_CI=true) with CI=true (ci-info
// ignores every marker when CI=false). An unknown provider adds no marker.
// This environment is the only way the token reaches npm: never pass it in
// arguments or write it to a file.
func PublishEnv(token string, provider ...publisher.Provider) []string {
	env := []string{"NPM_ID_TOKEN=" + token}
	markers := map[publisher.Provider]string{publisher.CircleCI: "CIRCLECI=true", publisher.GitHub: "GITHUB_ACTIONS=true", publisher.GitLab: "GITLAB_CI=true"}
	for _, p := range provider {
		if m, ok := markers[p]; ok {
			env = append(env, m)
		}
	}
	if len(env) > 1 {
		env = append(env, "CI=true")
	}
	return env
}
