package localregistry

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Permissions a trusted publisher configuration grants.
const (
	PermCreatePackage       = "createPackage"
	PermCreateStagedPackage = "createStagedPackage"
)

// CircleCI claim names npm matches.
const (
	ClaimCircleOrgID         = "oidc.circleci.com/org-id"
	ClaimCircleProjectID     = "oidc.circleci.com/project-id"
	ClaimCirclePipelineDefID = "oidc.circleci.com/pipeline-definition-id"
	ClaimCircleVCSOrigin     = "oidc.circleci.com/vcs-origin"
	ClaimCircleContextIDs    = "oidc.circleci.com/context-ids"
	ClaimCircleVCSRef        = "oidc.circleci.com/vcs-ref"
)

// TrustConfig is one trusted publisher configuration as npm's
// /-/package/<name>/trust endpoints carry it.
type TrustConfig struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"` // circleci, github or gitlab
	Claims      map[string]any `json:"claims"`
	Permissions []string       `json:"permissions"`
}

// CircleCITrust builds a circleci configuration as `npm trust circleci`
// sends it. Permissions default to createPackage.
func CircleCITrust(orgID, projectID, pipelineDefID, vcsOrigin string, contextIDs []string, perms ...string) TrustConfig {
	claims := map[string]any{
		ClaimCircleOrgID:         orgID,
		ClaimCircleProjectID:     projectID,
		ClaimCirclePipelineDefID: pipelineDefID,
		ClaimCircleVCSOrigin:     vcsOrigin,
	}
	if len(contextIDs) > 0 {
		ids := make([]any, len(contextIDs))
		for i, id := range contextIDs {
			ids[i] = id
		}
		claims[ClaimCircleContextIDs] = ids
	}
	return TrustConfig{Type: "circleci", Claims: claims, Permissions: defaultPerms(perms)}
}

// GitHubTrust builds a github configuration as `npm trust github` sends it:
// repository is owner/repo, workflowFile the file name under
// .github/workflows, environment optional.
func GitHubTrust(repository, workflowFile, environment string, perms ...string) TrustConfig {
	claims := map[string]any{
		"repository":   repository,
		"workflow_ref": map[string]any{"file": workflowFile},
	}
	if environment != "" {
		claims["environment"] = environment
	}
	return TrustConfig{Type: "github", Claims: claims, Permissions: defaultPerms(perms)}
}

func defaultPerms(perms []string) []string {
	if len(perms) == 0 {
		return []string{PermCreatePackage}
	}
	return perms
}

// SetTrust replaces the trusted publisher configurations of pkg, bypassing
// the API (no checks, no one-per-package rule): use it to seed a state, such
// as a configuration that drifted from the expected one. Configurations
// without an ID get one. SetTrust(pkg) with no configurations removes them.
func (r *Registry) SetTrust(pkg string, cfgs ...TrustConfig) {
	out := make([]TrustConfig, 0, len(cfgs))
	for _, c := range cfgs {
		if c.ID == "" {
			c.ID = newUUID()
		}
		out = append(out, cloneTrust(c))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(out) == 0 {
		delete(r.state.trust, pkg)
		return
	}
	r.state.trust[pkg] = out
}

// Trust returns the trusted publisher configurations of pkg.
func (r *Registry) Trust(pkg string) []TrustConfig {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []TrustConfig
	for _, c := range r.state.trust[pkg] {
		out = append(out, cloneTrust(c))
	}
	return out
}

func cloneTrust(c TrustConfig) TrustConfig {
	data, _ := json.Marshal(c)
	var out TrustConfig
	_ = json.Unmarshal(data, &out)
	return out
}

// RequireOTP makes the registry demand a one-time password, like an account
// with 2FA for writes: trust endpoints and writes made with a user's token
// are answered 401 with `www-authenticate: OTP` unless the npm-otp header
// (npm's --otp) equals code. OIDC tokens are exempt, as on npm. An empty
// code turns the requirement off. Stage approve and reject always need a
// code: this one when set, else the registry's own (see OTP); changing it
// between two approvals is a code that expired.
//
// npm only prompts for the code (otplease, lib/utils/auth.js) when stdin and
// stdout are terminals; otherwise the command fails with EOTP, so tests pass
// --otp.
func (r *Registry) RequireOTP(code string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state.otp = code
}

func (r *Registry) needsOTP(req *http.Request) bool {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return false
	}
	if strings.HasPrefix(req.URL.Path, "/-/user/") || strings.HasPrefix(req.URL.Path, "/-/v1/login") {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state.otp != ""
}

// checkOTP answers 401 and returns false when an OTP is required and missing
// or wrong.
func (r *Registry) checkOTP(w http.ResponseWriter, req *http.Request) bool {
	r.mu.Lock()
	code := r.state.otp
	r.mu.Unlock()
	if code == "" {
		return true
	}
	return r.checkCode(w, req, code)
}

// checkCode answers 401 and returns false unless the npm-otp header holds
// code.
func (r *Registry) checkCode(w http.ResponseWriter, req *http.Request, code string) bool {
	if req.Header.Get("npm-otp") == code {
		return true
	}
	w.Header().Set("WWW-Authenticate", "OTP")
	msg := "This operation requires a one-time password from your authenticator."
	if req.Header.Get("npm-otp") != "" {
		msg = "Invalid one-time password."
	}
	writeError(w, http.StatusUnauthorized, msg)
	return false
}

// authUser returns the Verdaccio user of the request's bearer token, or
// answers 401/403 and returns "".
func (r *Registry) authUser(w http.ResponseWriter, req *http.Request) string {
	tok, ok := bearer(req)
	if !ok || tok == "" {
		writeError(w, http.StatusUnauthorized, "authentication required: send a Bearer token (npm login)")
		return ""
	}
	if strings.HasPrefix(tok, "npm_") {
		writeError(w, http.StatusForbidden, "this operation is not allowed with a token from OIDC token exchange")
		return ""
	}
	r.mu.Lock()
	user, cached := r.state.whoami[tok]
	r.mu.Unlock()
	if cached {
		return user
	}
	status, data, err := r.backendDo(http.MethodGet, "/-/whoami", tok, nil)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return ""
	}
	var who struct {
		Username string `json:"username"`
	}
	_ = json.Unmarshal(data, &who)
	if status != http.StatusOK || who.Username == "" {
		writeError(w, http.StatusUnauthorized, "invalid or expired token")
		return ""
	}
	r.mu.Lock()
	r.state.whoami[tok] = who.Username
	r.mu.Unlock()
	return who.Username
}

// packageExists answers 404 {"error":"Not found"} and returns false when pkg
// is not on Verdaccio.
func (r *Registry) packageExists(w http.ResponseWriter, pkg string) bool {
	versions, err := r.storedVersions(pkg)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return false
	}
	if versions == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Not found"})
		return false
	}
	return true
}

// isTrustPath reports whether path is /-/package/<pkg>/trust[/<id>].
func isTrustPath(path, pkg string) bool {
	if pkg == "" {
		return false
	}
	rest := strings.TrimPrefix(path, "/-/package/"+pkg)
	return rest == "/trust" || strings.HasPrefix(rest, "/trust/")
}

func (r *Registry) serveTrust(w http.ResponseWriter, req *http.Request, pkg string) {
	id := strings.TrimPrefix(strings.TrimPrefix(req.URL.Path, "/-/package/"+pkg), "/trust")
	id = strings.TrimPrefix(id, "/")
	switch {
	case id == "" && (req.Method == http.MethodGet || req.Method == http.MethodPost):
	case id != "" && req.Method == http.MethodDelete:
	default:
		writeError(w, http.StatusMethodNotAllowed, req.Method+" is not supported on "+req.URL.Path)
		return
	}
	if r.authUser(w, req) == "" || !r.checkOTP(w, req) || !r.packageExists(w, pkg) {
		return
	}
	switch req.Method {
	case http.MethodGet:
		cfgs := r.Trust(pkg)
		if cfgs == nil {
			cfgs = []TrustConfig{}
		}
		writeJSON(w, http.StatusOK, cfgs)
	case http.MethodPost:
		r.createTrust(w, req, pkg)
	case http.MethodDelete:
		r.mu.Lock()
		defer r.mu.Unlock()
		cfgs := r.state.trust[pkg]
		for i, c := range cfgs {
			if c.ID == id {
				r.state.trust[pkg] = append(cfgs[:i:i], cfgs[i+1:]...)
				if len(r.state.trust[pkg]) == 0 {
					delete(r.state.trust, pkg)
				}
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		writeError(w, http.StatusNotFound, fmt.Sprintf("no trusted publisher configuration with id %s for %s", id, pkg))
	}
}

func (r *Registry) createTrust(w http.ResponseWriter, req *http.Request, pkg string) {
	data, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	var cfgs []TrustConfig
	if err := json.Unmarshal(data, &cfgs); err != nil {
		writeError(w, http.StatusBadRequest, "body must be a JSON array of trusted publisher configurations: "+err.Error())
		return
	}
	if len(cfgs) != 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("expected exactly one trusted publisher configuration, got %d", len(cfgs)))
		return
	}
	c := cfgs[0]
	if msg := validateTrust(c); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	c.ID = newUUID()
	r.mu.Lock()
	defer r.mu.Unlock()
	if existing := r.state.trust[pkg]; len(existing) > 0 {
		writeError(w, http.StatusConflict, fmt.Sprintf(
			"package %s already has a trusted publisher configuration (id %s); only one is allowed: revoke it first", pkg, existing[0].ID))
		return
	}
	r.state.trust[pkg] = []TrustConfig{cloneTrust(c)}
	writeJSON(w, http.StatusCreated, []TrustConfig{c})
}

// validateTrust returns what is wrong with a configuration, "" when nothing.
func validateTrust(c TrustConfig) string {
	var required []string
	switch c.Type {
	case "circleci":
		required = []string{ClaimCircleOrgID, ClaimCircleProjectID, ClaimCirclePipelineDefID, ClaimCircleVCSOrigin}
		if v, ok := c.Claims[ClaimCircleContextIDs]; ok {
			if _, ok := stringList(v); !ok {
				return "claim " + ClaimCircleContextIDs + " must be an array of strings"
			}
		}
	case "github":
		required = []string{"repository"}
		if fileOf(c.Claims["workflow_ref"]) == "" {
			return "claim workflow_ref.file is required for type github"
		}
	case "gitlab":
		required = []string{"project_path"}
		if fileOf(c.Claims["ci_config_ref_uri"]) == "" {
			return "claim ci_config_ref_uri.file is required for type gitlab"
		}
	default:
		return fmt.Sprintf("unsupported trusted publisher type %q (want circleci, github or gitlab)", c.Type)
	}
	for _, k := range required {
		if s, _ := c.Claims[k].(string); s == "" {
			return fmt.Sprintf("claim %s is required for type %s", k, c.Type)
		}
	}
	if len(c.Permissions) == 0 {
		return "at least one permission is required (createPackage, createStagedPackage)"
	}
	for _, p := range c.Permissions {
		if p != PermCreatePackage && p != PermCreateStagedPackage {
			return fmt.Sprintf("unknown permission %q (want createPackage or createStagedPackage)", p)
		}
	}
	return ""
}

func fileOf(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["file"].(string)
	return s
}

// stringList converts a JSON array of strings (as []any or []string).
func stringList(v any) ([]string, bool) {
	switch l := v.(type) {
	case []string:
		return l, true
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}
