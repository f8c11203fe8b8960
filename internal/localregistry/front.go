package localregistry

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/agent-facets/release/internal/loopback"
)

// emulatorState is everything the front keeps; guarded by Registry.mu.
type emulatorState struct {
	trust      map[string][]TrustConfig // package -> configurations
	otp        string                   // required one-time password ("" = none)
	faults     []*faultState
	requests   []Request
	arrived    chan struct{}              // closed (and replaced) when a request arrives or ends
	publishes  map[string][]publishRecord // package -> successful publishes
	hidden     []*hiddenVersion
	tokens     map[string]*oidcToken // exchanged npm_ tokens
	whoami     map[string]string     // Verdaccio token -> user name
	idClaims   map[string]map[string]any
	publisher  string // Verdaccio token of the oidc-publisher user
	stages     map[string]*stagedPublish
	stageOrder []string
	// stageOTP is the code stage approve/reject accept when otp is unset.
	stageOTP        string
	otpUses         int // approvals and rejections left before otp becomes otpNext
	otpNext         string
	refuseAnonStage bool
	publishLog      []Publish
}

func (s *emulatorState) init() {
	s.trust = map[string][]TrustConfig{}
	s.publishes = map[string][]publishRecord{}
	s.tokens = map[string]*oidcToken{}
	s.whoami = map[string]string{}
	s.idClaims = map[string]map[string]any{}
	s.stages = map[string]*stagedPublish{}
	s.arrived = make(chan struct{})
	s.stageOTP = loopback.Random(6, loopback.Digits)
}

type publishRecord struct {
	version string
	at      time.Time
}

// Request is one request the front answered.
type Request struct {
	Method string
	// Path is the decoded URL path, e.g. /@scope/name for /@scope%2fname.
	Path string
	// Query is the raw query ("write=true" for npm's uncached reads).
	Query string
	// Package is the package the request is about, "" when none.
	Package string
	// Status is the answer's status code; 0 when a fault reset the
	// connection, or while the request is in flight.
	Status int
	// InFlight is set while the front is still answering.
	InFlight bool
	// Time is when the request arrived.
	Time time.Time
	// Fault is true when an injected fault answered (or delayed) the request.
	Fault bool
	// Injected is true when the fault's answer (a status, a reset) replaced
	// the registry's: the request never reached the registry.
	Injected bool
}

// Requests returns every request the front has received, oldest first
// (those still in flight with InFlight set).
func (r *Registry) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.state.requests...)
}

// Await waits until a request at index from or later in the log (see
// Requests) satisfies match, and returns its index and the request. match
// sees requests as they arrive (InFlight) and again when answered. Tests
// use it to act on an event (a PUT has arrived, the verifier has read the
// packument twice) instead of waiting for a while.
func (r *Registry) Await(ctx context.Context, from int, match func(Request) bool) (int, Request, error) {
	for {
		r.mu.Lock()
		for i := from; i < len(r.state.requests); i++ {
			if match(r.state.requests[i]) {
				req := r.state.requests[i]
				r.mu.Unlock()
				return i, req, nil
			}
		}
		wait := r.state.arrived
		r.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return -1, Request{}, fmt.Errorf("localregistry: no matching request: %w", ctx.Err())
		}
	}
}

// logRequest adds rec to the log and wakes Await; it returns the index.
func (r *Registry) logRequest(rec Request) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state.requests = append(r.state.requests, rec)
	r.wake()
	return len(r.state.requests) - 1
}

// wake tells every Await that the log changed; r.mu must be held.
func (r *Registry) wake() {
	close(r.state.arrived)
	r.state.arrived = make(chan struct{})
}

// PublishCount returns how many publishes of pkg the registry accepted: PUTs
// of the packument carrying a tarball that Verdaccio answered with 2xx, plus
// approved staged publishes. Use it to assert that nothing was published twice.
func (r *Registry) PublishCount(pkg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.state.publishes[pkg])
}

// PublishCounts returns PublishCount for every package published so far.
func (r *Registry) PublishCounts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for pkg, recs := range r.state.publishes {
		out[pkg] = len(recs)
	}
	return out
}

// Fault describes requests to disturb and how. A request matches when its
// method equals Method (any when empty), its decoded path starts with
// PathPrefix (any when empty; a scoped package's path is /@scope/name) and it
// is about Package (any when empty). The next Times matching requests (1 when
// zero) are first delayed by Delay, then either have their connection reset
// (Reset), are answered with Status (plus Retry-After when RetryAfter is set,
// and Body or a JSON error), or, with neither, are served normally.
type Fault struct {
	Method     string
	PathPrefix string
	Package    string
	Times      int
	Status     int
	RetryAfter time.Duration // sent as whole seconds
	Body       string
	Delay      time.Duration
	Reset      bool
	// Location, with Status a 3xx (307 when Status is zero), redirects the
	// request to Location followed by the request's path and query.
	Location string
}

type faultState struct {
	Fault
	left int
}

// Inject adds a fault. Faults apply to every client of URL (npm and Go code)
// and to every endpoint, emulated or proxied; the earliest added matching
// fault with uses left wins.
func (r *Registry) Inject(f Fault) {
	n := f.Times
	if n <= 0 {
		n = 1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state.faults = append(r.state.faults, &faultState{Fault: f, left: n})
}

func (r *Registry) takeFault(req *http.Request, pkg string) *Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.state.faults {
		if f.left <= 0 {
			continue
		}
		if f.Method != "" && !strings.EqualFold(f.Method, req.Method) {
			continue
		}
		if f.PathPrefix != "" && !strings.HasPrefix(req.URL.Path, f.PathPrefix) {
			continue
		}
		if f.Package != "" && f.Package != pkg {
			continue
		}
		f.left--
		out := f.Fault
		return &out
	}
	return nil
}

type hiddenVersion struct {
	pkg, version string
	d            time.Duration // 0: until revealed
	since        time.Time     // zero until published
	revealed     bool
}

// Hide makes packument reads leave out pkg@version, as HideVersion does,
// until the returned reveal is called: a test decides when the registry
// "catches up", after it has seen what it waits for in the request log.
func (r *Registry) Hide(pkg, version string) (reveal func()) {
	h := &hiddenVersion{pkg: pkg, version: version}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state.hidden = append(r.state.hidden, h)
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		h.revealed = true
	}
}

// HideVersion makes packument reads (full and abbreviated, and
// /<pkg>/<version>) leave out pkg@version, with dist-tags that point at it
// moved to the highest remaining version, until d has passed since the
// version was published (since this call when it is already published). It
// emulates a registry CDN serving a stale packument after a publish. Reads
// with ?write=true, which npm's registry serves uncached, are not affected;
// tarball downloads are not affected.
func (r *Registry) HideVersion(pkg, version string, d time.Duration) {
	h := &hiddenVersion{pkg: pkg, version: version, d: d}
	r.mu.Lock()
	for _, p := range r.state.publishes[pkg] {
		if p.version == version {
			h.since = r.now()
		}
	}
	r.mu.Unlock()
	if h.since.IsZero() {
		if versions, err := r.storedVersions(pkg); err == nil {
			if _, ok := versions[version]; ok {
				h.since = r.now()
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state.hidden = append(r.state.hidden, h)
}

// hiddenNow returns the versions of pkg hidden at this moment.
func (r *Registry) hiddenNow(pkg string) map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out map[string]bool
	now := r.now()
	for _, h := range r.state.hidden {
		if h.pkg != pkg || h.revealed || (h.d > 0 && !h.since.IsZero() && now.Sub(h.since) >= h.d) {
			continue
		}
		if out == nil {
			out = map[string]bool{}
		}
		out[h.version] = true
	}
	return out
}

func (r *Registry) recordPublish(pkg string, versions []string) {
	r.record(pkg, versions, false)
}

func (r *Registry) recordStagedPublish(pkg, version string) {
	r.record(pkg, []string{version}, true)
}

func (r *Registry) record(pkg string, versions []string, staged bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	for _, v := range versions {
		r.state.publishes[pkg] = append(r.state.publishes[pkg], publishRecord{version: v, at: now})
		r.state.publishLog = append(r.state.publishLog, Publish{Package: pkg, Version: v, Staged: staged, Time: now})
		for _, h := range r.state.hidden {
			if h.pkg == pkg && h.version == v && h.since.IsZero() {
				h.since = now
			}
		}
	}
}

func (r *Registry) startFront() error {
	ln, url, err := loopback.Listen("localregistry: the emulator front")
	if err != nil {
		return err
	}
	r.URL = url
	if r.cfg.tls {
		cert, caPEM, err := newCertificate()
		if err != nil {
			ln.Close()
			return fmt.Errorf("localregistry: %w", err)
		}
		r.CAFile = filepath.Join(r.dir, "ca.pem")
		if err := os.WriteFile(r.CAFile, caPEM, 0o644); err != nil {
			ln.Close()
			return fmt.Errorf("localregistry: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		r.URL = "https://" + strings.TrimPrefix(r.URL, "http://")
	}
	backend := r.backend
	r.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(backend)
			// Keep the front's Host so Verdaccio writes tarball URLs that
			// point at the front.
			pr.Out.Host = pr.In.Host
			// Let the transport negotiate (and undo) compression, so
			// ModifyResponse sees plain JSON.
			pr.Out.Header.Del("Accept-Encoding")
			if pr.In.TLS != nil {
				pr.Out.Header.Set("X-Forwarded-Proto", "https")
			}
		},
		ModifyResponse: r.modifyResponse,
		// Copy errors are clients going away mid-answer (faults, Stop).
		ErrorLog: log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			writeError(w, http.StatusBadGateway, "localregistry: Verdaccio unreachable: "+err.Error())
		},
	}
	r.front = loopback.Serve(ln, http.HandlerFunc(r.serve))
	return nil
}

// serve is the front's handler: faults first, then the emulated endpoints,
// then Verdaccio.
func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	rec := Request{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Package: packageOf(req.URL.Path), Time: r.now(), InFlight: true}
	idx := r.logRequest(rec)
	sw := &loopback.StatusWriter{ResponseWriter: w}
	defer func() {
		rec.Status, rec.InFlight = sw.Status, false
		r.mu.Lock()
		r.state.requests[idx] = rec
		r.wake()
		r.mu.Unlock()
	}()

	if f := r.takeFault(req, rec.Package); f != nil {
		rec.Fault = true
		if f.Delay > 0 {
			// Read the body first: only then does the server notice a
			// client that goes away while the fault holds its request.
			if req.Body != nil {
				body, err := io.ReadAll(req.Body)
				if err != nil {
					rec.Injected = true
					return
				}
				req.Body = io.NopCloser(bytes.NewReader(body))
			}
			select {
			case <-time.After(f.Delay):
			case <-req.Context().Done():
				rec.Injected = true // the client left while the fault held it
				return
			}
		}
		rec.Injected = f.Reset || f.Status != 0 || f.Location != ""
		switch {
		case f.Location != "":
			status := f.Status
			if status == 0 {
				status = http.StatusTemporaryRedirect
			}
			sw.Header().Set("Location", strings.TrimSuffix(f.Location, "/")+req.URL.RequestURI())
			sw.WriteHeader(status)
			return
		case f.Reset:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					if tc, ok := conn.(*net.TCPConn); ok {
						_ = tc.SetLinger(0) // send RST, not FIN
					}
					_ = conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		case f.Status != 0:
			if f.RetryAfter > 0 {
				sw.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
			}
			if f.Body != "" {
				sw.Header().Set("Content-Type", "application/json")
				sw.WriteHeader(f.Status)
				io.WriteString(sw, f.Body)
			} else {
				writeError(sw, f.Status, fmt.Sprintf("injected fault: %d %s", f.Status, http.StatusText(f.Status)))
			}
			return
		}
	}
	r.route(sw, req, rec.Package)
}

func (r *Registry) route(w *loopback.StatusWriter, req *http.Request, pkg string) {
	path := req.URL.Path
	switch {
	case path == idTokenPath:
		r.serveIDToken(w, req)
		return
	case strings.HasPrefix(path, oidcExchangePrefix):
		r.serveOIDCExchange(w, req, pkg)
		return
	case strings.HasPrefix(path, "/-/package/") && isTrustPath(path, pkg):
		r.serveTrust(w, req, pkg)
		return
	case path == "/-/stage" || strings.HasPrefix(path, "/-/stage/"):
		r.serveStage(w, req, pkg)
		return
	}

	// OIDC-exchanged tokens are the emulator's own: map them to Verdaccio.
	if tok, ok := bearer(req); ok && strings.HasPrefix(tok, "npm_") {
		if !r.authorizeOIDCRequest(w, req, tok, pkg) {
			return
		}
	} else if r.needsOTP(req) && !r.checkOTP(w, req) {
		return
	}

	if req.Method == http.MethodPut && pkg != "" && isPackumentPath(path, pkg) {
		r.proxyPublish(w, req, pkg)
		return
	}
	r.proxy.ServeHTTP(w, req)
}

// proxyPublish forwards a publish and records it when Verdaccio accepts it.
func (r *Registry) proxyPublish(w *loopback.StatusWriter, req *http.Request, pkg string) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "read publish body: "+err.Error())
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	versions := publishedVersions(body)
	r.proxy.ServeHTTP(w, req)
	if w.Status >= 200 && w.Status < 300 && len(versions) > 0 {
		r.recordPublish(pkg, versions)
	}
}

// publishedVersions returns the versions a PUT body publishes: those of its
// "versions" when it carries tarballs in "_attachments" (a deprecate or
// dist-tag rewrite of the packument carries none).
func publishedVersions(body []byte) []string {
	var doc struct {
		Versions    map[string]json.RawMessage `json:"versions"`
		Attachments map[string]json.RawMessage `json:"_attachments"`
	}
	if json.Unmarshal(body, &doc) != nil || len(doc.Attachments) == 0 {
		return nil
	}
	var out []string
	for v := range doc.Versions {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func (r *Registry) modifyResponse(resp *http.Response) error {
	req := resp.Request
	if req.Method != http.MethodGet {
		return nil
	}
	pkg := packageOf(req.URL.Path)
	if pkg == "" || strings.HasPrefix(req.URL.Path, "/-/") {
		return nil
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(req.URL.Path, "/"), pkg)
	if resp.StatusCode == http.StatusNotFound && rest == "" {
		// npm's registry answers a missing package with {"error":"Not found"}.
		return replaceBody(resp, http.StatusNotFound, []byte(`{"error":"Not found"}`))
	}
	if resp.StatusCode != http.StatusOK || req.URL.Query().Get("write") == "true" {
		return nil
	}
	hidden := r.hiddenNow(pkg)
	if len(hidden) == 0 {
		return nil
	}
	switch {
	case rest == "":
		return r.hideInPackument(resp, hidden)
	case strings.HasPrefix(rest, "/") && !strings.Contains(rest[1:], "/") && hidden[rest[1:]]:
		return replaceBody(resp, http.StatusNotFound, []byte(`{"error":"Not found"}`))
	}
	return nil
}

func (r *Registry) hideInPackument(resp *http.Response, hidden map[string]bool) error {
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return replaceBody(resp, resp.StatusCode, data)
	}
	var versions map[string]json.RawMessage
	_ = json.Unmarshal(doc["versions"], &versions)
	for v := range hidden {
		delete(versions, v)
	}
	if len(versions) == 0 {
		return replaceBody(resp, http.StatusNotFound, []byte(`{"error":"Not found"}`))
	}
	doc["versions"], _ = json.Marshal(versions)

	var times map[string]json.RawMessage
	if json.Unmarshal(doc["time"], &times) == nil && times != nil {
		for v := range hidden {
			delete(times, v)
		}
		doc["time"], _ = json.Marshal(times)
	}
	var tags map[string]string
	if json.Unmarshal(doc["dist-tags"], &tags) == nil {
		best := highestVersion(versions)
		for tag, v := range tags {
			if hidden[v] {
				if best == "" {
					delete(tags, tag)
				} else {
					tags[tag] = best
				}
			}
		}
		doc["dist-tags"], _ = json.Marshal(tags)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return replaceBody(resp, http.StatusOK, out)
}

// highestVersion picks the highest release version, else the highest version.
func highestVersion(versions map[string]json.RawMessage) string {
	var rel, any *semver.Version
	for v := range versions {
		sv, err := semver.NewVersion(v)
		if err != nil {
			continue
		}
		if any == nil || sv.GreaterThan(any) {
			any = sv
		}
		if sv.Prerelease() == "" && (rel == nil || sv.GreaterThan(rel)) {
			rel = sv
		}
	}
	switch {
	case rel != nil:
		return rel.Original()
	case any != nil:
		return any.Original()
	}
	return ""
}

func replaceBody(resp *http.Response, status int, body []byte) error {
	if resp.Body != nil {
		resp.Body.Close()
	}
	resp.StatusCode = status
	resp.Status = fmt.Sprintf("%d %s", status, http.StatusText(status))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Del("ETag")
	resp.Header.Del("Content-Encoding")
	return nil
}

// packageOf returns the package a decoded request path is about, "" if none.
func packageOf(path string) string {
	for _, prefix := range []string{"/-/package/", oidcExchangePrefix, "/-/stage/package/"} {
		if strings.HasPrefix(path, prefix) {
			return nameAt(strings.TrimPrefix(path, prefix))
		}
	}
	if strings.HasPrefix(path, "/-/") {
		return ""
	}
	return nameAt(strings.TrimPrefix(path, "/"))
}

// nameAt returns the package name at the start of p: "@scope/name" or "name".
func nameAt(p string) string {
	segs := strings.SplitN(p, "/", 3)
	if segs[0] == "" {
		return ""
	}
	if strings.HasPrefix(segs[0], "@") {
		if len(segs) < 2 || segs[1] == "" {
			return ""
		}
		return segs[0] + "/" + segs[1]
	}
	return segs[0]
}

func isPackumentPath(path, pkg string) bool {
	return path == "/"+pkg
}

func bearer(req *http.Request) (string, bool) {
	h := req.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

// writeError answers with a JSON body carrying the message both as "error"
// (what npm prints) and "message" (what npm's OIDC code logs).
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
