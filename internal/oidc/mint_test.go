package oidc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/testreg"
)

// clearCIEnv makes the test's environment that of no CI at all.
func clearCIEnv(t *testing.T) {
	for _, k := range []string{"CI", "CIRCLECI", "GITHUB_ACTIONS", "GITLAB_CI", "NPM_ID_TOKEN",
		"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "FAKE_CIRCLECI_FAIL"} {
		t.Setenv(k, "")
	}
}

func setEnv(t *testing.T, env []string) {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestMint mints through the stand-in circleci CLI and the emulated GitHub
// token service of testreg, and picks between them by environment. It
// changes the environment, so it does not run in parallel.
func TestMint(t *testing.T) {
	reg := testreg.Start(t)
	clearCIEnv(t)
	bin := reg.InstallFakeCircleCI(t, testreg.CircleCIClaims(orgID, projectID, pipelineID, vcsOrigin, []string{contextID}, time.Hour))
	pathWithCircleCI := bin + string(os.PathListSeparator) + os.Getenv("PATH")
	want := Expectation{Audience: reg.Audience(), CircleCI: publisher()}

	t.Run("circleci", func(t *testing.T) {
		t.Setenv("PATH", pathWithCircleCI)
		tok, err := MintCircleCI(ctx(t), reg.Audience())
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
		t.Setenv("PATH", pathWithCircleCI)
		t.Setenv("FAKE_CIRCLECI_FAIL", "OIDC tokens are not available to jobs of forked pull requests")
		tok, err := MintCircleCI(ctx(t), reg.Audience())
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
		t.Setenv("PATH", t.TempDir())
		_, err := MintCircleCI(ctx(t), reg.Audience())
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
		t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
		_, err := MintCircleCI(ctx(t), reg.Audience())
		captureErr(t, err)
		if err == nil || !strings.Contains(err.Error(), "not a JWT") || !strings.Contains(err.Error(), "circleci version") {
			t.Fatalf("MintCircleCI with an old CLI: %v", err)
		}
	})

	ghClaims := testreg.GitHubClaims("agent-facets/facets", "release.yml", "refs/tags/v1.0.0", "npm", time.Hour)
	t.Run("github", func(t *testing.T) {
		env := reg.GitHubActionsEnv(ghClaims)
		setEnv(t, env)
		tok, err := MintGitHub(ctx(t), reg.Audience())
		noteToken(tok, strings.TrimPrefix(env[1], "ACTIONS_ID_TOKEN_REQUEST_TOKEN="))
		captureErr(t, err)
		if err != nil {
			t.Fatalf("MintGitHub: %v", err)
		}
		ghWant := Expectation{Audience: reg.Audience(), GitHub: &GitHubPublisher{Repository: "agent-facets/facets", Workflow: "release.yml", Environment: "npm"}}
		if err := Check(tok, ghWant, time.Now()); err != nil {
			t.Fatalf("the minted token does not pass Check: %v", err)
		}
	})

	t.Run("github without id-token permission", func(t *testing.T) {
		t.Setenv("GITHUB_ACTIONS", "true")
		t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "")
		t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
		_, err := MintGitHub(ctx(t), reg.Audience())
		captureErr(t, err)
		if err == nil || !strings.Contains(err.Error(), "permissions: id-token: write") {
			t.Fatalf("MintGitHub without permission: %v", err)
		}
	})

	t.Run("github token service refuses", func(t *testing.T) {
		env := reg.GitHubActionsEnv(ghClaims)
		setEnv(t, env)
		bogus := "bogus-request-token-0123456789"
		t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", bogus)
		noteToken(bogus)
		_, err := MintGitHub(ctx(t), reg.Audience())
		captureErr(t, err)
		if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "unknown ACTIONS_ID_TOKEN_REQUEST_TOKEN") {
			t.Fatalf("MintGitHub with a wrong request token: %v", err)
		}
	})

	t.Run("github token service fails then answers", func(t *testing.T) {
		setEnv(t, reg.GitHubActionsEnv(ghClaims))
		reg.Inject(testreg.Fault{Method: "GET", PathPrefix: "/_gha/token", Status: 503})
		tok, err := MintGitHub(ctx(t), reg.Audience())
		noteToken(tok)
		captureErr(t, err)
		if err != nil {
			t.Fatalf("MintGitHub after one 503: %v", err)
		}
	})

	t.Run("selection", func(t *testing.T) {
		preset := testreg.NewIssuer().Mint(circleClaims(reg.Audience(), time.Hour))
		noteToken(preset)
		tests := []struct {
			name string
			env  []string
			// check the outcome
			iss, errs string
		}{
			{name: "NPM_ID_TOKEN wins", env: []string{"NPM_ID_TOKEN=" + preset, "CIRCLECI=true", "PATH=" + t.TempDir()}, iss: "preset"},
			{name: "CircleCI", env: []string{"CIRCLECI=true", "PATH=" + pathWithCircleCI}, iss: CircleCIIssuerPrefix + orgID},
			{name: "GitHub Actions", env: reg.GitHubActionsEnv(ghClaims), iss: GitHubIssuer},
			{name: "GitLab without NPM_ID_TOKEN", env: []string{"GITLAB_CI=true"}, errs: "id_tokens: NPM_ID_TOKEN"},
			{name: "no CI", errs: "only works on CircleCI (CIRCLECI=true), GitHub Actions (GITHUB_ACTIONS=true), or GitLab with NPM_ID_TOKEN"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				clearCIEnv(t)
				setEnv(t, tc.env)
				tok, err := Mint(ctx(t), reg.URL)
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
