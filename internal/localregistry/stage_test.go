package localregistry_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
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

	// Reject it as the owner.
	mustNpm(t, t.TempDir(), reg.NpmEnv(t, token), "stage", "reject", id)
	if len(reg.StagedVersions(pkg)) != 0 || reg.HasVersion(t, pkg, "1.1.0") {
		t.Fatal("rejected stage still there or published")
	}
}
