package oidc

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/publisher"
)

const aud = "npm:127.0.0.1"

// sign makes an ID token; the signature does not matter to Check.
func sign(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte("test key, not a secret"))
	if err != nil {
		t.Fatal(err)
	}
	noteToken(s)
	return s
}

func TestCheck(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	// circle returns CircleCI claims issued at now valid for an hour,
	// changed by mut.
	circle := func(mut func(jwt.MapClaims)) jwt.MapClaims {
		c := circleClaims(aud, time.Hour)
		c["iat"], c["nbf"], c["exp"] = now.Unix(), now.Unix(), now.Add(time.Hour).Unix()
		if mut != nil {
			mut(c)
		}
		return c
	}
	github := func(mut func(jwt.MapClaims)) jwt.MapClaims {
		c := localregistry.GitHubClaims("agent-facets/facets", "release.yml", "refs/tags/v1.0.0", "npm", time.Hour)
		c["aud"] = aud
		c["iat"], c["nbf"], c["exp"] = now.Unix(), now.Unix(), now.Add(time.Hour).Unix()
		if mut != nil {
			mut(c)
		}
		return c
	}
	circleWant := Expectation{Audience: aud, Publisher: testPublisher()}
	ghWant := Expectation{Audience: aud, Publisher: &publisher.Identity{Provider: publisher.GitHub, Repository: "agent-facets/facets", Workflow: "release.yml", Environment: "npm"}}
	set := func(k string, v any) func(jwt.MapClaims) { return func(c jwt.MapClaims) { c[k] = v } }

	tests := []struct {
		name   string
		claims jwt.MapClaims
		want   Expectation
		errs   []string // substrings of the error; none: valid
		claim  string   // the ClaimError.Claim expected, if any
	}{
		{name: "valid", claims: circle(nil), want: circleWant},
		{name: "valid, audience among several", claims: circle(set("aud", []string{"other", aud})), want: circleWant},
		{name: "valid, extra contexts", claims: circle(set(ClaimContextIDs, []string{"c0", contextID, "c2"})), want: circleWant},
		{name: "valid, no contexts configured", claims: circle(set(ClaimContextIDs, nil)),
			want: Expectation{Audience: aud, Publisher: &publisher.Identity{Provider: publisher.CircleCI, OrgID: orgID, ProjectID: projectID, PipelineDefinitionID: pipelineID, VCSOrigin: vcsOrigin}}},
		{name: "valid, small clock skew", claims: circle(set("nbf", now.Add(10*time.Second).Unix())), want: circleWant},
		{name: "no publisher configured checks only time and audience", claims: circle(set(ClaimProjectID, "other")), want: Expectation{Audience: aud}},

		{name: "expired", claims: circle(set("exp", now.Add(-3*time.Minute).Unix())), want: circleWant,
			errs: []string{"OIDC token expired at 2025-06-01T11:57:00Z (3m0s ago); mint a fresh one"}},
		{name: "expires exactly now", claims: circle(set("exp", now.Unix())), want: circleWant, errs: []string{"expired at 2025-06-01T12:00:00Z"}},
		{name: "short lifetime", claims: circle(set("exp", now.Add(40*time.Second).Unix())), want: circleWant,
			errs: []string{"OIDC token expires in 40s, less than the 2m0s a publish needs; mint a fresh one"}},
		{name: "custom lifetime margin", claims: circle(set("exp", now.Add(4*time.Minute).Unix())),
			want: Expectation{Audience: aud, MinLifetime: 5 * time.Minute}, errs: []string{"expires in 4m0s, less than the 5m0s"}},
		{name: "negative margin: only expiry", claims: circle(set("exp", now.Add(time.Second).Unix())), want: Expectation{MinLifetime: -1}},
		{name: "no exp", claims: circle(func(c jwt.MapClaims) { delete(c, "exp") }), want: circleWant, errs: []string{"no expiry (exp claim)"}},
		{name: "not yet valid", claims: circle(set("nbf", now.Add(time.Hour).Unix())), want: circleWant,
			errs: []string{"not valid before 2025-06-01T13:00:00Z (1h0m0s from now)", "clock"}},
		{name: "issued in the future", claims: circle(set("iat", now.Add(10*time.Minute).Unix())), want: circleWant,
			errs: []string{"issued in the future (iat 2025-06-01T12:10:00Z"}},
		{name: "wrong audience", claims: circle(set("aud", "npm:registry.example.test")), want: circleWant,
			errs: []string{`audience (aud) is ["npm:registry.example.test"]`, `needs "npm:127.0.0.1"`, "npm's configuration", "npm config get registry"}},
		{name: "no audience", claims: circle(func(c jwt.MapClaims) { delete(c, "aud") }), want: circleWant, errs: []string{"audience (aud) is []"}},

		{name: "org mismatch", claims: circle(func(c jwt.MapClaims) {
			c[ClaimOrgID] = "o-2"
			c["iss"] = CircleCIIssuerPrefix + "o-2"
		}), want: circleWant, claim: ClaimOrgID, errs: []string{
			`OIDC token claim oidc.circleci.com/org-id is "o-2" but the trusted publisher configured in release.json expects "` + orgID + `"`,
			`OIDC token claim iss is "https://oidc.circleci.com/org/o-2"`, "trustedPublisher.orgId"}},
		{name: "project mismatch", claims: circle(set(ClaimProjectID, "p-2")), want: circleWant, claim: ClaimProjectID, errs: []string{
			`OIDC token claim oidc.circleci.com/project-id is "p-2" but the trusted publisher configured in release.json expects "` + projectID + `"`, "trustedPublisher.projectId"}},
		{name: "pipeline definition mismatch", claims: circle(set(ClaimPipelineDefinitionID, "d-2")), want: circleWant, claim: ClaimPipelineDefinitionID, errs: []string{
			`claim oidc.circleci.com/pipeline-definition-id is "d-2" but the trusted publisher configured in release.json expects "` + pipelineID + `"`}},
		{name: "vcs origin mismatch", claims: circle(set(ClaimVCSOrigin, "github.com/someone/fork")), want: circleWant, claim: ClaimVCSOrigin, errs: []string{
			`claim oidc.circleci.com/vcs-origin is "github.com/someone/fork" but the trusted publisher configured in release.json expects "` + vcsOrigin + `"`}},
		{name: "vcs origin claim missing", claims: circle(func(c jwt.MapClaims) { delete(c, ClaimVCSOrigin) }), want: circleWant, claim: ClaimVCSOrigin,
			errs: []string{`claim oidc.circleci.com/vcs-origin is ""`}},
		{name: "context missing", claims: circle(set(ClaimContextIDs, []string{"c0"})), want: circleWant, claim: ClaimContextIDs, errs: []string{
			`claim oidc.circleci.com/context-ids is ["c0"] but the trusted publisher configured in release.json expects it to include context "` + contextID + `"`, "context:"}},
		{name: "no contexts at all", claims: circle(func(c jwt.MapClaims) { delete(c, ClaimContextIDs) }), want: circleWant, claim: ClaimContextIDs,
			errs: []string{"context-ids is []"}},
		{name: "one of two contexts missing", claims: circle(nil),
			want:  Expectation{Publisher: &publisher.Identity{Provider: publisher.CircleCI, OrgID: orgID, ProjectID: projectID, PipelineDefinitionID: pipelineID, VCSOrigin: vcsOrigin, ContextIDs: []string{contextID, "c-9"}}},
			claim: ClaimContextIDs, errs: []string{`include context "c-9"`}},
		{name: "every problem is reported", claims: circle(func(c jwt.MapClaims) {
			c["exp"] = now.Add(-time.Minute).Unix()
			c[ClaimProjectID] = "p-2"
			c["aud"] = "npm:other.test"
		}), want: circleWant, errs: []string{"expired at", "project-id", "audience (aud)"}},
		{name: "GitHub token for a CircleCI publisher", claims: github(nil), want: circleWant, errs: []string{`issued by "https://token.actions.githubusercontent.com", not by CircleCI`}},

		{name: "GitHub valid", claims: github(nil), want: ghWant},
		{name: "GitHub environment is case-sensitive, as npm matches it", claims: github(set("environment", "NPM")), want: ghWant, claim: "environment",
			errs: []string{`claim environment is "NPM"`}},
		{name: "GitHub repository mismatch", claims: github(set("repository", "someone/fork")), want: ghWant, claim: "repository",
			errs: []string{`claim repository is "someone/fork" but the trusted publisher configured in release.json expects "agent-facets/facets"`}},
		{name: "GitHub workflow mismatch", claims: github(set("workflow_ref", "agent-facets/facets/.github/workflows/other.yml@refs/heads/main")), want: ghWant, claim: "workflow_ref",
			errs: []string{`claim workflow_ref is "agent-facets/facets/.github/workflows/other.yml@refs/heads/main"`, `workflow file "release.yml"`}},
		{name: "GitHub environment mismatch", claims: github(set("environment", "staging")), want: ghWant, claim: "environment",
			errs: []string{`claim environment is "staging"`, "environment: npm"}},
		{name: "CircleCI token for a GitHub publisher", claims: circle(nil), want: ghWant, errs: []string{"not by GitHub Actions"}},
		{name: "GitHub ref is the release tag", claims: github(nil), want: withRef(ghWant, "refs/tags/v1.0.0")},
		{name: "GitHub ref is another tag", claims: github(set("ref", "refs/tags/v0.9.0")), want: withRef(ghWant, "refs/tags/v1.0.0"), claim: "ref",
			errs: []string{`claim ref is "refs/tags/v0.9.0" but the trusted publisher configured in release.json expects "refs/tags/v1.0.0" (the release tag)`}},
		{name: "GitHub ref is a branch", claims: github(set("ref", "refs/heads/main")), want: withRef(ghWant, "refs/tags/v1.0.0"), claim: "ref",
			errs: []string{`claim ref is "refs/heads/main"`, "on: push: tags"}},
		{name: "ref is not checked for CircleCI", claims: circle(nil), want: withRef(circleWant, "refs/tags/v1.0.0")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := sign(t, tc.claims)
			err := Check(tok, tc.want, now)
			captureErr(t, err)
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check accepted the token, want an error mentioning %q", tc.errs)
			}
			for _, s := range tc.errs {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not mention %q:\n%v", s, err)
				}
			}
			if tc.claim != "" {
				var ce *ClaimError
				if !errors.As(err, &ce) || (ce.Claim != tc.claim && ce.Claim != "iss") {
					t.Errorf("error is not a *ClaimError about %s: %#v", tc.claim, ce)
				}
			}
			if strings.Contains(err.Error(), tok) {
				t.Error("the error contains the token")
			}
		})
	}
}

func withRef(e Expectation, ref string) Expectation {
	e.Ref = ref
	return e
}

func TestCheckMalformed(t *testing.T) {
	t.Parallel()
	jwtish := sign(t, circleClaims(aud, time.Hour))
	head, _, _ := strings.Cut(jwtish, ".")
	tests := []struct {
		name, token, want string
	}{
		{"empty", "", "empty"},
		{"plain text", "hello-world-token-value", "three base64url parts"},
		{"npm token", "npm_" + strings.Repeat("Zz9", 12), "not an npm token"},
		{"two parts", head + ".eyJmb28iOiJiYXIifQ", "three base64url parts"},
		{"bad base64", head + ".%%%%%%%%.sig", "not base64url"},
		{"not JSON", head + ".bm90IGpzb24gYXQgYWxs.sig", "not JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Check(tc.token, Expectation{Audience: aud, Publisher: testPublisher()}, time.Now())
			captureErr(t, err)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check(%s) = %v, want an error mentioning %q", tc.name, err, tc.want)
			}
			if tc.token != "" && strings.Contains(err.Error(), tc.token) {
				t.Fatal("the error quotes the token")
			}
			if tc.token != "" && !strings.Contains(err.Error(), "not a JWT") {
				t.Fatalf("error does not say the token is not a JWT: %v", err)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	c, err := Decode(sign(t, circleClaims(aud, time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsCircleCI() || c.IsGitHub() || c.OrgID != orgID || c.ProjectID != projectID || c.PipelineDefinitionID != pipelineID ||
		c.VCSOrigin != vcsOrigin || len(c.ContextIDs) != 1 || c.ContextIDs[0] != contextID || c.VCSRef != "refs/heads/main" ||
		len(c.Audience) != 1 || c.Audience[0] != aud || c.Issuer != CircleCIIssuerPrefix+orgID {
		t.Fatalf("decoded claims: %+v", c)
	}
	for _, s := range []string{ClaimOrgID + `="` + orgID + `"`, ClaimProjectID + `="` + projectID + `"`, ClaimPipelineDefinitionID, ClaimVCSOrigin, `["` + contextID + `"]`} {
		if !strings.Contains(c.Identity(), s) {
			t.Errorf("Identity() = %s, lacks %s", c.Identity(), s)
		}
	}
	g, err := Decode(sign(t, localregistry.GitHubClaims("o/r", "release.yml", "refs/heads/main", "npm", time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if !g.IsGitHub() || g.Repository != "o/r" || g.WorkflowRef != "o/r/.github/workflows/release.yml@refs/heads/main" || g.Environment != "npm" {
		t.Fatalf("decoded GitHub claims: %+v", g)
	}
	if id := g.Identity(); !strings.Contains(id, `repository="o/r"`) || !strings.Contains(id, `environment="npm"`) {
		t.Fatalf("GitHub Identity() = %s", id)
	}
}

// TestAudience compares with what npm computes, by asking node.
func TestAudience(t *testing.T) {
	t.Parallel()
	urls := []string{
		"http://127.0.0.1:4873/",
		"https://Registry.Example.test/",
		"https://registry.example.test/some/path/",
		"http://user:pass@npm.example.test:8080",
		"http://[::1]:4873/",
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	for _, u := range urls {
		out, err := exec.Command(node, "-e", "process.stdout.write('npm:' + new URL(process.argv[1]).hostname)", u).Output()
		if err != nil {
			t.Fatalf("node: %v", err)
		}
		if got := Audience(u); got != string(out) {
			t.Errorf("Audience(%q) = %q, npm computes %q", u, got, out)
		}
	}
	if got := Audience("not a url"); got != "npm:" {
		t.Errorf("Audience of a non-URL = %q", got)
	}
}

// TestExchangeURL compares with the URL npm's oidc.js builds, by asking node
// with npm's own npm-package-arg.
func TestExchangeURL(t *testing.T) {
	t.Parallel()
	npmRoot, err := exec.Command("npm", "root", "-g").Output()
	if err != nil {
		t.Skip("npm is not installed")
	}
	npa := filepath.Join(strings.TrimSpace(string(npmRoot)), "npm", "node_modules", "npm-package-arg")
	tests := []struct{ registry, pkg string }{
		{"http://127.0.0.1:4873/", "@agent-facets/cli-linux-x64"},
		{"http://127.0.0.1:4873", "agent-facets"},
		{"https://registry.example.test/npm/private/", "@agent-facets/cli-windows-x64-baseline"},
	}
	for _, tc := range tests {
		js := "const npa = require(process.argv[1]); process.stdout.write(new URL(`/-/npm/v1/oidc/token/exchange/package/${npa(process.argv[3]).escapedName}`, process.argv[2]).href)"
		out, err := exec.Command("node", "-e", js, npa, tc.registry, tc.pkg).Output()
		if err != nil {
			t.Fatalf("node: %v", err)
		}
		got, err := ExchangeURL(tc.registry, tc.pkg)
		if err != nil || got != string(out) {
			t.Errorf("ExchangeURL(%q, %q) = %q, %v; npm uses %q", tc.registry, tc.pkg, got, err, out)
		}
	}
	if _, err := ExchangeURL("127.0.0.1:4873", "x"); err == nil || !strings.Contains(err.Error(), "npm config get registry") {
		t.Errorf("relative registry URL: %v", err)
	}
}
