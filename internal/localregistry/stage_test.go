package localregistry_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/registry"
)

var stagedRE = regexp.MustCompile(`staged with id ([0-9a-f-]{36})`)

func TestStagedPublishWithRealNpm(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "owner")
	const pkg = "@testreg/staged"
	publish(t, reg, token, pkg, "1.0.0")
	env := reg.NpmEnv(t, token)
	dir := t.TempDir()

	out := mustNpm(t, makePackage(t, pkg, "1.1.0"), env, "stage", "publish", "--access", "public")
	m := stagedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("npm stage publish printed no stage id:\n%s", out)
	}
	id := m[1]
	if reg.HasVersion(t, pkg, "1.1.0") {
		t.Fatal("a staged version must not be public")
	}

	var items []map[string]any
	if err := json.Unmarshal([]byte(mustNpm(t, dir, env, "stage", "list", pkg, "--json")), &items); err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0]["id"] != id || items[0]["version"] != "1.1.0" || items[0]["actor"] != "owner" || items[0]["tag"] != "latest" {
		t.Fatalf("npm stage list --json = %v", items)
	}

	reg.RequireOTP("654321")
	if res := runNpm(t, dir, env, "stage", "approve", id); res.err == nil || !strings.Contains(res.stderr, "EOTP") {
		t.Fatalf("approve without otp: err=%v\n%s", res.err, res.stderr)
	}
	mustNpm(t, dir, env, "stage", "approve", id, "--otp", "654321")
	if !reg.HasVersion(t, pkg, "1.1.0") || reg.PublishCount(pkg) != 2 || len(reg.StagedVersions(pkg)) != 0 {
		t.Fatalf("after approve: has=%v count=%d staged=%v", reg.HasVersion(t, pkg, "1.1.0"), reg.PublishCount(pkg), reg.StagedVersions(pkg))
	}
}

func TestStagedPublishWithOIDC(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "owner")
	const pkg = "testreg-stage-oidc"
	publish(t, reg, token, pkg, "1.0.0")
	reg.SetTrust(pkg, localregistry.CircleCITrust(orgID, projectID, pipelineID, vcsOrigin, nil, localregistry.PermCreateStagedPackage))
	idToken := reg.Issuer.Mint(circleClaims(reg))

	// The trusted publisher only allows staging: a direct publish is refused.
	res := runNpm(t, makePackage(t, pkg, "1.1.0"), oidcEnv(t, reg, idToken), "publish")
	if res.err == nil || reg.HasVersion(t, pkg, "1.1.0") {
		t.Fatalf("direct publish with a stage-only trusted publisher: err=%v", res.err)
	}
	out := mustNpm(t, makePackage(t, pkg, "1.1.0"), oidcEnv(t, reg, idToken), "stage", "publish")
	if !stagedRE.MatchString(out) || !slices.Equal(reg.StagedVersions(pkg), []string{"1.1.0"}) {
		t.Fatalf("stage publish over OIDC: staged=%v\n%s", reg.StagedVersions(pkg), out)
	}
	id := stagedRE.FindStringSubmatch(out)[1]

	// Reject it as the owner: a one-time password is always needed.
	owner := reg.NpmEnv(t, token)
	if res := runNpm(t, t.TempDir(), owner, "stage", "reject", id); res.err == nil || !strings.Contains(res.stderr, "EOTP") {
		t.Fatalf("reject without a one-time password: err=%v\n%s", res.err, res.stderr)
	}
	mustNpm(t, t.TempDir(), owner, "stage", "reject", id, "--otp="+reg.OTP())
	if len(reg.StagedVersions(pkg)) != 0 || reg.HasVersion(t, pkg, "1.1.0") {
		t.Fatal("rejected stage still there or published")
	}
}

// TestStagePermissionsBothWays: a publish-only trusted publisher refuses
// npm stage publish, as a stage-only one refuses npm publish
// (TestStagedPublishWithOIDC); one with both permissions may do either.
func TestStagePermissionsBothWays(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "owner")
	const pkg = "testreg-stage-perms"
	publish(t, reg, token, pkg, "1.0.0")
	idToken := reg.Issuer.Mint(circleClaims(reg))

	reg.SetTrust(pkg, localregistry.CircleCITrust(orgID, projectID, pipelineID, vcsOrigin, nil, localregistry.PermCreatePackage))
	res := runNpm(t, makePackage(t, pkg, "1.1.0"), oidcEnv(t, reg, idToken), "stage", "publish")
	if res.err == nil || len(reg.StagedVersions(pkg)) != 0 {
		t.Fatalf("stage publish with a publish-only trusted publisher: err=%v staged=%v\n%s", res.err, reg.StagedVersions(pkg), res.stdout)
	}
	if !slices.ContainsFunc(reg.Requests(), func(r localregistry.Request) bool {
		return r.Method == "POST" && r.Path == "/-/stage/package/"+pkg && r.Status == 403
	}) {
		t.Error("the registry did not answer the stage publish with 403")
	}

	reg.SetTrust(pkg, localregistry.CircleCITrust(orgID, projectID, pipelineID, vcsOrigin, nil, localregistry.PermCreatePackage, localregistry.PermCreateStagedPackage))
	mustNpm(t, makePackage(t, pkg, "1.1.0"), oidcEnv(t, reg, idToken), "stage", "publish")
	mustNpm(t, makePackage(t, pkg, "1.2.0"), oidcEnv(t, reg, idToken), "publish")
	if !slices.Equal(reg.StagedVersions(pkg), []string{"1.1.0"}) || !reg.HasVersion(t, pkg, "1.2.0") {
		t.Fatalf("with both permissions: staged=%v", reg.StagedVersions(pkg))
	}
}

// TestStageReadsAnonymousOrWithCredentials: a package's staged versions,
// their view and tarball are served without a user, unless anonymous reads
// are refused; then a user or an OIDC-exchanged token for the package reads
// them. The unfiltered list always needs a user.
func TestStageReadsAnonymousOrWithCredentials(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "owner")
	const pkg, other = "@testreg/stage-reads", "testreg-stage-other"
	publish(t, reg, token, pkg, "1.0.0")
	publish(t, reg, token, other, "1.0.0")
	out := mustNpm(t, makePackage(t, pkg, "1.1.0"), reg.NpmEnv(t, token), "stage", "publish", "--access", "public")
	id := stagedRE.FindStringSubmatch(out)[1]
	reg.SetTrust(pkg, localregistry.CircleCITrust(orgID, projectID, pipelineID, vcsOrigin, nil, localregistry.PermCreateStagedPackage))
	reg.SetTrust(other, localregistry.CircleCITrust(orgID, projectID, pipelineID, vcsOrigin, nil, localregistry.PermCreateStagedPackage))
	idToken := reg.Issuer.Mint(circleClaims(reg))
	_, own := exchange(t, reg, pkg, idToken)
	_, foreign := exchange(t, reg, other, idToken)

	list := reg.URL + "-/stage?package=" + registry.EscapeName(pkg)
	urls := []string{list, reg.URL + "-/stage/" + id, reg.URL + "-/stage/" + id + "/tarball"}
	get := func(url, bearer string) int {
		h := map[string]string{}
		if bearer != "" {
			h["Authorization"] = "Bearer " + bearer
		}
		resp, _ := mustHTTP(t, http.MethodGet, url, h, nil)
		return resp.StatusCode
	}
	for _, u := range urls {
		if got := get(u, ""); got != http.StatusOK {
			t.Errorf("anonymous GET %s = %d, want 200", u, got)
		}
	}
	if got := get(reg.URL+"-/stage", ""); got != http.StatusUnauthorized {
		t.Errorf("anonymous unfiltered list = %d, want 401", got)
	}
	reg.RefuseAnonymousStageReads(true)
	for _, u := range urls {
		for who, tok := range map[string]string{"anonymous": "", "another package's OIDC token": foreign["token"]} {
			if got := get(u, tok); got != http.StatusUnauthorized && got != http.StatusForbidden {
				t.Errorf("%s GET %s = %d, want 401 or 403", who, u, got)
			}
		}
		for who, tok := range map[string]string{"the owner": token, "the package's OIDC token": own["token"]} {
			if got := get(u, tok); got != http.StatusOK {
				t.Errorf("%s GET %s = %d, want 200", who, u, got)
			}
		}
	}
	// The real npm reads with the owner's login.
	var items []map[string]any
	if err := json.Unmarshal([]byte(mustNpm(t, t.TempDir(), reg.NpmEnv(t, token), "stage", "list", pkg, "--json")), &items); err != nil || len(items) != 1 {
		t.Fatalf("npm stage list with refused anonymous reads: %v %v", items, err)
	}
	dir := t.TempDir()
	mustNpm(t, dir, reg.NpmEnv(t, token), "stage", "download", id)
	if _, err := os.Stat(filepath.Join(dir, "testreg-stage-reads-1.1.0-"+id+".tgz")); err != nil {
		t.Errorf("npm stage download wrote no tarball: %v", err)
	}
}

// TestApproveAlwaysNeedsOTP: approve and reject need a one-time password
// even without RequireOTP; RequireOTP sets the accepted code, and changing
// it makes the old code fail as an expired one would.
func TestApproveAlwaysNeedsOTP(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "owner")
	const pkg = "testreg-stage-otp"
	publish(t, reg, token, pkg, "1.0.0")
	env := reg.NpmEnv(t, token)
	stage := func(v string) string {
		out := mustNpm(t, makePackage(t, pkg, v), env, "stage", "publish")
		return stagedRE.FindStringSubmatch(out)[1]
	}
	a, b := stage("1.1.0"), stage("1.2.0")
	if code := reg.OTP(); len(code) != 6 {
		t.Fatalf("OTP() = %q, want 6 digits", code)
	}
	dir := t.TempDir()
	for _, otp := range []string{"", "--otp=000000x"} {
		args := []string{"stage", "approve", a}
		if otp != "" {
			args = append(args, otp)
		}
		if res := runNpm(t, dir, env, args...); res.err == nil || !strings.Contains(res.stderr, "EOTP") {
			t.Fatalf("approve %q: err=%v\n%s", otp, res.err, res.stderr)
		}
	}
	mustNpm(t, dir, env, "stage", "approve", a, "--otp="+reg.OTP())
	reg.RequireOTP("111111")
	mustNpm(t, dir, env, "stage", "reject", b, "--otp=111111")
	c := stage("1.3.0")
	reg.RequireOTP("222222") // the code expired
	if res := runNpm(t, dir, env, "stage", "approve", c, "--otp=111111"); res.err == nil || !strings.Contains(res.stderr, "EOTP") {
		t.Fatalf("approve with an expired code: err=%v\n%s", res.err, res.stderr)
	}
	mustNpm(t, dir, env, "stage", "approve", c, "--otp=222222")
	got := reg.Publishes()
	d, f := stage("1.4.0"), stage("1.5.0")
	reg.ExpireOTPAfter(1, "333333")
	mustNpm(t, dir, env, "stage", "approve", d, "--otp=222222")
	if res := runNpm(t, dir, env, "stage", "approve", f, "--otp=222222"); res.err == nil || !strings.Contains(res.stderr, "EOTP") {
		t.Fatalf("approve after the code expired: err=%v\n%s", res.err, res.stderr)
	}
	mustNpm(t, dir, env, "stage", "approve", f, "--otp=333333")
	if len(got) != 3 || got[1].Version != "1.1.0" || !got[1].Staged || got[2].Version != "1.3.0" || !got[2].Staged || got[0].Staged {
		t.Errorf("Publishes() = %+v", got)
	}
	if reg.HasVersion(t, pkg, "1.2.0") || len(reg.StagedPublishes()) != 0 {
		t.Errorf("rejected 1.2.0: published %v, still staged %v", reg.HasVersion(t, pkg, "1.2.0"), reg.StagedPublishes())
	}
}

// TestStagedInvisibleToInstalls: a staged version cannot be installed, and
// latest stays where it was, until it is approved.
func TestStagedInvisibleToInstalls(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "owner")
	const pkg = "@testreg/stage-install"
	publish(t, reg, token, pkg, "1.0.0")
	env := reg.NpmEnv(t, token)
	out := mustNpm(t, makePackage(t, pkg, "1.1.0"), env, "stage", "publish", "--access", "public")
	id := stagedRE.FindStringSubmatch(out)[1]

	project := func() string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"p","private":true}`), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	installed := func(dir string) string {
		data, err := os.ReadFile(filepath.Join(dir, "node_modules", "@testreg", "stage-install", "package.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		return m["version"].(string)
	}
	user := reg.NpmEnv(t, "")
	if res := runNpm(t, project(), user, "install", pkg+"@1.1.0", "--prefer-online"); res.err == nil || !strings.Contains(res.stderr, "ETARGET") {
		t.Fatalf("install of a staged version: err=%v\n%s", res.err, res.stderr)
	}
	dir := project()
	mustNpm(t, dir, user, "install", pkg, "--prefer-online")
	if v := installed(dir); v != "1.0.0" {
		t.Fatalf("installed %s while 1.1.0 is only staged, want 1.0.0", v)
	}
	mustNpm(t, t.TempDir(), env, "stage", "approve", id, "--otp="+reg.OTP())
	dir = project()
	mustNpm(t, dir, user, "install", pkg, "--prefer-online")
	if v := installed(dir); v != "1.1.0" {
		t.Fatalf("installed %s after approval, want 1.1.0", v)
	}
}
