package localregistry_test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
)

// Trusted publisher values used across the tests (shaped like CircleCI's).
const (
	orgID      = "bfa561da-d33e-4a2a-a46d-48e096a828e0"
	projectID  = "46274a40-97ed-41fd-a745-9702a7131ccc"
	pipelineID = "15756499-9950-43b5-b2d3-ac4086d9aa48"
	contextID  = "691cddb9-b839-41e8-bc5c-ebb4484a2a1f"
	vcsOrigin  = "github.com/o/r"
)

func trustCircleCIArgs(pkg string) []string {
	return []string{"trust", "circleci", pkg,
		"--org-id", orgID, "--project-id", projectID, "--pipeline-definition-id", pipelineID,
		"--vcs-origin", vcsOrigin, "--context-id", contextID, "--allow-publish", "--yes"}
}

// decodeTrustList decodes what `npm trust list --json` prints (npm 11.19):
// for each configuration an empty line and then the configuration as
// JSON.stringify(values, null, 2) in npm's option form, not the wire form
// (for circleci: {"id", "type", "orgId", "projectId", "pipelineDefinitionId",
// "vcsOrigin", "contextIds"?, "permissions"}), then one final empty line.
// The objects are concatenated, not an array; with no configuration npm
// prints nothing at all.
func decodeTrustList(t *testing.T, out string) []map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var items []map[string]any
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if err == io.EOF {
			return items
		}
		if err != nil {
			t.Fatalf("npm trust list --json output is not a stream of JSON objects: %v\n%s", err, out)
		}
		items = append(items, m)
	}
}

func TestTrustWithRealNpm(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "owner")
	const pkg = "@testreg/trusted"
	publish(t, reg, token, pkg, "1.0.0")
	env := reg.NpmEnv(t, token)
	dir := t.TempDir()

	// Nothing configured: --json prints nothing.
	if out := mustNpm(t, dir, env, "trust", "list", pkg, "--json"); strings.TrimSpace(out) != "" {
		t.Fatalf("trust list of an unconfigured package printed %q, want nothing", out)
	}

	mustNpm(t, dir, env, trustCircleCIArgs(pkg)...)
	cfgs := reg.Trust(pkg)
	if len(cfgs) != 1 || cfgs[0].ID == "" {
		t.Fatalf("Trust after npm trust circleci = %+v, want one configuration with an id", cfgs)
	}
	want := localregistry.CircleCITrust(orgID, projectID, pipelineID, vcsOrigin, []string{contextID})
	want.ID = cfgs[0].ID
	// Compare as stored: through JSON, as Trust returns it.
	wantJSON, _ := json.Marshal(want)
	want = localregistry.TrustConfig{}
	_ = json.Unmarshal(wantJSON, &want)
	if !reflect.DeepEqual(cfgs[0], want) {
		t.Fatalf("stored configuration\n got %+v\nwant %+v", cfgs[0], want)
	}

	// One configuration per package: a second create is a conflict.
	res := runNpm(t, dir, env, trustCircleCIArgs(pkg)...)
	if res.err == nil || !strings.Contains(res.stderr, "409") {
		t.Fatalf("second npm trust circleci: err=%v stderr=%s", res.err, res.stderr)
	}

	out := mustNpm(t, dir, env, "trust", "list", pkg, "--json")
	items := decodeTrustList(t, out)
	if len(items) != 1 {
		t.Fatalf("trust list --json: %d items, want 1", len(items))
	}
	got := items[0]
	for k, v := range map[string]any{"id": cfgs[0].ID, "type": "circleci", "orgId": orgID, "projectId": projectID,
		"pipelineDefinitionId": pipelineID, "vcsOrigin": vcsOrigin} {
		if got[k] != v {
			t.Errorf("trust list --json %s = %v, want %v", k, got[k], v)
		}
	}
	if !reflect.DeepEqual(got["contextIds"], []any{contextID}) || !reflect.DeepEqual(got["permissions"], []any{localregistry.PermCreatePackage}) {
		t.Errorf("trust list --json contextIds/permissions = %v / %v", got["contextIds"], got["permissions"])
	}

	mustNpm(t, dir, env, "trust", "revoke", pkg, "--id", cfgs[0].ID)
	if cfgs := reg.Trust(pkg); len(cfgs) != 0 {
		t.Fatalf("Trust after revoke = %+v, want none", cfgs)
	}
	if out := mustNpm(t, dir, env, "trust", "list", pkg, "--json"); strings.TrimSpace(out) != "" {
		t.Fatalf("trust list after revoke printed %q", out)
	}

	// Two configurations (only possible by seeding): two objects, each after
	// an empty line, and a final empty line.
	reg.SetTrust(pkg, localregistry.CircleCITrust(orgID, projectID, pipelineID, vcsOrigin, nil),
		localregistry.GitHubTrust("o/r", "release.yml", "", localregistry.PermCreateStagedPackage))
	out = mustNpm(t, dir, env, "trust", "list", pkg, "--json")
	items = decodeTrustList(t, out)
	if len(items) != 2 || items[1]["type"] != "github" || items[1]["file"] != "release.yml" || items[1]["repository"] != "o/r" {
		t.Fatalf("trust list --json of two configurations = %v", items)
	}
	if !regexp.MustCompile(`^\n\{\n[^\n]*"id"(?s:.*)\n\}\n\n\{\n(?s:.*)\n\}\n\n$`).MatchString(out) {
		t.Fatalf("trust list --json layout changed:\n%q", out)
	}
}

func TestTrustEndpointErrors(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "owner")
	const pkg = "@testreg/trust-errors"
	publish(t, reg, token, pkg, "1.0.0")
	reg.SetTrust(pkg, localregistry.CircleCITrust(orgID, projectID, pipelineID, vcsOrigin, nil))
	existing := reg.Trust(pkg)[0].ID
	auth := map[string]string{"Authorization": "Bearer " + token}
	body := `[{"type":"circleci","claims":{"oidc.circleci.com/org-id":"a","oidc.circleci.com/project-id":"b","oidc.circleci.com/pipeline-definition-id":"c","oidc.circleci.com/vcs-origin":"github.com/o/r"},"permissions":["createPackage"]}]`

	tests := []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		errContains        string
	}{
		{"list needs a token", "GET", "-/package/@testreg%2ftrust-errors/trust", nil, "", 401, "authentication required"},
		{"bad token", "GET", "-/package/@testreg%2ftrust-errors/trust", map[string]string{"Authorization": "Bearer nope"}, "", 401, "invalid"},
		{"missing package", "GET", "-/package/@testreg%2fmissing/trust", auth, "", 404, "Not found"},
		{"upper-case escape", "GET", "-/package/@testreg%2Ftrust-errors/trust", auth, "", 200, ""},
		{"unescaped slash", "GET", "-/package/@testreg/trust-errors/trust", auth, "", 200, ""},
		{"create conflicts", "POST", "-/package/@testreg%2ftrust-errors/trust", auth, body, 409, existing},
		{"create on missing package", "POST", "-/package/@testreg%2fmissing/trust", auth, body, 404, "Not found"},
		{"revoke unknown id", "DELETE", "-/package/@testreg%2ftrust-errors/trust/nope", auth, "", 404, "nope"},
		{"revoke", "DELETE", "-/package/@testreg%2ftrust-errors/trust/" + existing, auth, "", 204, ""},
		{"invalid type", "POST", "-/package/@testreg%2ftrust-errors/trust", auth, `[{"type":"jenkins","claims":{},"permissions":["createPackage"]}]`, 400, "jenkins"},
		{"missing claim", "POST", "-/package/@testreg%2ftrust-errors/trust", auth, `[{"type":"circleci","claims":{},"permissions":["createPackage"]}]`, 400, "org-id"},
		{"create after revoke", "POST", "-/package/@testreg%2ftrust-errors/trust", auth, body, 201, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			if tc.body != "" {
				b = []byte(tc.body)
			}
			resp, data := mustHTTP(t, tc.method, reg.URL+tc.path, tc.header, b)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, data)
			}
			if tc.errContains != "" {
				var e struct{ Error string }
				_ = json.Unmarshal(data, &e)
				if !strings.Contains(e.Error, tc.errContains) {
					t.Fatalf("error %q does not mention %q", e.Error, tc.errContains)
				}
			}
		})
	}
	if cfgs := reg.Trust(pkg); len(cfgs) != 1 || cfgs[0].Claims[localregistry.ClaimCircleOrgID] != "a" {
		t.Fatalf("final configuration = %+v", cfgs)
	}
}

func TestTrustRequiresOTP(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "owner")
	const pkg = "testreg-otp"
	publish(t, reg, token, pkg, "1.0.0")
	reg.RequireOTP("123456")
	env := reg.NpmEnv(t, token)
	dir := t.TempDir()

	tests := []struct {
		name    string
		otp     []string
		wantErr string
	}{
		{"without otp", nil, "EOTP"},
		{"wrong otp", []string{"--otp=000000"}, "EOTP"},
		{"right otp", []string{"--otp=123456"}, ""},
	}
	for _, tc := range tests {
		res := runNpm(t, dir, env, append(trustCircleCIArgs(pkg), tc.otp...)...)
		if tc.wantErr == "" {
			if res.err != nil {
				t.Fatalf("%s: %v\n%s", tc.name, res.err, res.stderr)
			}
			continue
		}
		if res.err == nil || !strings.Contains(res.stderr, tc.wantErr) {
			t.Fatalf("%s: err=%v, stderr does not mention %s:\n%s", tc.name, res.err, tc.wantErr, res.stderr)
		}
	}
	if n := len(reg.Trust(pkg)); n != 1 {
		t.Fatalf("%d configurations, want 1", n)
	}
	// Publishing with a user token needs the OTP too.
	res := runNpm(t, makePackage(t, pkg, "1.0.1"), env, "publish")
	if res.err == nil || !strings.Contains(res.stderr, "EOTP") {
		t.Fatalf("publish without otp: err=%v\n%s", res.err, res.stderr)
	}
	mustNpm(t, makePackage(t, pkg, "1.0.1"), env, "publish", "--otp", "123456")
	resp, _ := mustHTTP(t, http.MethodGet, reg.URL+pkg, nil, nil)
	if resp.StatusCode != http.StatusOK || !reg.HasVersion(t, pkg, "1.0.1") {
		t.Fatal("publish with --otp did not land")
	}
}
