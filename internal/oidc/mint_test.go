package oidc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/publisher"
)

// runner runs programs with the test process's environment, PATH replaced
// by path when it is not empty, plus env.
func runner(path string, env ...string) *command.Runner {
	base := os.Environ()
	if path != "" {
		base = append(base, "PATH="+path)
	}
	return &command.Runner{Environ: command.Merge(base, env)}
}

// ghSource is the Source of a GitHub Actions job with env
// (GitHubActionsEnv's entries).
func ghSource(env []string) Source {
	return Source{CI: publisher.GitHub,
		GitHubTokenURL:     command.Getenv(env, "ACTIONS_ID_TOKEN_REQUEST_URL"),
		GitHubTokenRequest: command.Getenv(env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestMint mints through the stand-in circleci CLI and the emulated GitHub
// token service of the local registry, and picks between them by what the
// environment offers (a Source). Nothing reads the process environment.
func TestMint(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	bin := reg.InstallFakeCircleCI(t, localregistry.CircleCIClaims(orgID, projectID, pipelineID, vcsOrigin, []string{contextID}, time.Hour))
	pathWithCircleCI := bin + string(os.PathListSeparator) + os.Getenv("PATH")
	want := Expectation{Audience: reg.Audience(), Publisher: testPublisher()}

	t.Run("circleci", func(t *testing.T) {
		tok, err := MintCircleCI(ctx(t), runner(pathWithCircleCI), reg.Audience())
		noteToken(tok)
		captureErr(t, err)
		if err != nil {
			t.Fatalf("MintCircleCI: %v", err)
		}
		if err := Check(tok, want, time.Now()); err != nil {
			t.Fatalf("the minted token does not pass Check: %v", err)
		}
	})

	t.Run("circleci fails with a message", func(t *testing.T) {
		tok, err := MintCircleCI(ctx(t), runner(pathWithCircleCI, "FAKE_CIRCLECI_FAIL=OIDC tokens are not available to jobs of forked pull requests"), reg.Audience())
		captureErr(t, err)
		if err == nil || tok != "" {
			t.Fatalf("MintCircleCI succeeded: %q", tok)
		}
		for _, s := range []string{"circleci run oidc get", "Error: OIDC tokens are not available to jobs of forked pull requests", "exit status 1"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error does not mention %q: %v", s, err)
			}
		}
	})

	t.Run("circleci not on PATH", func(t *testing.T) {
		_, err := MintCircleCI(ctx(t), runner(t.TempDir()), reg.Audience())
		captureErr(t, err)
		if err == nil || !strings.Contains(err.Error(), "`circleci` is not on PATH") || !strings.Contains(err.Error(), "install the CircleCI CLI in the job's image") {
			t.Fatalf("MintCircleCI without circleci: %v", err)
		}
	})

	t.Run("circleci prints something else", func(t *testing.T) {
		dir := t.TempDir()
		script := "#!/bin/sh\necho 'Usage: circleci <command>'\n"
		if err := os.WriteFile(filepath.Join(dir, "circleci"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := MintCircleCI(ctx(t), runner(dir+string(os.PathListSeparator)+os.Getenv("PATH")), reg.Audience())
		captureErr(t, err)
		if err == nil || !strings.Contains(err.Error(), "not a JWT") || !strings.Contains(err.Error(), "circleci version") {
			t.Fatalf("MintCircleCI with an old CLI: %v", err)
		}
	})

	ghClaims := localregistry.GitHubClaims("agent-facets/facets", "release.yml", "refs/tags/v1.0.0", "npm", time.Hour)
	t.Run("github", func(t *testing.T) {
		env := reg.GitHubActionsEnv(ghClaims)
		src := ghSource(env)
		tok, err := MintGitHub(ctx(t), src.GitHubTokenURL, src.GitHubTokenRequest, reg.Audience())
		noteToken(tok, src.GitHubTokenRequest)
		captureErr(t, err)
		if err != nil {
			t.Fatalf("MintGitHub: %v", err)
		}
		ghWant := Expectation{Audience: reg.Audience(), Publisher: &publisher.Identity{Provider: publisher.GitHub, Repository: "agent-facets/facets", Workflow: "release.yml", Environment: "npm"}}
		if err := Check(tok, ghWant, time.Now()); err != nil {
			t.Fatalf("the minted token does not pass Check: %v", err)
		}
	})

	t.Run("github without id-token permission", func(t *testing.T) {
		_, err := MintGitHub(ctx(t), "", "", reg.Audience())
		captureErr(t, err)
		if err == nil || !strings.Contains(err.Error(), "permissions: id-token: write") {
			t.Fatalf("MintGitHub without permission: %v", err)
		}
	})

	t.Run("github token service refuses", func(t *testing.T) {
		src := ghSource(reg.GitHubActionsEnv(ghClaims))
		bogus := "bogus-request-token-0123456789"
		noteToken(bogus)
		_, err := MintGitHub(ctx(t), src.GitHubTokenURL, bogus, reg.Audience())
		captureErr(t, err)
		if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "unknown ACTIONS_ID_TOKEN_REQUEST_TOKEN") {
			t.Fatalf("MintGitHub with a wrong request token: %v", err)
		}
	})

	t.Run("github token service fails then answers", func(t *testing.T) {
		src := ghSource(reg.GitHubActionsEnv(ghClaims))
		reg.Inject(localregistry.Fault{Method: "GET", PathPrefix: "/-/localregistry/id-token", Status: 503})
		tok, err := MintGitHub(ctx(t), src.GitHubTokenURL, src.GitHubTokenRequest, reg.Audience())
		noteToken(tok)
		captureErr(t, err)
		if err != nil {
			t.Fatalf("MintGitHub after one 503: %v", err)
		}
	})

	t.Run("selection", func(t *testing.T) {
		preset := localregistry.NewIssuer().Mint(circleClaims(reg.Audience(), time.Hour))
		noteToken(preset)
		gh := ghSource(reg.GitHubActionsEnv(ghClaims))
		tests := []struct {
			name string
			src  Source
			// check the outcome
			iss, errs string
		}{
			{name: "NPM_ID_TOKEN wins", src: Source{IDToken: preset, CI: publisher.CircleCI, Run: runner(t.TempDir())}, iss: "preset"},
			{name: "CircleCI", src: Source{CI: publisher.CircleCI, Run: runner(pathWithCircleCI)}, iss: CircleCIIssuerPrefix + orgID},
			{name: "GitHub Actions", src: gh, iss: GitHubIssuer},
			{name: "GitLab without NPM_ID_TOKEN", src: Source{CI: publisher.GitLab}, errs: "id_tokens: NPM_ID_TOKEN"},
			{name: "no CI", errs: "only works on CircleCI (CIRCLECI=true), GitHub Actions (GITHUB_ACTIONS=true), or GitLab with NPM_ID_TOKEN"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tok, err := Mint(ctx(t), tc.src, reg.URL)
				noteToken(tok)
				captureErr(t, err)
				if tc.errs != "" {
					if err == nil || !strings.Contains(err.Error(), tc.errs) {
						t.Fatalf("Mint: %v, want an error mentioning %q", err, tc.errs)
					}
					return
				}
				if err != nil {
					t.Fatalf("Mint: %v", err)
				}
				if tc.iss == "preset" {
					if tok != preset {
						t.Fatal("Mint did not return NPM_ID_TOKEN as it is")
					}
					return
				}
				c, err := Decode(tok)
				if err != nil {
					t.Fatal(err)
				}
				if c.Issuer != tc.iss || len(c.Audience) != 1 || c.Audience[0] != reg.Audience() {
					t.Fatalf("minted token: iss %q aud %v, want iss %q aud %q", c.Issuer, c.Audience, tc.iss, reg.Audience())
				}
			})
		}
	})
}
