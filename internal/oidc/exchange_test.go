package oidc

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/publisher"
)

// npmRun runs the real npm CLI in dir with os.Environ() plus env, and
// records what it printed.
func npmRun(t *testing.T, dir string, env []string, args ...string) (string, error) {
	c, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(c, "npm", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	capture(t, "npm "+args[0]+" output", string(out))
	return string(out), err
}

// makePackage writes a tiny package and returns its directory.
func makePackage(t *testing.T, name, version string) string {
	t.Helper()
	dir := t.TempDir()
	manifest := fmt.Sprintf(`{"name": %q, "version": %q, "description": "oidc test fixture", "license": "MIT"}`, name, version)
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte("module.exports = 42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// seed publishes name@1.0.0 with a user token: OIDC cannot create packages.
func seed(t *testing.T, reg *localregistrytest.Registry, userToken, name string) {
	t.Helper()
	if out, err := npmRun(t, makePackage(t, name, "1.0.0"), reg.NpmEnv(t, userToken), "publish", "--access", "public"); err != nil {
		t.Fatalf("seed %s: %v\n%s", name, err, out)
	}
}

// seedHTTP publishes name@1.0.0 with a user token the way npm does (PUT of
// the packument with the tarball attached), without paying for an npm run.
func seedHTTP(t *testing.T, reg *localregistrytest.Registry, userToken, name string) {
	t.Helper()
	manifest := map[string]any{"name": name, "version": "1.0.0", "description": "oidc test fixture", "license": "MIT"}
	pj, _ := json.Marshal(manifest)
	var tgz bytes.Buffer
	zw := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644, Size: int64(len(pj)), ModTime: time.Unix(499162500, 0)}); err != nil {
		t.Fatal(err)
	}
	tw.Write(pj)
	tw.Close()
	zw.Close()
	sha1sum := sha1.Sum(tgz.Bytes())
	sha512sum := sha512.Sum512(tgz.Bytes())
	file := name[strings.LastIndex(name, "/")+1:] + "-1.0.0.tgz"
	manifest["_id"] = name + "@1.0.0"
	manifest["dist"] = map[string]any{
		"shasum":    hex.EncodeToString(sha1sum[:]),
		"integrity": "sha512-" + base64.StdEncoding.EncodeToString(sha512sum[:]),
		"tarball":   reg.URL + name + "/-/" + file,
	}
	doc, _ := json.Marshal(map[string]any{
		"_id": name, "name": name, "access": "public",
		"dist-tags":    map[string]string{"latest": "1.0.0"},
		"versions":     map[string]any{"1.0.0": manifest},
		"_attachments": map[string]any{file: map[string]any{"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz.Bytes()), "length": tgz.Len()}},
	})
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(c, http.MethodPut, reg.URL+strings.Replace(name, "/", "%2f", 1), bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+userToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("seed %s: %v", name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("seed %s: %d %s", name, resp.StatusCode, body)
	}
	if !reg.HasVersion(t, name, "1.0.0") {
		t.Fatalf("seed %s: 1.0.0 is not on the registry", name)
	}
}

// exchanges counts the exchange requests for pkg the registry answered with status.
func exchanges(reg *localregistrytest.Registry, pkg string, status int) int {
	n := 0
	for _, rq := range reg.Requests() {
		if strings.HasPrefix(rq.Path, ExchangePath) && rq.Package == pkg && rq.Status == status {
			n++
		}
	}
	return n
}

var npmTokenRE = regexp.MustCompile(`^npm_[A-Za-z0-9]{36}$`)

func TestExchange(t *testing.T) {
	reg := localregistrytest.Start(t)
	user := reg.AddUser(t, "owner")
	noteToken(user)
	const (
		trusted   = "@oidctest/cli-linux-x64"
		untrusted = "@oidctest/cli-darwin-arm64"
		drifted   = "oidctest-drifted"
		gh        = "@oidctest/gh"
		flaky     = "@oidctest/cli-flaky"
		limited   = "@oidctest/cli-limited"
		down      = "@oidctest/cli-down"
	)
	for _, p := range []string{trusted, untrusted, drifted, gh, flaky, limited, down} {
		seedHTTP(t, reg, user, p)
	}
	for _, p := range []string{trusted, flaky, limited, down} {
		reg.SetTrust(p, localregistry.CircleCITrust(orgID, projectID, pipelineID, vcsOrigin, []string{contextID}))
	}
	reg.SetTrust(drifted, localregistry.CircleCITrust(orgID, "00000000-0000-4000-8000-000000000000", pipelineID, vcsOrigin, nil))
	reg.SetTrust(gh, localregistry.GitHubTrust("agent-facets/facets", "release.yml", "npm"))

	mint := func(mut func(jwt.MapClaims)) string {
		c := circleClaims(reg.Audience(), time.Hour)
		if mut != nil {
			mut(c)
		}
		tok := reg.Issuer.Mint(c)
		noteToken(tok)
		return tok
	}
	good := mint(nil)
	ghClaims := localregistry.GitHubClaims("agent-facets/facets", "release.yml", "refs/tags/v1.0.0", "npm", time.Hour)
	ghClaims["aud"] = reg.Audience()
	ghTok := reg.Issuer.Mint(ghClaims)
	noteToken(ghTok)

	tests := []struct {
		name, pkg, token string
		fault            *localregistry.Fault
		errs             []string // substrings of the error; none: success
		status           int      // ExchangeError.Status expected
		minElapsed       time.Duration
	}{
		{name: "match", pkg: trusted, token: good},
		{name: "GitHub Actions match", pkg: gh, token: ghTok},
		{name: "no trusted publisher", pkg: untrusted, token: good, status: 403, errs: []string{
			"OIDC token exchange for " + untrusted + " refused", "registry answered 403 Forbidden",
			"no trusted publisher configured for package " + untrusted, // the registry's own message
			ClaimProjectID + `="` + projectID + `"`, ClaimOrgID, ClaimPipelineDefinitionID, ClaimVCSOrigin + `="` + vcsOrigin + `"`, contextID,
			"mage trust:check"}},
		{name: "claims do not match", pkg: drifted, token: good, status: 403, errs: []string{
			"refused", "403", "claim " + ClaimProjectID, `expected "00000000-0000-4000-8000-000000000000"`, "mage trust:check"}},
		{name: "token claims another project", pkg: trusted, token: mint(func(c jwt.MapClaims) { c[ClaimProjectID] = "p-2" }), status: 403, errs: []string{
			ClaimProjectID, `"p-2"`}},
		{name: "package missing", pkg: "@oidctest/never-seeded", token: good, status: 404, errs: []string{"404", "seed it first"}},
		{name: "expired token", pkg: trusted, token: mint(func(c jwt.MapClaims) {
			c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
		}), status: 401, errs: []string{"401", "expired", "mint a fresh token"}},
		{name: "foreign signer", pkg: trusted, token: func() string {
			tok := localregistry.NewIssuer().Mint(circleClaims(reg.Audience(), time.Hour))
			noteToken(tok)
			return tok
		}(), status: 401, errs: []string{"signature"}},
		{name: "503 then success", pkg: flaky, token: good, fault: &localregistry.Fault{Method: "POST", Package: flaky, Status: 503}},
		{name: "429 with Retry-After then success", pkg: limited, token: good,
			fault: &localregistry.Fault{Method: "POST", Package: limited, Status: 429, RetryAfter: time.Second}, minElapsed: time.Second},
		{name: "registry keeps failing", pkg: down, token: good, fault: &localregistry.Fault{Method: "POST", Package: down, Status: 502, Times: 1000},
			errs: []string{"502", "run the job again later"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault != nil {
				reg.Inject(*tc.fault)
			}
			c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			start := time.Now()
			got, err := Exchange(c, reg.URL, tc.pkg, tc.token)
			elapsed := time.Since(start)
			captureErr(t, err)
			if got != nil {
				noteToken(got.Token)
				capture(t, "NpmToken %v", fmt.Sprintf("%v %+v %#v %s", got, got, got, got))
			}
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				if !npmTokenRE.MatchString(got.Token) || time.Until(got.Expires) <= 0 {
					t.Fatalf("Exchange gave a token of the wrong shape or expired at %s", got.Expires)
				}
				if s := fmt.Sprintf("%v %+v %#v", got, *got, got); strings.Contains(s, got.Token) {
					t.Fatal("formatting an NpmToken reveals the token")
				}
				if tc.fault != nil && (exchanges(reg, tc.pkg, tc.fault.Status) != 1 || exchanges(reg, tc.pkg, 201) != 1) {
					t.Fatalf("want one %d then one 201 exchange of %s: %+v", tc.fault.Status, tc.pkg, reg.Requests())
				}
				if elapsed < tc.minElapsed {
					t.Fatalf("retried after %s, before the Retry-After of %s", elapsed, tc.minElapsed)
				}
				return
			}
			if err == nil {
				t.Fatalf("Exchange succeeded, want an error mentioning %q", tc.errs)
			}
			for _, s := range tc.errs {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not mention %q:\n%v", s, err)
				}
			}
			var ee *ExchangeError
			if tc.status != 0 && (!errors.As(err, &ee) || ee.Status != tc.status || ee.Package != tc.pkg) {
				t.Errorf("error is not an *ExchangeError with status %d: %#v", tc.status, ee)
			}
		})
	}

	t.Run("preflight", func(t *testing.T) {
		want := Expectation{Publisher: testPublisher()}
		if err := Preflight(ctx(t), reg.URL, trusted, good, want); err != nil {
			t.Fatalf("Preflight of a good token: %v", err)
		}
		before := len(reg.Requests())
		short := mint(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(30 * time.Second).Unix() })
		err := Preflight(ctx(t), reg.URL, trusted, short, want)
		captureErr(t, err)
		if err == nil || !strings.Contains(err.Error(), "a publish needs") || len(reg.Requests()) != before {
			t.Fatalf("Preflight of a short-lived token: %v (and %d requests)", err, len(reg.Requests())-before)
		}
		other := Expectation{Publisher: &publisher.Identity{Provider: publisher.CircleCI, OrgID: orgID, ProjectID: "p-9", PipelineDefinitionID: pipelineID, VCSOrigin: vcsOrigin}}
		err = Preflight(ctx(t), reg.URL, trusted, good, other)
		captureErr(t, err)
		if err == nil || !strings.Contains(err.Error(), "preflight of trusted publishing for "+trusted) || !strings.Contains(err.Error(), `expects "p-9"`) {
			t.Fatalf("Preflight with another configured project: %v", err)
		}
		// release.json agrees with the token but the registry's trusted
		// publisher drifted: only the exchange can tell.
		err = Preflight(ctx(t), reg.URL, drifted, good, want)
		captureErr(t, err)
		if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "mage trust:check") {
			t.Fatalf("Preflight against a drifted trusted publisher: %v", err)
		}
	})
}

// TestPublishWithRealNpm proves that the environment from PublishEnv, and
// nothing else, lets the real npm CLI publish with a token minted by Mint
// through the stand-in circleci CLI.
func TestPublishWithRealNpm(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the npm CLI against a local registry")
	}
	reg := localregistrytest.Start(t)
	user := reg.AddUser(t, "owner")
	noteToken(user)
	const pkg = "@oidctest/cli-linux-arm64"
	seed(t, reg, user, pkg)
	reg.SetTrust(pkg, localregistry.CircleCITrust(orgID, projectID, pipelineID, vcsOrigin, []string{contextID}))

	// A CircleCI job: the CLI on PATH, no token yet.
	bin := reg.InstallFakeCircleCI(t, localregistry.CircleCIClaims(orgID, projectID, pipelineID, vcsOrigin, []string{contextID}, time.Hour))
	job := Source{CI: publisher.CircleCI, Run: runner(bin + string(os.PathListSeparator) + os.Getenv("PATH"))}

	version, err := exec.Command("npm", "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckNPMVersion(semver.MustParse(strings.TrimSpace(string(version))), publisher.CircleCI); err != nil {
		t.Fatalf("the installed npm cannot publish with OIDC from CircleCI: %v", err)
	}
	tok, err := Mint(ctx(t), job, reg.URL)
	noteToken(tok)
	captureErr(t, err)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	if err := Preflight(ctx(t), reg.URL, pkg, tok, Expectation{Publisher: testPublisher()}); err != nil {
		t.Fatalf("Preflight: %v", err)
	}

	// npm's own configuration: a user config without any auth token.
	npmEnv := reg.NpmEnv(t, "")
	for _, kv := range npmEnv {
		if k, v, _ := strings.Cut(kv, "="); k == "NPM_CONFIG_USERCONFIG" {
			rc, err := os.ReadFile(v)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(rc), "_auth") {
				t.Fatalf("the npm user config holds credentials:\n%s", rc)
			}
		}
	}
	env := append(withoutCredentials(npmEnv), PublishEnv(tok, publisher.CircleCI)...)
	out, err := npmRun(t, makePackage(t, pkg, "1.1.0"), env, "publish", "--access", "public")
	if err != nil {
		t.Fatalf("npm publish with OIDC: %v\n%s", err, out)
	}
	if !reg.HasVersion(t, pkg, "1.1.0") {
		t.Fatal("1.1.0 is not on the registry after npm publish")
	}
	// One exchange by Preflight, one by npm itself.
	if n := exchanges(reg, pkg, 201); n != 2 {
		t.Fatalf("%d successful exchanges for %s, want 2 (preflight and npm)", n, pkg)
	}

	// Without the token, the same npm cannot publish: the token was the
	// only credential.
	env = append(withoutCredentials(reg.NpmEnv(t, "")), "CIRCLECI=true", "CI=true", "NPM_ID_TOKEN=")
	out, err = npmRun(t, makePackage(t, pkg, "1.2.0"), env, "publish", "--access", "public")
	if err == nil || reg.HasVersion(t, pkg, "1.2.0") {
		t.Fatalf("npm published without an ID token:\n%s", out)
	}
}

// withoutCredentials blanks, after env, every variable of the test process
// that could carry npm credentials.
func withoutCredentials(env []string) []string {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		u := strings.ToUpper(k)
		if strings.Contains(u, "TOKEN") || strings.Contains(u, "_AUTH") || strings.HasPrefix(u, "NPM_CONFIG_//") {
			env = append(env, k+"=")
		}
	}
	return env
}
