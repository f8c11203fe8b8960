// Package localgithub is a throwaway emulator of the GitHub REST endpoints
// a release uses, on a loopback port, written from GitHub's REST
// documentation: `mage rehearse` creates its GitHub Release here, and the
// tests of githubRelease run against it. Nothing reaches GitHub.
//
// It serves, under the GitHub Enterprise Server layout (API at
// URL+"api/v3/", uploads at URL+"api/uploads/", pages at URL):
//
//   - GET  /repos/{owner}/{repo}, GET .../git/ref/tags/{tag}
//   - GET  /repos/{owner}/{repo}/releases/tags/{tag}, GET .../releases/{id}
//   - POST /repos/{owner}/{repo}/releases (422 already_exists for a tag that
//     has a release), PATCH .../releases/{id}
//   - GET  .../releases/{id}/assets (paginated with Link headers),
//     GET and DELETE .../releases/assets/{id} (the bytes with
//     Accept: application/octet-stream), POST uploads .../releases/{id}/assets?name=
//     (422 already_exists for a name the release has; assets carry their
//     "digest", "sha256:<hex>")
//   - GET  /repos/{owner}/{repo}/installation and
//     POST /app/installations/{id}/access_tokens, with a GitHub App's JWT
//     (RS256, iss the app ID or client ID, at most ten minutes long):
//     installation tokens that may write the installation's repositories
//   - GET  /{owner}/{repo}/releases/download/{tag}/{name}, as a browser does
//
// Tokens are "Bearer" or "token" credentials: personal tokens made with
// Token, installation tokens minted above. Anything else is 401 Bad
// credentials; a repository the token may not see is 404, as on GitHub.
// Requests and Await observe the traffic; Inject answers chosen requests
// with a status instead.
package localgithub

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agent-facets/release/internal/loopback"
	"github.com/golang-jwt/jwt/v5"
)

// Server is a running emulator.
type Server struct {
	// URL is the root, ending in "/": pages are under it, the API at
	// APIURL and uploads at UploadURL.
	URL string

	srv *loopback.Server

	mu       sync.Mutex
	repos    map[string]*repo // "owner/name" (lower case) -> repository
	tokens   map[string]*token
	apps     []*App
	nextID   int64
	requests []Request
	arrived  chan struct{}
	faults   []*faultState
}

type repo struct {
	fullName string
	tags     map[string]bool
	releases []*release
}

type release struct {
	id                          int64
	tag, name, body, commitish  string
	draft, prerelease           bool
	makeLatest                  string
	created, published, updated time.Time
	assets                      []*asset
}

type asset struct {
	id                 int64
	name, label, ctype string
	state              string
	data               []byte
	digest             string
	created, updated   time.Time
	downloads          int
}

type token struct {
	value   string
	repos   []string // lower-case "owner/name"; nil = every repository
	expires time.Time
	install int64 // installation it was minted for, 0 for a personal token
}

// App is a GitHub App registered with the emulator.
type App struct {
	ID       int64
	ClientID string
	// Key is the App's private key and KeyPEM the same in PEM (PKCS #1),
	// as GitHub lets a maintainer download it.
	Key    *rsa.PrivateKey
	KeyPEM []byte

	s             *Server
	installations map[string]int64 // repository -> installation id
}

// New starts an emulator on a free loopback port.
func New() (*Server, error) {
	ln, url, err := loopback.Listen("localgithub")
	if err != nil {
		return nil, err
	}
	s := &Server{
		URL:     url,
		repos:   map[string]*repo{},
		tokens:  map[string]*token{},
		nextID:  1000,
		arrived: make(chan struct{}),
	}
	s.srv = loopback.Serve(ln, http.HandlerFunc(s.serve))
	return s, nil
}

// Close stops the emulator.
func (s *Server) Close() { s.srv.Close() }

// APIURL is the REST API's base URL, as release.json's github.apiURL takes it.
func (s *Server) APIURL() string { return s.URL + "api/v3/" }

// UploadURL is the base URL of asset uploads.
func (s *Server) UploadURL() string { return s.URL + "api/uploads/" }

// AddRepo creates the repository fullName ("owner/name") with the given tags.
func (s *Server) AddRepo(fullName string, tags ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &repo{fullName: fullName, tags: map[string]bool{}}
	for _, t := range tags {
		r.tags[t] = true
	}
	s.repos[strings.ToLower(fullName)] = r
}

// AddTag pushes tag to the repository.
func (s *Server) AddTag(fullName, tag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repos[strings.ToLower(fullName)]; r != nil {
		r.tags[tag] = true
	}
}

// Token returns a new personal access token that may write the given
// repositories (every one when none is given).
func (s *Server) Token(repos ...string) string {
	v := "ghp_" + loopback.Random(36, loopback.Alnum)
	t := &token{value: v, expires: time.Now().Add(24 * time.Hour)}
	for _, r := range repos {
		t.repos = append(t.repos, strings.ToLower(r))
	}
	if len(repos) == 0 {
		t.repos = nil
	}
	s.mu.Lock()
	s.tokens[v] = t
	s.mu.Unlock()
	return v
}

// RevokeTokens revokes every personal and installation token.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	s.tokens = map[string]*token{}
	s.mu.Unlock()
}

// AddApp registers a GitHub App with a new 2048-bit key and installs it on
// the given repositories (one installation for all of them).
func (s *Server) AddApp(repos ...string) (*App, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	a := &App{
		ID:       s.nextID,
		ClientID: "Iv23li" + loopback.Random(14, loopback.Alnum),
		Key:      key,
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		s:        s, installations: map[string]int64{},
	}
	s.nextID++
	for _, r := range repos {
		a.installations[strings.ToLower(r)] = s.nextID
	}
	s.apps = append(s.apps, a)
	return a, nil
}

// Installation is the App's installation id on the repository (0 if none).
func (a *App) Installation(fullName string) int64 {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.installations[strings.ToLower(fullName)]
}

// Reinstall uninstalls the App from the repository and installs it again,
// as a maintainer does in the App's settings: the installation gets a new
// id, and the old one answers 404 from then on.
func (a *App) Reinstall(fullName string) int64 {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.s.nextID++
	a.installations[strings.ToLower(fullName)] = a.s.nextID
	return a.s.nextID
}

// Release is a release as the emulator holds it, for assertions.
type Release struct {
	ID                int64
	Tag, Name, Body   string
	Draft, Prerelease bool
	MakeLatest        string
	Assets            []Asset
	Created, Updated  time.Time
}

// Asset is a release asset as the emulator holds it.
type Asset struct {
	ID                       int64
	Name, ContentType, State string
	Data                     []byte
	Digest                   string
}

// Releases returns the repository's releases, oldest first.
func (s *Server) Releases(fullName string) []Release {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(fullName)]
	if r == nil {
		return nil
	}
	var out []Release
	for _, rel := range r.releases {
		x := Release{ID: rel.id, Tag: rel.tag, Name: rel.name, Body: rel.body, Draft: rel.draft, Prerelease: rel.prerelease, MakeLatest: rel.makeLatest, Created: rel.created, Updated: rel.updated}
		for _, a := range rel.assets {
			x.Assets = append(x.Assets, Asset{ID: a.id, Name: a.name, ContentType: a.ctype, State: a.state, Data: slices.Clone(a.data), Digest: a.digest})
		}
		out = append(out, x)
	}
	return out
}

// SetAsset replaces the bytes of a release's asset behind the API's back
// (an asset uploaded by hand, or an upload cut short), keeping its id.
// With digest false the asset loses its digest, as assets uploaded before
// GitHub computed digests have none.
func (s *Server) SetAsset(fullName, tag, name string, data []byte, state string, digest bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(fullName)]
	if r == nil {
		return false
	}
	for _, rel := range r.releases {
		if rel.tag != tag {
			continue
		}
		for _, a := range rel.assets {
			if a.name == name {
				a.data, a.state, a.digest = slices.Clone(data), state, ""
				if digest {
					a.digest = digestOf(data)
				}
				return true
			}
		}
	}
	return false
}

// Request is one request the emulator answered.
type Request struct {
	Method string
	// Path is the escaped URL path, e.g. /api/v3/repos/o/r/releases.
	Path  string
	Query string
	// Auth is what authenticated it: "token", "installation", "jwt", or "".
	Auth     string
	Status   int
	InFlight bool
	Fault    bool
}

// Requests returns every request so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Await waits until a request at index from or later satisfies match (as
// it arrives and again once answered) and returns its index.
func (s *Server) Await(ctx context.Context, from int, match func(Request) bool) (int, Request, error) {
	for {
		s.mu.Lock()
		for i := from; i < len(s.requests); i++ {
			if match(s.requests[i]) {
				r := s.requests[i]
				s.mu.Unlock()
				return i, r, nil
			}
		}
		wait := s.arrived
		s.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return -1, Request{}, fmt.Errorf("localgithub: no matching request: %w", ctx.Err())
		}
	}
}

// Count returns how many requests match method and a path suffix.
func (s *Server) Count(method, pathSuffix string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, pathSuffix) {
			n++
		}
	}
	return n
}

// Fault answers the next Times (1 when zero) requests whose method is
// Method (any when empty) and whose escaped path contains PathContains and
// ends with PathSuffix with Status and Body (JSON), or a GitHub error body
// carrying Message.
type Fault struct {
	Method, PathContains, PathSuffix string
	Times                            int
	Status                           int
	Message, Body                    string
}

type faultState struct {
	Fault
	left int
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{Fault: f, left: max(f.Times, 1)})
}

func (s *Server) takeFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		p := r.URL.EscapedPath()
		if f.left > 0 && (f.Method == "" || f.Method == r.Method) && strings.Contains(p, f.PathContains) && strings.HasSuffix(p, f.PathSuffix) {
			f.left--
			out := f.Fault
			return &out
		}
	}
	return nil
}

func (s *Server) log(rec Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
	s.wake()
	return len(s.requests) - 1
}

func (s *Server) wake() {
	close(s.arrived)
	s.arrived = make(chan struct{})
}

func (s *Server) serve(rw http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, InFlight: true}
	idx := s.log(rec)
	sw := &loopback.StatusWriter{ResponseWriter: rw}
	auth := ""
	defer func() {
		s.mu.Lock()
		rec.Status, rec.InFlight, rec.Auth = sw.Status, false, auth
		s.requests[idx] = rec
		s.wake()
		s.mu.Unlock()
	}()
	if f := s.takeFault(r); f != nil {
		rec.Fault = true
		if f.Body != "" {
			sw.Header().Set("Content-Type", "application/json; charset=utf-8")
			sw.WriteHeader(f.Status)
			_, _ = io.WriteString(sw, f.Body)
			return
		}
		writeError(sw, f.Status, f.Message)
		return
	}
	segs := segments(r.URL.EscapedPath())
	switch {
	case len(segs) >= 2 && segs[0] == "api" && segs[1] == "v3":
		auth = s.api(sw, r, segs[2:])
	case len(segs) >= 2 && segs[0] == "api" && segs[1] == "uploads":
		auth = s.upload(sw, r, segs[2:])
	case len(segs) == 6 && segs[2] == "releases" && segs[3] == "download" && r.Method == http.MethodGet:
		s.download(sw, segs[0]+"/"+segs[1], segs[4], segs[5])
	default:
		notFound(sw)
	}
}

// segments splits an escaped path and unescapes each segment.
func segments(p string) []string {
	var out []string
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if v, err := url.PathUnescape(seg); err == nil {
			seg = v
		}
		out = append(out, seg)
	}
	return out
}

const docs = "https://docs.github.com/rest"

func writeJSON(rw http.ResponseWriter, status int, v any) {
	data, _ := json.Marshal(v)
	rw.Header().Set("Content-Type", "application/json; charset=utf-8")
	rw.Header().Set("Content-Length", strconv.Itoa(len(data)))
	rw.WriteHeader(status)
	_, _ = rw.Write(data)
}

func writeError(rw http.ResponseWriter, status int, msg string) {
	if msg == "" {
		msg = http.StatusText(status)
	}
	writeJSON(rw, status, map[string]string{"message": msg, "documentation_url": docs, "status": strconv.Itoa(status)})
}

func notFound(rw http.ResponseWriter) { writeError(rw, http.StatusNotFound, "Not Found") }

func badCredentials(rw http.ResponseWriter) {
	writeError(rw, http.StatusUnauthorized, "Bad credentials")
}

// validationFailed is GitHub's 422 answer with one error.
func validationFailed(rw http.ResponseWriter, resource, field, code string) {
	writeJSON(rw, http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            []map[string]string{{"resource": resource, "code": code, "field": field}},
		"documentation_url": docs,
		"status":            "422",
	})
}

// credential returns the request's token ("Bearer x" or "token x").
func credential(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, p := range []string{"Bearer ", "bearer ", "token "} {
		if v, ok := strings.CutPrefix(h, p); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// authorize checks a token for repository fullName: 401 when the token is
// unknown or expired, 404 (as GitHub answers) when it may not see the
// repository or the repository does not exist.
func (s *Server) authorize(rw http.ResponseWriter, r *http.Request, fullName string) (*repo, string, bool) {
	s.mu.Lock()
	t := s.tokens[credential(r)]
	rp := s.repos[strings.ToLower(fullName)]
	s.mu.Unlock()
	if t == nil || time.Now().After(t.expires) {
		badCredentials(rw)
		return nil, "", false
	}
	kind := "token"
	if t.install != 0 {
		kind = "installation"
	}
	if rp == nil || (t.repos != nil && !slices.Contains(t.repos, strings.ToLower(fullName))) {
		notFound(rw)
		return nil, kind, false
	}
	return rp, kind, true
}

func (s *Server) api(rw http.ResponseWriter, r *http.Request, segs []string) string {
	if len(segs) >= 1 && segs[0] == "app" {
		s.appEndpoint(rw, r, segs)
		return "jwt"
	}
	if len(segs) < 3 || segs[0] != "repos" {
		notFound(rw)
		return ""
	}
	full := segs[1] + "/" + segs[2]
	rest := segs[3:]
	if len(rest) == 1 && rest[0] == "installation" && r.Method == http.MethodGet {
		s.repoInstallation(rw, r, full)
		return "jwt"
	}
	rp, kind, ok := s.authorize(rw, r, full)
	if !ok {
		return kind
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		owner, name, _ := strings.Cut(rp.fullName, "/")
		writeJSON(rw, http.StatusOK, map[string]any{"id": 1, "name": name, "full_name": rp.fullName, "private": false,
			"owner": map[string]any{"login": owner}, "html_url": s.URL + rp.fullName, "default_branch": "main"})
	case len(rest) >= 3 && rest[0] == "git" && rest[1] == "ref" && rest[2] == "tags" && r.Method == http.MethodGet:
		tag := strings.Join(rest[3:], "/")
		if !rp.tags[tag] {
			notFound(rw)
			return kind
		}
		writeJSON(rw, http.StatusOK, map[string]any{"ref": "refs/tags/" + tag, "url": s.APIURL() + "repos/" + full + "/git/refs/tags/" + tag,
			"object": map[string]string{"type": "commit", "sha": fmt.Sprintf("%040x", len(tag))}})
	case len(rest) == 3 && rest[0] == "releases" && rest[1] == "tags" && r.Method == http.MethodGet:
		for _, rel := range rp.releases {
			if rel.tag == rest[2] && !rel.draft {
				writeJSON(rw, http.StatusOK, s.releaseJSON(rp, rel))
				return kind
			}
		}
		notFound(rw)
	case len(rest) == 1 && rest[0] == "releases" && r.Method == http.MethodPost:
		s.createRelease(rw, r, rp)
	case len(rest) == 1 && rest[0] == "releases" && r.Method == http.MethodGet:
		s.listReleases(rw, r, rp)
	case len(rest) == 2 && rest[0] == "releases" && (r.Method == http.MethodGet || r.Method == http.MethodPatch):
		rel := findRelease(rp, rest[1])
		if rel == nil {
			notFound(rw)
			return kind
		}
		if r.Method == http.MethodPatch && !s.updateRelease(rw, r, rp, rel) {
			return kind
		}
		writeJSON(rw, http.StatusOK, s.releaseJSON(rp, rel))
	case len(rest) == 3 && rest[0] == "releases" && rest[2] == "assets" && r.Method == http.MethodGet:
		rel := findRelease(rp, rest[1])
		if rel == nil {
			notFound(rw)
			return kind
		}
		s.listAssets(rw, r, rp, rel)
	case len(rest) == 3 && rest[0] == "releases" && rest[1] == "assets":
		rel, a := findAsset(rp, rest[2])
		if a == nil {
			notFound(rw)
			return kind
		}
		switch r.Method {
		case http.MethodGet:
			if strings.Contains(r.Header.Get("Accept"), "application/octet-stream") {
				a.downloads++
				rw.Header().Set("Content-Type", "application/octet-stream")
				rw.Header().Set("Content-Length", strconv.Itoa(len(a.data)))
				rw.WriteHeader(http.StatusOK)
				_, _ = rw.Write(a.data)
				return kind
			}
			writeJSON(rw, http.StatusOK, s.assetJSON(rp, rel, a))
		case http.MethodDelete:
			rel.assets = slices.DeleteFunc(rel.assets, func(x *asset) bool { return x == a })
			rw.WriteHeader(http.StatusNoContent)
		case http.MethodPatch:
			var b struct {
				Name  *string `json:"name"`
				Label *string `json:"label"`
			}
			if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
				writeError(rw, http.StatusBadRequest, "Problems parsing JSON")
				return kind
			}
			if b.Name != nil && *b.Name != a.name {
				for _, other := range rel.assets {
					if other.name == *b.Name {
						validationFailed(rw, "ReleaseAsset", "name", "already_exists")
						return kind
					}
				}
				a.name = *b.Name
			}
			if b.Label != nil {
				a.label = *b.Label
			}
			a.updated = time.Now().UTC().Truncate(time.Second)
			writeJSON(rw, http.StatusOK, s.assetJSON(rp, rel, a))
		default:
			writeError(rw, http.StatusMethodNotAllowed, "")
		}
	default:
		notFound(rw)
	}
	return kind
}

func findRelease(rp *repo, id string) *release {
	for _, rel := range rp.releases {
		if strconv.FormatInt(rel.id, 10) == id {
			return rel
		}
	}
	return nil
}

func findAsset(rp *repo, id string) (*release, *asset) {
	for _, rel := range rp.releases {
		for _, a := range rel.assets {
			if strconv.FormatInt(a.id, 10) == id {
				return rel, a
			}
		}
	}
	return nil, nil
}

// releaseBody is the body of "Create a release" and "Update a release":
// pointers tell a field left out from one set to its zero value.
type releaseBody struct {
	TagName         *string `json:"tag_name"`
	TargetCommitish *string `json:"target_commitish"`
	Name            *string `json:"name"`
	Body            *string `json:"body"`
	Draft           *bool   `json:"draft"`
	Prerelease      *bool   `json:"prerelease"`
	MakeLatest      *string `json:"make_latest"`
}

func decodeRelease(rw http.ResponseWriter, r *http.Request) (*releaseBody, bool) {
	var b releaseBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		writeError(rw, http.StatusBadRequest, "Problems parsing JSON")
		return nil, false
	}
	if b.MakeLatest != nil && !slices.Contains([]string{"true", "false", "legacy"}, *b.MakeLatest) {
		validationFailed(rw, "Release", "make_latest", "invalid")
		return nil, false
	}
	return &b, true
}

// createRelease is "Create a release"; s.mu is held.
func (s *Server) createRelease(rw http.ResponseWriter, r *http.Request, rp *repo) {
	b, ok := decodeRelease(rw, r)
	if !ok {
		return
	}
	if b.TagName == nil || *b.TagName == "" {
		validationFailed(rw, "Release", "tag_name", "missing_field")
		return
	}
	for _, rel := range rp.releases {
		if rel.tag == *b.TagName {
			validationFailed(rw, "Release", "tag_name", "already_exists")
			return
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	s.nextID++
	rel := &release{id: s.nextID, tag: *b.TagName, commitish: "main", created: now, updated: now}
	apply(rel, b)
	if !rel.draft {
		rel.published = now
	}
	// GitHub creates a missing tag from target_commitish; the toolkit checks
	// the tag first and never relies on this.
	rp.tags[rel.tag] = true
	rp.releases = append(rp.releases, rel)
	writeJSON(rw, http.StatusCreated, s.releaseJSON(rp, rel))
}

func apply(rel *release, b *releaseBody) {
	if b.TagName != nil {
		rel.tag = *b.TagName
	}
	if b.TargetCommitish != nil {
		rel.commitish = *b.TargetCommitish
	}
	if b.Name != nil {
		rel.name = *b.Name
	}
	if b.Body != nil {
		rel.body = *b.Body
	}
	if b.Draft != nil {
		rel.draft = *b.Draft
	}
	if b.Prerelease != nil {
		rel.prerelease = *b.Prerelease
	}
	if b.MakeLatest != nil {
		rel.makeLatest = *b.MakeLatest
	}
}

// updateRelease is "Update a release"; s.mu is held.
func (s *Server) updateRelease(rw http.ResponseWriter, r *http.Request, rp *repo, rel *release) bool {
	b, ok := decodeRelease(rw, r)
	if !ok {
		return false
	}
	if b.TagName != nil && *b.TagName != rel.tag {
		for _, other := range rp.releases {
			if other != rel && other.tag == *b.TagName {
				validationFailed(rw, "Release", "tag_name", "already_exists")
				return false
			}
		}
	}
	apply(rel, b)
	rel.updated = time.Now().UTC().Truncate(time.Second)
	if !rel.draft && rel.published.IsZero() {
		rel.published = rel.updated
	}
	return true
}

// listReleases is "List releases": newest first, drafts included (the
// caller may write the repository).
func (s *Server) listReleases(rw http.ResponseWriter, r *http.Request, rp *repo) {
	all := slices.Clone(rp.releases)
	slices.Reverse(all)
	start, end := s.page(rw, r, len(all))
	out := []map[string]any{}
	for _, rel := range all[start:end] {
		out = append(out, s.releaseJSON(rp, rel))
	}
	writeJSON(rw, http.StatusOK, out)
}

// page returns the slice bounds of the requested page of n items and sets
// the Link header when there is a next page.
func (s *Server) page(rw http.ResponseWriter, r *http.Request, n int) (int, int) {
	perPage, page := 30, 1
	if v, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 100)
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		page = v
	}
	start := min((page-1)*perPage, n)
	end := min(start+perPage, n)
	if end < n {
		next := *r.URL
		q := next.Query()
		q.Set("page", strconv.Itoa(page+1))
		q.Set("per_page", strconv.Itoa(perPage))
		next.RawQuery = q.Encode()
		rw.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, strings.TrimSuffix(s.URL, "/"), next.RequestURI()))
	}
	return start, end
}

func (s *Server) listAssets(rw http.ResponseWriter, r *http.Request, rp *repo, rel *release) {
	start, end := s.page(rw, r, len(rel.assets))
	out := []map[string]any{}
	for _, a := range rel.assets[start:end] {
		out = append(out, s.assetJSON(rp, rel, a))
	}
	writeJSON(rw, http.StatusOK, out)
}

func (s *Server) upload(rw http.ResponseWriter, r *http.Request, segs []string) string {
	if len(segs) != 6 || segs[0] != "repos" || segs[3] != "releases" || segs[5] != "assets" || r.Method != http.MethodPost {
		notFound(rw)
		return ""
	}
	full := segs[1] + "/" + segs[2]
	rp, kind, ok := s.authorize(rw, r, full)
	if !ok {
		return kind
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(rw, http.StatusBadRequest, "read body: "+err.Error())
		return kind
	}
	name := r.URL.Query().Get("name")
	ctype := r.Header.Get("Content-Type")
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := findRelease(rp, segs[4])
	switch {
	case rel == nil:
		notFound(rw)
		return kind
	case name == "":
		validationFailed(rw, "ReleaseAsset", "name", "missing_field")
		return kind
	case ctype == "":
		validationFailed(rw, "ReleaseAsset", "content_type", "missing_field")
		return kind
	case r.ContentLength >= 0 && r.ContentLength != int64(len(data)):
		writeError(rw, http.StatusBadRequest, "Content-Length does not match the body")
		return kind
	}
	for _, a := range rel.assets {
		if a.name == name {
			validationFailed(rw, "ReleaseAsset", "name", "already_exists")
			return kind
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	s.nextID++
	a := &asset{id: s.nextID, name: name, label: r.URL.Query().Get("label"), ctype: ctype, state: "uploaded", data: data, digest: digestOf(data), created: now, updated: now}
	rel.assets = append(rel.assets, a)
	writeJSON(rw, http.StatusCreated, s.assetJSON(rp, rel, a))
	return kind
}

func (s *Server) download(rw http.ResponseWriter, full, tag, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[strings.ToLower(full)]
	if rp == nil {
		notFound(rw)
		return
	}
	for _, rel := range rp.releases {
		if rel.tag != tag || rel.draft {
			continue
		}
		for _, a := range rel.assets {
			if a.name == name {
				a.downloads++
				rw.Header().Set("Content-Type", "application/octet-stream")
				rw.Header().Set("Content-Length", strconv.Itoa(len(a.data)))
				_, _ = rw.Write(a.data)
				return
			}
		}
	}
	notFound(rw)
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func stamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339)
}

func (s *Server) releaseJSON(rp *repo, rel *release) map[string]any {
	api := s.APIURL() + "repos/" + rp.fullName + "/releases/" + strconv.FormatInt(rel.id, 10)
	assets := []map[string]any{}
	for _, a := range rel.assets {
		assets = append(assets, s.assetJSON(rp, rel, a))
	}
	var name any = rel.name
	if rel.name == "" {
		name = nil
	}
	return map[string]any{
		"url":              api,
		"html_url":         s.URL + rp.fullName + "/releases/tag/" + url.PathEscape(rel.tag),
		"assets_url":       api + "/assets",
		"upload_url":       s.UploadURL() + "repos/" + rp.fullName + "/releases/" + strconv.FormatInt(rel.id, 10) + "/assets{?name,label}",
		"tarball_url":      s.APIURL() + "repos/" + rp.fullName + "/tarball/" + url.PathEscape(rel.tag),
		"zipball_url":      s.APIURL() + "repos/" + rp.fullName + "/zipball/" + url.PathEscape(rel.tag),
		"id":               rel.id,
		"node_id":          fmt.Sprintf("RE_%d", rel.id),
		"tag_name":         rel.tag,
		"target_commitish": rel.commitish,
		"name":             name,
		"body":             rel.body,
		"draft":            rel.draft,
		"prerelease":       rel.prerelease,
		"immutable":        false,
		"created_at":       stamp(rel.created),
		"published_at":     stamp(rel.published),
		"updated_at":       stamp(rel.updated),
		"author":           map[string]any{"login": "release-bot", "id": 1, "type": "Bot"},
		"assets":           assets,
	}
}

func (s *Server) assetJSON(rp *repo, rel *release, a *asset) map[string]any {
	var label, digest any = a.label, a.digest
	if a.digest == "" {
		digest = nil
	}
	return map[string]any{
		"url":                  s.APIURL() + "repos/" + rp.fullName + "/releases/assets/" + strconv.FormatInt(a.id, 10),
		"browser_download_url": s.URL + rp.fullName + "/releases/download/" + url.PathEscape(rel.tag) + "/" + url.PathEscape(a.name),
		"id":                   a.id,
		"node_id":              fmt.Sprintf("RA_%d", a.id),
		"name":                 a.name,
		"label":                label,
		"state":                a.state,
		"content_type":         a.ctype,
		"size":                 len(a.data),
		"digest":               digest,
		"download_count":       a.downloads,
		"created_at":           stamp(a.created),
		"updated_at":           stamp(a.updated),
		"uploader":             map[string]any{"login": "release-bot", "id": 1, "type": "Bot"},
	}
}

// appFor verifies a GitHub App JWT and returns its App: 401 with GitHub's
// messages when it is missing, malformed, badly signed, expired, issued in
// the future or longer than ten minutes.
func (s *Server) appFor(rw http.ResponseWriter, r *http.Request) *App {
	raw := credential(r)
	if raw == "" {
		writeError(rw, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return nil
	}
	var app *App
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(tk *jwt.Token) (any, error) {
		iss := fmt.Sprint(claims["iss"])
		if f, ok := claims["iss"].(float64); ok {
			iss = strconv.FormatInt(int64(f), 10)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, a := range s.apps {
			if iss == strconv.FormatInt(a.ID, 10) || iss == a.ClientID {
				app = a
				return &a.Key.PublicKey, nil
			}
		}
		return nil, fmt.Errorf("no app %q", iss)
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithLeeway(60*time.Second), jwt.WithIssuedAt(), jwt.WithExpirationRequired())
	if err != nil {
		switch {
		case app == nil:
			writeError(rw, http.StatusUnauthorized, "A JSON web token could not be decoded")
		case strings.Contains(err.Error(), "expired"):
			writeError(rw, http.StatusUnauthorized, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
		case strings.Contains(err.Error(), "issued"):
			writeError(rw, http.StatusUnauthorized, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued")
		default:
			writeError(rw, http.StatusUnauthorized, "A JSON web token could not be decoded")
		}
		return nil
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if iat == nil || exp.Sub(iat.Time) > 10*time.Minute {
		writeError(rw, http.StatusUnauthorized, "'Expiration time' claim ('exp') is too far in the future")
		return nil
	}
	return app
}

// repoInstallation is "Get a repository installation for the
// authenticated app".
func (s *Server) repoInstallation(rw http.ResponseWriter, r *http.Request, full string) {
	app := s.appFor(rw, r)
	if app == nil {
		return
	}
	id := app.Installation(full)
	if id == 0 {
		notFound(rw)
		return
	}
	writeJSON(rw, http.StatusOK, map[string]any{"id": id, "app_id": app.ID, "client_id": app.ClientID, "target_type": "Organization",
		"access_tokens_url": s.APIURL() + "app/installations/" + strconv.FormatInt(id, 10) + "/access_tokens", "repository_selection": "selected"})
}

// appEndpoint is "Create an installation access token for an app".
func (s *Server) appEndpoint(rw http.ResponseWriter, r *http.Request, segs []string) {
	if len(segs) != 4 || segs[1] != "installations" || segs[3] != "access_tokens" || r.Method != http.MethodPost {
		notFound(rw)
		return
	}
	app := s.appFor(rw, r)
	if app == nil {
		return
	}
	id, _ := strconv.ParseInt(segs[2], 10, 64)
	s.mu.Lock()
	var repos []string
	for full, inst := range app.installations {
		if inst == id {
			repos = append(repos, full)
		}
	}
	s.mu.Unlock()
	if len(repos) == 0 {
		notFound(rw)
		return
	}
	// A body may narrow the token to some repositories and permissions.
	var body struct {
		Repositories []string          `json:"repositories"`
		Permissions  map[string]string `json:"permissions"`
	}
	if data, _ := io.ReadAll(r.Body); len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &body); err != nil {
			writeError(rw, http.StatusBadRequest, "Problems parsing JSON")
			return
		}
	}
	t := &token{value: "ghs_" + loopback.Random(36, loopback.Alnum), repos: repos, expires: time.Now().Add(time.Hour), install: id}
	s.mu.Lock()
	s.tokens[t.value] = t
	s.mu.Unlock()
	writeJSON(rw, http.StatusCreated, map[string]any{
		"token":                t.value,
		"expires_at":           t.expires.UTC().Format(time.RFC3339),
		"permissions":          map[string]string{"contents": "write", "metadata": "read"},
		"repository_selection": "selected",
	})
}
