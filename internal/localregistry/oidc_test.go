package localregistry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/registry"

	"github.com/golang-jwt/jwt/v5"
)

func circleClaims(reg *localregistrytest.Registry) jwt.MapClaims {
	c := localregistry.CircleCIClaims(orgID, projectID, pipelineID, vcsOrigin, []string{contextID}, time.Hour)
	c["aud"] = reg.Audience()
	return c
}

// exchange calls the OIDC exchange endpoint like npm does.
func exchange(t *testing.T, reg *localregistrytest.Registry, pkg, idToken string) (int, map[string]string) {
	t.Helper()
	resp, data := mustHTTP(t, http.MethodPost, reg.URL+"-/npm/v1/oidc/token/exchange/package/"+registry.EscapeName(pkg),
		map[string]string{"Authorization": "Bearer " + idToken}, nil)
	var out map[string]string
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("exchange answer is not JSON: %s", data)
	}
	return resp.StatusCode, out
}

func TestOIDCExchange(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "owner")
	const pkg = "@testreg/oidc-exchange"
	publish(t, reg, token, pkg, "1.0.0")
	publish(t, reg, token, "testreg-untrusted", "1.0.0")
	reg.SetTrust(pkg, localregistry.CircleCITrust(orgID, projectID, pipelineID, vcsOrigin, []string{contextID}))

	with := func(mut func(jwt.MapClaims)) string {
		c := circleClaims(reg)
		mut(c)
		return reg.Issuer.Mint(c)
	}
	tests := []struct {
		name    string
		pkg     string
		idToken string
		status  int
		message string // substring of the message
	}{
		{"match", pkg, with(func(jwt.MapClaims) {}), 201, ""},
		{"extra contexts are fine", pkg, with(func(c jwt.MapClaims) {
			c[localregistry.ClaimCircleContextIDs] = []any{"other", contextID}
		}), 201, ""},
		{"expired", pkg, reg.Issuer.Mint(func() jwt.MapClaims {
			c := localregistry.CircleCIClaims(orgID, projectID, pipelineID, vcsOrigin, []string{contextID}, -time.Minute)
			c["aud"] = reg.Audience()
			return c
		}()), 401, "expired"},
		{"not yet valid", pkg, with(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), 401, "not valid before"},
		{"wrong audience", pkg, with(func(c jwt.MapClaims) { c["aud"] = "npm:registry.example" }), 401, "audience"},
		{"foreign signer", pkg, localregistry.NewIssuer().Mint(circleClaims(reg)), 401, "signature"},
		{"garbage", pkg, "not-a-jwt", 401, "well-formed"},
		{"missing package", "@testreg/missing", with(func(jwt.MapClaims) {}), 404, "not found"},
		{"no trusted publisher", "testreg-untrusted", with(func(jwt.MapClaims) {}), 403, "no trusted publisher configured"},
		{"project mismatch", pkg, with(func(c jwt.MapClaims) { c[localregistry.ClaimCircleProjectID] = "x" }), 403, localregistry.ClaimCircleProjectID},
		{"pipeline mismatch", pkg, with(func(c jwt.MapClaims) { c[localregistry.ClaimCirclePipelineDefID] = "x" }), 403, localregistry.ClaimCirclePipelineDefID},
		{"vcs mismatch", pkg, with(func(c jwt.MapClaims) { c[localregistry.ClaimCircleVCSOrigin] = "github.com/o/other" }), 403, localregistry.ClaimCircleVCSOrigin},
		{"missing context", pkg, with(func(c jwt.MapClaims) { c[localregistry.ClaimCircleContextIDs] = []any{} }), 403, localregistry.ClaimCircleContextIDs},
		{"issuer of another org", pkg, with(func(c jwt.MapClaims) { c["iss"] = localregistry.CircleCIIssuerPrefix + "other" }), 403, "claim iss"},
		{"github token for a circleci publisher", pkg, reg.Issuer.Mint(func() jwt.MapClaims {
			c := localregistry.GitHubClaims("o/r", "release.yml", "refs/heads/main", "", time.Hour)
			c["aud"] = reg.Audience()
			return c
		}()), 403, "type circleci"},
	}
	tokenRE := regexp.MustCompile(`^npm_[A-Za-z0-9]{36}$`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := exchange(t, reg, tc.pkg, tc.idToken)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, body)
			}
			if tc.status == 201 {
				if !tokenRE.MatchString(body["token"]) {
					t.Fatalf("token has the wrong shape")
				}
				if _, err := time.Parse(time.RFC3339, body["expires"]); err != nil {
					t.Fatalf("expires %q: %v", body["expires"], err)
				}
				return
			}
			if !strings.Contains(body["message"], tc.message) {
				t.Fatalf("message %q does not mention %q", body["message"], tc.message)
			}
		})
	}
}

func TestOIDCTokenScope(t *testing.T) {
	t.Parallel()
	clock := localregistrytest.NewClock()
	reg := localregistrytest.Start(t, localregistry.WithClock(clock.Now))
	token := reg.AddUser(t, "owner")
	const pkg = "@testreg/oidc-scope"
	publish(t, reg, token, pkg, "1.0.0")
	publish(t, reg, token, "testreg-other", "1.0.0")
	reg.SetTrust(pkg, localregistry.CircleCITrust(orgID, projectID, pipelineID, vcsOrigin, nil))
	status, body := exchange(t, reg, pkg, reg.Issuer.Mint(circleClaims(reg)))
	if status != 201 {
		t.Fatalf("exchange: %d %v", status, body)
	}
	npmToken := body["token"]
	auth := map[string]string{"Authorization": "Bearer " + npmToken}

	tests := []struct {
		name, method, path string
		status             int
	}{
		{"read own packument", "GET", "@testreg%2foidc-scope", 200},
		{"read another packument", "GET", "testreg-other", 200},
		{"publish another package", "PUT", "testreg-other", 403},
		{"change a dist-tag", "PUT", "-/package/@testreg%2foidc-scope/dist-tags/next", 403},
		{"unpublish", "DELETE", "@testreg%2foidc-scope/-rev/1", 403},
		{"manage trust", "GET", "-/package/@testreg%2foidc-scope/trust", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := mustHTTP(t, tc.method, reg.URL+tc.path, auth, []byte(`"1.0.0"`))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, data)
			}
		})
	}

	// An expired exchanged token is refused.
	clock.Advance(time.Hour)
	resp, data := mustHTTP(t, http.MethodGet, reg.URL+"testreg-other", auth, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(data), "expired") {
		t.Fatalf("expired token: %d %s", resp.StatusCode, data)
	}
	resp, _ = mustHTTP(t, http.MethodGet, reg.URL+"testreg-other", map[string]string{"Authorization": "Bearer npm_unknown"}, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown npm_ token: %d", resp.StatusCode)
	}
}

// oidcEnv is the environment of a CircleCI job with an ID token and no other
// npm credentials.
func oidcEnv(t *testing.T, reg *localregistrytest.Registry, idToken string) []string {
	return append(reg.NpmEnv(t, ""), "CIRCLECI=true", "CI=true", "NPM_ID_TOKEN="+idToken)
}

func TestOIDCPublishWithRealNpm(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "owner")
	const pkg = "@testreg/oidc-publish"
	publish(t, reg, token, pkg, "1.0.0")
	mustNpm(t, t.TempDir(), reg.NpmEnv(t, token), trustCircleCIArgs(pkg)...)

	// The ID token comes from the stand-in circleci CLI, as in a real job.
	bin := reg.InstallFakeCircleCI(t, localregistry.CircleCIClaims(orgID, projectID, pipelineID, vcsOrigin, []string{contextID}, time.Hour))
	idToken := fakeCircleCIToken(t, bin, reg.Audience())

	t.Run("matching trust publishes", func(t *testing.T) {
		mustNpm(t, makePackage(t, pkg, "1.1.0"), oidcEnv(t, reg, idToken), "publish", "--access", "public")
		if !reg.HasVersion(t, pkg, "1.1.0") {
			t.Fatal("1.1.0 not on the registry after an OIDC publish")
		}
		var exchanged bool
		for _, rq := range reg.Requests() {
			exchanged = exchanged || strings.HasPrefix(rq.Path, "/-/npm/v1/oidc/token/exchange/package/") && rq.Package == pkg && rq.Status == 201
		}
		if !exchanged {
			t.Fatal("npm published without exchanging the ID token")
		}
		status, p := getPackument(t, reg, pkg, false, "")
		if status != 200 || p.DistTags["latest"] != "1.1.0" {
			t.Fatalf("packument after OIDC publish: %d %+v", status, p)
		}
	})

	t.Run("drifted trust is refused", func(t *testing.T) {
		reg.SetTrust(pkg, localregistry.CircleCITrust(orgID, "00000000-0000-4000-8000-000000000000", pipelineID, vcsOrigin, nil))
		res := runNpm(t, makePackage(t, pkg, "1.2.0"), oidcEnv(t, reg, idToken), "publish", "--access", "public")
		// npm swallows the failed exchange and reports a misleading ENEEDAUTH.
		if res.err == nil || !strings.Contains(res.stderr, "ENEEDAUTH") {
			t.Fatalf("publish with drifted trust: err=%v\n%s", res.err, res.stderr)
		}
		if reg.HasVersion(t, pkg, "1.2.0") {
			t.Fatal("1.2.0 was published although the trust configuration does not match")
		}
	})

	t.Run("no ID token, no credentials", func(t *testing.T) {
		res := runNpm(t, makePackage(t, pkg, "1.3.0"), append(reg.NpmEnv(t, ""), "CIRCLECI=true"), "publish")
		if res.err == nil || reg.HasVersion(t, pkg, "1.3.0") {
			t.Fatalf("publish without credentials: err=%v", res.err)
		}
	})

	if n := reg.PublishCount(pkg); n != 2 {
		t.Fatalf("PublishCount = %d, want 2 (seed + one OIDC publish)", n)
	}
}

func TestOIDCPublishGitHubActions(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "owner")
	const pkg = "testreg-gha"
	publish(t, reg, token, pkg, "1.0.0")
	reg.SetTrust(pkg, localregistry.GitHubTrust("o/r", "release.yml", "npm"))

	run := func(t *testing.T, version string, claims jwt.MapClaims) npmResult {
		env := append(reg.NpmEnv(t, ""), reg.GitHubActionsEnv(claims)...)
		return runNpm(t, makePackage(t, pkg, version), env, "publish")
	}
	res := run(t, "1.1.0", localregistry.GitHubClaims("o/r", "release.yml", "refs/tags/v1.1.0", "npm", time.Hour))
	if res.err != nil || !reg.HasVersion(t, pkg, "1.1.0") {
		t.Fatalf("GitHub Actions OIDC publish: %v\n%s", res.err, res.stderr)
	}
	res = run(t, "1.2.0", localregistry.GitHubClaims("o/r", "other.yml", "refs/tags/v1.2.0", "npm", time.Hour))
	if res.err == nil || reg.HasVersion(t, pkg, "1.2.0") {
		t.Fatalf("publish from another workflow succeeded: %v", res.err)
	}
	var asked bool
	for _, rq := range reg.Requests() {
		asked = asked || rq.Path == "/-/localregistry/id-token" && rq.Status == 200
	}
	if !asked {
		t.Fatal("npm never asked the GitHub Actions token service")
	}
}

// fakeCircleCIToken runs the stand-in circleci CLI from bin.
func fakeCircleCIToken(t *testing.T, bin, aud string, extraEnv ...string) string {
	t.Helper()
	out, stderr, err := runFakeCircleCI(t, bin, aud, extraEnv...)
	if err != nil {
		t.Fatalf("circleci run oidc get: %v: %s", err, stderr)
	}
	return strings.TrimSpace(out)
}

func runFakeCircleCI(t *testing.T, bin, aud string, extraEnv ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "circleci"), "run", "oidc", "get", "--claims", `{"aud":"`+aud+`"}`)
	cmd.Env = append(os.Environ(), extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func TestFakeCircleCI(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	claims := localregistry.CircleCIClaims(orgID, projectID, pipelineID, vcsOrigin, []string{contextID}, time.Hour)
	bin := reg.InstallFakeCircleCI(t, claims)

	tok := fakeCircleCIToken(t, bin, reg.Audience())
	got, err := reg.Issuer.Verify(tok, time.Now)
	if err != nil {
		t.Fatalf("token from the fake circleci does not verify: %v", err)
	}
	if got["aud"] != reg.Audience() || got[localregistry.ClaimCircleProjectID] != projectID || got["iss"] != localregistry.CircleCIIssuerPrefix+orgID {
		t.Fatalf("claims = %v", got)
	}

	tests := []struct {
		name    string
		claims  string
		env     []string
		wantErr string
	}{
		{"forced failure", `{"aud":"x"}`, []string{"FAKE_CIRCLECI_FAIL=no OIDC token available in this job"}, "no OIDC token available"},
		{"only aud is customisable", `{"sub":"x"}`, nil, "only aud"},
		{"not JSON", `{`, nil, "not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(bin, "circleci"), "run", "oidc", "get", "--claims", tc.claims)
			cmd.Env = append(os.Environ(), tc.env...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.wantErr) {
				t.Fatalf("err=%v output=%s, want failure mentioning %q", err, out, tc.wantErr)
			}
		})
	}
}

// TestOIDCExchangeGitHubMatchesExactly: a GitHub trusted publisher matches
// the token's repository, the workflow file in workflow_ref and the
// environment exactly, case included, as npm documents ("All fields are
// case-sensitive and must be exact"); the ref is not part of it.
func TestOIDCExchangeGitHubMatchesExactly(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "owner")
	const pkg = "testreg-github-exact"
	publish(t, reg, token, pkg, "1.0.0")
	reg.SetTrust(pkg, localregistry.GitHubTrust("o/r", "release.yml", "npm"))
	mint := func(repo, file, ref, env string) string {
		c := localregistry.GitHubClaims(repo, file, ref, env, time.Hour)
		c["aud"] = reg.Audience()
		return reg.Issuer.Mint(c)
	}
	for _, tc := range []struct {
		name, repo, file, ref, env string
		status                     int
		message                    string
	}{
		{"match", "o/r", "release.yml", "refs/tags/v1.0.0", "npm", 201, ""},
		{"any ref", "o/r", "release.yml", "refs/heads/main", "npm", 201, ""},
		{"environment in other case", "o/r", "release.yml", "refs/tags/v1.0.0", "NPM", 403, `claim environment is "NPM", expected "npm"`},
		{"no environment", "o/r", "release.yml", "refs/tags/v1.0.0", "", 403, "claim environment"},
		{"repository in other case", "O/r", "release.yml", "refs/tags/v1.0.0", "npm", 403, "claim repository"},
		{"workflow file in other case", "o/r", "Release.yml", "refs/tags/v1.0.0", "npm", 403, "claim workflow_ref"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := exchange(t, reg, pkg, mint(tc.repo, tc.file, tc.ref, tc.env))
			if status != tc.status || !strings.Contains(body["message"], tc.message) {
				t.Fatalf("status %d %q, want %d %q", status, body["message"], tc.status, tc.message)
			}
		})
	}
}
