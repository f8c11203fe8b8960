package localregistry

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// stagedPublish is a publish held back until approved (npm stage publish).
type stagedPublish struct {
	id, pkg, version, tag string
	createdAt             time.Time
	actor, actorType      string
	shasum                string
	body                  []byte // the publish document, PUT to Verdaccio on approve
	tarball               []byte
}

func (s *stagedPublish) item() map[string]any {
	return map[string]any{
		"id":          s.id,
		"packageName": s.pkg,
		"version":     s.version,
		"tag":         s.tag,
		"createdAt":   s.createdAt.UTC().Format(time.RFC3339),
		"actor":       s.actor,
		"actorType":   s.actorType,
		"shasum":      s.shasum,
	}
}

// StagedVersions returns the versions of pkg waiting for approval.
func (r *Registry) StagedVersions(pkg string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, id := range r.state.stageOrder {
		if s := r.state.stages[id]; s.pkg == pkg {
			out = append(out, s.version)
		}
	}
	return out
}

// serveStage implements npm's staged publishing endpoints (npm stage ...,
// libnpmpublish with stage: true).
//
// Who may read: a user may list everything and view or download any staged
// package. Without a user, a list filtered to one package (?package=) and the
// view and tarball of a staged package are served to anyone, unless
// RefuseAnonymousStageReads is set, and to a token from the OIDC exchange
// for that package. (npm's registry documents neither: the toolkit reads
// anonymously first and falls back to credentials on 401/403, so both
// answers are emulated.) Approve and reject need a user and always a
// one-time password (OTP).
func (r *Registry) serveStage(w http.ResponseWriter, req *http.Request, pkg string) {
	path := req.URL.Path
	switch {
	case strings.HasPrefix(path, "/-/stage/package/") && req.Method == http.MethodPost:
		r.stagePublish(w, req, pkg)
		return
	case path == "/-/stage" && req.Method == http.MethodGet:
		filter := req.URL.Query().Get("package")
		if filter != "" && r.mayReadStaged(req, filter) || r.authUser(w, req) != "" {
			r.stageList(w, req)
		}
		return
	}
	id, action, _ := strings.Cut(strings.TrimPrefix(path, "/-/stage/"), "/")
	r.mu.Lock()
	s := r.state.stages[id]
	r.mu.Unlock()
	read := req.Method == http.MethodGet && (action == "" || action == "tarball")
	if !(read && s != nil && r.mayReadStaged(req, s.pkg)) && r.authUser(w, req) == "" {
		return
	}
	if s == nil {
		writeError(w, http.StatusNotFound, "no staged package with id "+id)
		return
	}
	switch {
	case action == "" && req.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.item())
	case action == "tarball" && req.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(s.tarball)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(s.tarball)
	case action == "approve" && req.Method == http.MethodPost:
		if r.checkStageOTP(w, req) {
			r.stageApprove(w, req, s)
		}
	case action == "" && req.Method == http.MethodDelete:
		if r.checkStageOTP(w, req) {
			r.dropStage(id)
			w.WriteHeader(http.StatusNoContent)
		}
	default:
		writeError(w, http.StatusMethodNotAllowed, req.Method+" is not supported on "+path)
	}
}

// mayReadStaged reports whether req may read pkg's staged packages without
// a user: anyone unless anonymous reads are refused, or a live token from
// the OIDC exchange for pkg.
func (r *Registry) mayReadStaged(req *http.Request, pkg string) bool {
	if tok, ok := bearer(req); ok && strings.HasPrefix(tok, "npm_") {
		t := r.oidcTokenFor(tok)
		return t != nil && t.pkg == pkg
	}
	if _, ok := bearer(req); ok {
		return false // a user's token: authUser decides
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.state.refuseAnonStage
}

// RefuseAnonymousStageReads makes the staged-publishing reads (list, view,
// tarball) answer 401 without a user or an OIDC-exchanged token for the
// package, as a registry that keeps its staging area private would.
func (r *Registry) RefuseAnonymousStageReads(refuse bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state.refuseAnonStage = refuse
}

// OTP returns the one-time password the registry accepts: the code given to
// RequireOTP, else one drawn when the registry started. Approving and
// rejecting a staged package always need it (npm's registry requires 2FA on
// accounts that stage); other writes only after RequireOTP.
func (r *Registry) OTP() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state.otp != "" {
		return r.state.otp
	}
	return r.state.stageOTP
}

// checkStageOTP answers 401 and returns false unless the npm-otp header
// holds the code OTP returns.
func (r *Registry) checkStageOTP(w http.ResponseWriter, req *http.Request) bool {
	if !r.checkCode(w, req, r.OTP()) {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state.otpUses > 0 {
		if r.state.otpUses--; r.state.otpUses == 0 {
			r.state.otp = r.state.otpNext
		}
	}
	return true
}

// ExpireOTPAfter lets the current one-time password (OTP) serve uses more
// approvals or rejections; after them only next is accepted, as after
// RequireOTP(next): a code that expires part of the way through a release,
// at a point the test chooses.
func (r *Registry) ExpireOTPAfter(uses int, next string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state.otpUses, r.state.otpNext = uses, next
}

// Publish is one version the registry made public: a publish Verdaccio
// accepted or an approved staged publish.
type Publish struct {
	Package, Version string
	// Staged is set when a staged publish was approved.
	Staged bool
	Time   time.Time
}

// Publishes returns every publish so far, in the order they happened.
func (r *Registry) Publishes() []Publish {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Publish(nil), r.state.publishLog...)
}

// Staged is one staged publish, as the registry holds it.
type Staged struct {
	ID, Package, Version, Tag string
}

// StagedPublishes returns every staged publish waiting for approval, oldest first.
func (r *Registry) StagedPublishes() []Staged {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Staged
	for _, id := range r.state.stageOrder {
		s := r.state.stages[id]
		out = append(out, Staged{ID: s.id, Package: s.pkg, Version: s.version, Tag: s.tag})
	}
	return out
}

func (r *Registry) stagePublish(w http.ResponseWriter, req *http.Request, pkg string) {
	actor, actorType := "", ""
	if tok, ok := bearer(req); ok && strings.HasPrefix(tok, "npm_") {
		t := r.oidcTokenFor(tok)
		switch {
		case t == nil:
			writeError(w, http.StatusUnauthorized, "invalid or expired token")
			return
		case t.pkg != pkg:
			writeError(w, http.StatusForbidden, "a token from OIDC token exchange may only stage "+t.pkg)
			return
		case !slices.Contains(t.perms, PermCreateStagedPackage):
			writeError(w, http.StatusForbidden, "the trusted publisher of "+pkg+" does not allow staged publishing (createStagedPackage)")
			return
		}
		actor, actorType = "trusted-publisher", "oidc"
	} else {
		if actor = r.authUser(w, req); actor == "" {
			return
		}
		actorType = "user"
	}

	body, err := io.ReadAll(req.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	var doc struct {
		Name        string                     `json:"name"`
		DistTags    map[string]string          `json:"dist-tags"`
		Versions    map[string]json.RawMessage `json:"versions"`
		Attachments map[string]struct {
			Data string `json:"data"`
		} `json:"_attachments"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Name != pkg || len(doc.Versions) != 1 || len(doc.Attachments) != 1 {
		writeError(w, http.StatusBadRequest, "body must be a publish document of "+pkg+" with one version and its tarball")
		return
	}
	s := &stagedPublish{id: newUUID(), pkg: pkg, createdAt: r.now(), actor: actor, actorType: actorType, body: body}
	for v := range doc.Versions {
		s.version = v
	}
	for tag, v := range doc.DistTags {
		if v == s.version {
			s.tag = tag
		}
	}
	for _, a := range doc.Attachments {
		if s.tarball, err = base64.StdEncoding.DecodeString(a.Data); err != nil {
			writeError(w, http.StatusBadRequest, "tarball is not base64: "+err.Error())
			return
		}
	}
	sum := sha1.Sum(s.tarball)
	s.shasum = hex.EncodeToString(sum[:])

	versions, err := r.storedVersions(pkg)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	if _, ok := versions[s.version]; ok {
		writeError(w, http.StatusForbidden, "You cannot publish over the previously published versions: "+s.version+".")
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, other := range r.state.stages {
		if other.pkg == pkg && other.version == s.version {
			writeError(w, http.StatusConflict, fmt.Sprintf("%s@%s is already staged (id %s)", pkg, s.version, other.id))
			return
		}
	}
	r.state.stages[s.id] = s
	r.state.stageOrder = append(r.state.stageOrder, s.id)
	writeJSON(w, http.StatusCreated, map[string]string{"stageId": s.id})
}

func (r *Registry) stageList(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	perPage, err := strconv.Atoi(q.Get("perPage"))
	if err != nil || perPage <= 0 {
		perPage = 100
	}
	r.mu.Lock()
	var all []map[string]any
	for _, id := range r.state.stageOrder {
		if s := r.state.stages[id]; q.Get("package") == "" || s.pkg == q.Get("package") {
			all = append(all, s.item())
		}
	}
	r.mu.Unlock()
	items := []map[string]any{}
	if from := page * perPage; page >= 0 && from < len(all) {
		items = all[from:min(from+perPage, len(all))]
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "total": len(all)})
}

// stageApprove publishes the staged document to Verdaccio with the approving
// user's token.
func (r *Registry) stageApprove(w http.ResponseWriter, req *http.Request, s *stagedPublish) {
	tok, _ := bearer(req)
	status, data, err := r.backendDo(http.MethodPut, "/"+escapeName(s.pkg), tok, s.body)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	if status < 200 || status > 299 {
		var e struct{ Error string }
		_ = json.Unmarshal(data, &e)
		writeError(w, status, fmt.Sprintf("publish %s@%s: %s", s.pkg, s.version, e.Error))
		return
	}
	r.recordStagedPublish(s.pkg, s.version)
	r.dropStage(s.id)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "id": s.id, "packageName": s.pkg, "version": s.version})
}

func (r *Registry) dropStage(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.state.stages, id)
	r.state.stageOrder = slices.DeleteFunc(r.state.stageOrder, func(x string) bool { return x == id })
}
