package localregistry

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/loopback"
	"github.com/golang-jwt/jwt/v5"
)

const (
	oidcExchangePrefix = "/-/npm/v1/oidc/token/exchange/package/"
	// idTokenPath is the emulated CI token service: GitHub Actions' (what
	// ACTIONS_ID_TOKEN_REQUEST_URL points at) and the one behind the
	// stand-in circleci CLI.
	idTokenPath = "/-/localregistry/id-token"
	// CircleCIIssuerPrefix + org ID is the iss of a CircleCI ID token.
	CircleCIIssuerPrefix = "https://oidc.circleci.com/org/"
	// GitHubIssuer is the iss of a GitHub Actions ID token.
	GitHubIssuer = "https://token.actions.githubusercontent.com"
)

// Issuer is a test OIDC identity provider: an RSA key that signs ID tokens.
type Issuer struct {
	Key   *rsa.PrivateKey
	KeyID string
}

// NewIssuer generates an issuer with a fresh 2048-bit RSA key.
func NewIssuer() *Issuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("localregistry: generate RSA key: %v", err))
	}
	return &Issuer{Key: key, KeyID: "testreg-" + loopback.Random(12, loopback.Alnum)}
}

// Mint signs claims as an RS256 JWT whose header carries the issuer's kid.
func (i *Issuer) Mint(claims jwt.MapClaims) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = i.KeyID
	s, err := tok.SignedString(i.Key)
	if err != nil {
		panic(fmt.Sprintf("localregistry: sign ID token: %v", err))
	}
	return s
}

// PrivateKeyPEM returns the signing key as PKCS#1 PEM.
func (i *Issuer) PrivateKeyPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(i.Key)})
}

// Verify checks a token's signature, kid and time claims (exp required)
// at the time now returns, and returns its claims.
func (i *Issuer) Verify(token string, now func() time.Time) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != i.KeyID {
			return nil, fmt.Errorf("unknown signing key id %q", kid)
		}
		return &i.Key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(now))
	return claims, err
}

// CircleCIClaims builds the claims of a CircleCI job's ID token for the given
// project, valid for ttl from now (a negative ttl gives an expired token).
// aud is CircleCI's default, the org ID; set claims["aud"] to the registry's
// Audience() to use the token with npm directly (the stand-in circleci CLI
// does that from its --claims argument).
func CircleCIClaims(orgID, projectID, pipelineDefID, vcsOrigin string, contextIDs []string, ttl time.Duration) jwt.MapClaims {
	now := time.Now()
	iat := now
	if ttl <= 0 {
		iat = now.Add(ttl - time.Hour)
	}
	ids := make([]any, 0, len(contextIDs))
	for _, id := range contextIDs {
		ids = append(ids, id)
	}
	return jwt.MapClaims{
		"iss":                              CircleCIIssuerPrefix + orgID,
		"sub":                              fmt.Sprintf("org/%s/project/%s/user/%s", orgID, projectID, newUUID()),
		"aud":                              orgID,
		"iat":                              iat.Unix(),
		"nbf":                              iat.Unix(),
		"exp":                              now.Add(ttl).Unix(),
		ClaimCircleOrgID:                   orgID,
		ClaimCircleProjectID:               projectID,
		ClaimCirclePipelineDefID:           pipelineDefID,
		"oidc.circleci.com/pipeline-id":    newUUID(),
		"oidc.circleci.com/job-id":         newUUID(),
		ClaimCircleVCSOrigin:               vcsOrigin,
		ClaimCircleVCSRef:                  "refs/heads/main",
		ClaimCircleContextIDs:              ids,
		"oidc.circleci.com/ssh-rerun":      false,
		"oidc.circleci.com/project-name":   vcsOrigin[strings.LastIndex(vcsOrigin, "/")+1:],
		"oidc.circleci.com/vcs-ref-is-tag": false,
	}
}

// GitHubClaims builds the claims of a GitHub Actions ID token for the
// workflow file (a name under .github/workflows) of repository (owner/repo)
// running on ref, in environment when non-empty, valid for ttl. The
// repository is private, so npm does not turn provenance on (which would
// reach out to a public transparency log).
func GitHubClaims(repository, workflowFile, ref, environment string, ttl time.Duration) jwt.MapClaims {
	now := time.Now()
	iat := now
	if ttl <= 0 {
		iat = now.Add(ttl - time.Hour)
	}
	owner, _, _ := strings.Cut(repository, "/")
	sub := "repo:" + repository + ":ref:" + ref
	c := jwt.MapClaims{
		"iss":                   GitHubIssuer,
		"sub":                   sub,
		"iat":                   iat.Unix(),
		"nbf":                   iat.Unix(),
		"exp":                   now.Add(ttl).Unix(),
		"repository":            repository,
		"repository_owner":      owner,
		"repository_visibility": "private",
		"ref":                   ref,
		"event_name":            "push",
		"workflow_ref":          repository + "/.github/workflows/" + workflowFile + "@" + ref,
		"job_workflow_ref":      repository + "/.github/workflows/" + workflowFile + "@" + ref,
	}
	if environment != "" {
		c["environment"] = environment
		c["sub"] = "repo:" + repository + ":environment:" + environment
	}
	return c
}

// GitHubActionsEnv returns the environment of a GitHub Actions job allowed
// to mint ID tokens (ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN,
// GITHUB_ACTIONS=true). The request URL is this registry's emulation of
// GitHub's token service: it answers {"value": <jwt>} with claims plus the
// audience the caller asks for, signed by r.Issuer. Append it after NpmEnv.
func (r *Registry) GitHubActionsEnv(claims jwt.MapClaims) []string {
	reqToken := r.tokenService(claims)
	return []string{
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + r.URL + strings.TrimPrefix(idTokenPath, "/") + "?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + reqToken,
		"GITHUB_ACTIONS=true",
	}
}

// tokenService registers claims with the emulated CI token service and
// returns the request token that asks for them.
func (r *Registry) tokenService(claims jwt.MapClaims) string {
	reqToken := loopback.Random(40, loopback.Alnum)
	cp := map[string]any{}
	for k, v := range claims {
		cp[k] = v
	}
	r.mu.Lock()
	r.state.idClaims[reqToken] = cp
	r.mu.Unlock()
	return reqToken
}

// serveIDToken answers GET <idTokenPath>?audience=<aud> with
// Authorization: Bearer <request token> by {"value": <jwt>}, as GitHub's
// token service does.
func (r *Registry) serveIDToken(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	tok, _ := bearer(req)
	r.mu.Lock()
	base, ok := r.state.idClaims[tok]
	r.mu.Unlock()
	if !ok {
		writeError(w, http.StatusUnauthorized, "unknown ACTIONS_ID_TOKEN_REQUEST_TOKEN")
		return
	}
	claims := jwt.MapClaims{}
	for k, v := range base {
		claims[k] = v
	}
	if aud := req.URL.Query().Get("audience"); aud != "" {
		claims["aud"] = aud
	}
	now := r.now()
	if _, ok := claims["iat"]; !ok {
		claims["iat"] = now.Unix()
	}
	if _, ok := claims["exp"]; !ok {
		claims["exp"] = now.Add(5 * time.Minute).Unix()
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": 1, "value": r.Issuer.Mint(claims)})
}

// oidcToken is an npm token handed out by the exchange.
type oidcToken struct {
	pkg     string
	perms   []string
	expires time.Time
}

// serveOIDCExchange implements POST /-/npm/v1/oidc/token/exchange/package/<name>
// as npm's lib/utils/oidc.js calls it: no body, the ID token as Bearer.
func (r *Registry) serveOIDCExchange(w http.ResponseWriter, req *http.Request, pkg string) {
	const prefix = "OIDC token exchange error - "
	if req.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, prefix+"use POST")
		return
	}
	if pkg == "" {
		writeError(w, http.StatusBadRequest, prefix+"no package name in the path")
		return
	}
	idToken, ok := bearer(req)
	if !ok || idToken == "" {
		writeError(w, http.StatusUnauthorized, prefix+"missing Authorization: Bearer <OIDC ID token>")
		return
	}
	claims, err := r.Issuer.Verify(idToken, r.now)
	if err != nil {
		writeError(w, http.StatusUnauthorized, prefix+describeJWTError(err, claims))
		return
	}
	// A registry wants its own name as the audience: the host the client
	// reached it by (127.0.0.1, or localhost).
	aud, _ := claims.GetAudience()
	want := r.Audience()
	if h, _, err := net.SplitHostPort(req.Host); err == nil {
		want = "npm:" + strings.ToLower(h)
	}
	if !slices.Contains(aud, want) {
		writeError(w, http.StatusUnauthorized, fmt.Sprintf("%saudience (aud) %q does not match %q; mint the token with aud %q",
			prefix, strings.Join(aud, ","), want, want))
		return
	}
	versions, err := r.storedVersions(pkg)
	if err != nil {
		writeError(w, http.StatusBadGateway, prefix+err.Error())
		return
	}
	if versions == nil {
		writeError(w, http.StatusNotFound, prefix+"package "+pkg+" not found; publish it once with a user token before configuring trusted publishing")
		return
	}
	cfgs := r.Trust(pkg)
	if len(cfgs) == 0 {
		writeError(w, http.StatusForbidden, prefix+"no trusted publisher configured for package "+pkg)
		return
	}
	var reasons []string
	var match *TrustConfig
	for i := range cfgs {
		reason := matchTrust(cfgs[i], claims)
		if reason == "" {
			match = &cfgs[i]
			break
		}
		reasons = append(reasons, reason)
	}
	if match == nil {
		writeError(w, http.StatusForbidden, prefix+"ID token does not match the trusted publisher of "+pkg+": "+strings.Join(reasons, "; "))
		return
	}
	token := "npm_" + loopback.Random(36, loopback.Alnum)
	expires := r.now().Add(r.cfg.oidcTTL).UTC()
	r.mu.Lock()
	r.state.tokens[token] = &oidcToken{pkg: pkg, perms: match.Permissions, expires: expires}
	r.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]string{"token": token, "expires": expires.Format(time.RFC3339)})
}

func describeJWTError(err error, claims jwt.MapClaims) string {
	at := func(name string) string {
		if d, e := claims.GetExpirationTime(); name == "exp" && e == nil && d != nil {
			return d.UTC().Format(time.RFC3339)
		}
		if d, e := claims.GetIssuedAt(); name == "iat" && e == nil && d != nil {
			return d.UTC().Format(time.RFC3339)
		}
		if d, e := claims.GetNotBefore(); name == "nbf" && e == nil && d != nil {
			return d.UTC().Format(time.RFC3339)
		}
		return "?"
	}
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "ID token expired at " + at("exp") + "; mint a fresh one"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "ID token has no exp claim"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "ID token not valid before " + at("nbf")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "ID token issued in the future (iat " + at("iat") + ")"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "ID token is not a well-formed JWT"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "ID token signature does not verify with the trusted issuer's key"
	}
	return "invalid ID token"
}

// matchTrust returns why claims do not satisfy cfg, "" when they do.
func matchTrust(cfg TrustConfig, claims jwt.MapClaims) string {
	iss, _ := claims["iss"].(string)
	switch {
	case strings.HasPrefix(iss, CircleCIIssuerPrefix):
		if cfg.Type != "circleci" {
			return fmt.Sprintf("the trusted publisher is of type %s but the ID token comes from CircleCI", cfg.Type)
		}
		return matchCircleCI(cfg, claims)
	case iss == GitHubIssuer:
		if cfg.Type != "github" {
			return fmt.Sprintf("the trusted publisher is of type %s but the ID token comes from GitHub Actions", cfg.Type)
		}
		return matchGitHub(cfg, claims)
	}
	return fmt.Sprintf("unsupported ID token issuer (iss) %q", iss)
}

func matchCircleCI(cfg TrustConfig, claims jwt.MapClaims) string {
	org, _ := cfg.Claims[ClaimCircleOrgID].(string)
	if iss, _ := claims["iss"].(string); iss != CircleCIIssuerPrefix+org {
		return fmt.Sprintf("claim iss is %q, expected %q", iss, CircleCIIssuerPrefix+org)
	}
	for _, k := range []string{ClaimCircleOrgID, ClaimCircleProjectID, ClaimCirclePipelineDefID, ClaimCircleVCSOrigin} {
		want, _ := cfg.Claims[k].(string)
		if got, _ := claims[k].(string); got != want {
			return fmt.Sprintf("claim %s is %q, expected %q", k, got, want)
		}
	}
	if v, ok := cfg.Claims[ClaimCircleContextIDs]; ok {
		want, _ := stringList(v)
		got, _ := stringList(claims[ClaimCircleContextIDs])
		for _, id := range want {
			if !slices.Contains(got, id) {
				return fmt.Sprintf("claim %s %v lacks context %q", ClaimCircleContextIDs, got, id)
			}
		}
	}
	return ""
}

func matchGitHub(cfg TrustConfig, claims jwt.MapClaims) string {
	wantRepo, _ := cfg.Claims["repository"].(string)
	if got, _ := claims["repository"].(string); got != wantRepo {
		return fmt.Sprintf("claim repository is %q, expected %q", got, wantRepo)
	}
	wantFile := fileOf(cfg.Claims["workflow_ref"])
	ref, _ := claims["workflow_ref"].(string)
	file := ""
	if i := strings.Index(ref, "/.github/workflows/"); i >= 0 {
		file, _, _ = strings.Cut(ref[i+len("/.github/workflows/"):], "@")
	}
	if file != wantFile || !strings.HasPrefix(ref, wantRepo+"/") {
		return fmt.Sprintf("claim workflow_ref is %q, expected workflow file %q of %s", ref, wantFile, wantRepo)
	}
	if env, _ := cfg.Claims["environment"].(string); env != "" {
		// Exact, case included, as npm documents for every field.
		if got, _ := claims["environment"].(string); got != env {
			return fmt.Sprintf("claim environment is %q, expected %q", got, env)
		}
	}
	return ""
}

// authorizeOIDCRequest applies the rules of an exchanged npm_ token to a
// request bound for Verdaccio: a publish (PUT of the packument) of its package
// before it expires is sent with the oidc-publisher user's token; reads go
// through anonymously; anything else is refused. It returns false when it has
// answered.
func (r *Registry) authorizeOIDCRequest(w http.ResponseWriter, req *http.Request, tok, pkg string) bool {
	r.mu.Lock()
	t, ok := r.state.tokens[tok]
	r.mu.Unlock()
	switch {
	case !ok:
		writeError(w, http.StatusUnauthorized, "invalid token")
		return false
	case r.now().After(t.expires):
		writeError(w, http.StatusUnauthorized, "token expired at "+t.expires.Format(time.RFC3339)+"; exchange a new OIDC ID token")
		return false
	}
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		req.Header.Del("Authorization")
		return true
	}
	if req.Method != http.MethodPut || pkg != t.pkg || !isPackumentPath(req.URL.Path, pkg) {
		writeError(w, http.StatusForbidden, "a token from OIDC token exchange may only publish "+t.pkg)
		return false
	}
	if !slices.Contains(t.perms, PermCreatePackage) {
		writeError(w, http.StatusForbidden, "the trusted publisher of "+t.pkg+" only allows staged publishing (npm stage publish)")
		return false
	}
	pub, err := r.publisherToken()
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return false
	}
	req.Header.Set("Authorization", "Bearer "+pub)
	return true
}

// oidcTokenFor returns the live exchanged token record, or nil.
func (r *Registry) oidcTokenFor(tok string) *oidcToken {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.state.tokens[tok]
	if !ok || r.now().After(t.expires) {
		return nil
	}
	return t
}

// publisherToken returns the Verdaccio token of the internal oidc-publisher
// user, creating the user on first use.
func (r *Registry) publisherToken() (string, error) {
	r.publisherM.Lock()
	defer r.publisherM.Unlock()
	r.mu.Lock()
	tok := r.state.publisher
	r.mu.Unlock()
	if tok != "" {
		return tok, nil
	}
	tok, err := r.addUser(oidcPublisher, loopback.Random(24, loopback.Alnum))
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.state.publisher = tok
	r.mu.Unlock()
	return tok, nil
}
