package publish_test

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/publisher"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/internal/trust"
)

const releaseRef = "refs/tags/agent-facets@" + ver

func githubPublisher(c *config.Config) {
	c.TrustedPublisher = publisher.Identity{Provider: publisher.GitHub, Repository: "agent-facets/facets", Workflow: "release.yml", Environment: "npm"}
}

func githubClaims(mut func(jwt.MapClaims)) jwt.MapClaims {
	c := localregistry.GitHubClaims("agent-facets/facets", "release.yml", releaseRef, "npm", time.Hour)
	if mut != nil {
		mut(c)
	}
	return c
}

// TestGitHubActionsTrustedPublishing publishes from a GitHub Actions job
// of the configured workflow, on the release tag, with the ID token from
// GitHub's token service; a token whose repository, workflow, environment
// or ref is not the configured one is refused before anything is written.
func TestGitHubActionsTrustedPublishing(t *testing.T) {
	t.Parallel()
	reg, maintainer, out := release(t, githubPublisher)
	if _, err := (&trust.Attacher{Env: maintainer, Pacing: time.Millisecond}).Attach(ctx(t), maintainer.CLIPackages()[:3]); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	job := func(claims jwt.MapClaims) (*toolkit.Env, *toolkittest.Buffer) {
		env := append(reg.NpmEnv(t, ""), reg.GitHubActionsEnv(claims)...)
		return toolkittest.Env(t, maintainer.Cfg, append(env, "CI=true", "GITHUB_REF_TYPE=tag", "GITHUB_REF_NAME=agent-facets@"+ver)...)
	}
	for _, tc := range []struct {
		name string
		mut  func(jwt.MapClaims)
		want []string
	}{
		{"another repository", func(c jwt.MapClaims) {
			c["repository"] = "someone/fork"
			c["workflow_ref"] = "someone/fork/.github/workflows/release.yml@" + releaseRef
		}, []string{`claim repository is "someone/fork"`, `workflow_ref is "someone/fork/.github/workflows/release.yml@` + releaseRef + `"`}},
		{"another workflow", func(c jwt.MapClaims) {
			c["workflow_ref"] = "agent-facets/facets/.github/workflows/ci.yml@" + releaseRef
		},
			[]string{`claim workflow_ref is "agent-facets/facets/.github/workflows/ci.yml@`, `workflow file "release.yml"`}},
		{"another environment", func(c jwt.MapClaims) { c["environment"] = "staging" },
			[]string{`claim environment is "staging"`, "environment: npm"}},
		{"another ref", func(c jwt.MapClaims) { c["ref"] = "refs/heads/main" },
			[]string{`claim ref is "refs/heads/main"`, `"` + releaseRef + `" (the release tag)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, jobOut := job(githubClaims(tc.mut))
			before := len(reg.Requests())
			o := fastOpts()
			o.Auth = publish.NewOIDC(e)
			_, err := publish.Platform(ctx(t), e, "linux-arm64", ver, o)
			if err == nil {
				t.Fatalf("published anyway\n%s", jobOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if w := writes(reg, before); len(w) > 0 {
				t.Errorf("writes happened: %v", w)
			}
			for _, r := range reg.Requests()[before:] {
				if strings.Contains(r.Path, "/oidc/token/exchange/") {
					t.Errorf("the token was offered to the registry: %s", r.Path)
				}
			}
			assertNoSecrets(t, jobOut.String(), err.Error())
		})
	}

	e, jobOut := job(githubClaims(nil))
	o := fastOpts()
	o.Auth = publish.NewOIDC(e)
	rec, err := publish.Platform(ctx(t), e, "linux-arm64", ver, o)
	if err != nil || rec.Action != outcome.Published {
		t.Fatalf("%+v %v\n%s", rec, err, jobOut)
	}
	if !strings.Contains(jobOut.String(), "(trusted publishing from GitHub Actions)") {
		t.Errorf("output:\n%s", jobOut)
	}
	assertNoSecrets(t, jobOut.String())
}
