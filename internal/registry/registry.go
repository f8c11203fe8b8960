// Package registry reads package state from an npm registry over HTTP:
// abbreviated packuments, and whether name@version exists with which
// integrity. Only a 404 means "missing"; every other failure is an error that
// says what happened. 429 and 5xx answers are retried, honouring Retry-After.
package registry

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v4"
	"golang.org/x/sync/errgroup"
)

// AbbreviatedAccept asks the registry for the small packument form.
const AbbreviatedAccept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"

// Client reads from npm registries.
type Client struct {
	// HTTP is the client used; nil means a client with sane timeouts.
	HTTP *http.Client
	// AttemptTimeout bounds one HTTP attempt. Zero means 30 s.
	AttemptTimeout time.Duration
	// MaxElapsed bounds all retries of one read. Zero means 2 minutes.
	MaxElapsed time.Duration
	// InitialInterval is the first retry delay. Zero means 250 ms.
	InitialInterval time.Duration
	// Parallel bounds concurrent reads in CheckAll. Zero means 16.
	Parallel int
	// OnRetry, when set, is told about every retry (for progress output).
	OnRetry func(url string, err error, wait time.Duration)

	mu     sync.Mutex
	net    *Network
	client *http.Client
}

// Configure makes the client reach registries as npm does (see Network).
// Until it is called, requests go directly, with the system's certificate
// authorities.
func (c *Client) Configure(n *Network) error {
	hc, err := n.HTTPClient()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.net, c.client = n, hc
	return nil
}

// Network is what Configure was given (nil before).
func (c *Client) Network() *Network {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.net
}

// Packument is the abbreviated package document.
type Packument struct {
	Name     string             `json:"name"`
	DistTags map[string]string  `json:"dist-tags"`
	Versions map[string]Version `json:"versions"`
	Modified string             `json:"modified"`
}

// Version is one published version in a packument.
type Version struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Dist                 Dist              `json:"dist"`
	OS                   []string          `json:"os,omitempty"`
	CPU                  []string          `json:"cpu,omitempty"`
	Libc                 []string          `json:"libc,omitempty"`
	OptionalDependencies map[string]string `json:"optionalDependencies,omitempty"`
	Deprecated           string            `json:"deprecated,omitempty"`
}

// Dist describes a version's tarball.
type Dist struct {
	Integrity    string `json:"integrity"`
	Shasum       string `json:"shasum"`
	Tarball      string `json:"tarball"`
	FileCount    int    `json:"fileCount,omitempty"`
	UnpackedSize int64  `json:"unpackedSize,omitempty"`
}

// NotFoundError reports that the registry answered 404 for a package.
type NotFoundError struct{ Name, URL string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s is not on the registry %s (404)", e.Name, e.URL)
}

// IsNotFound reports whether err says the package does not exist.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// StatusError is an HTTP answer that is neither success nor 404.
type StatusError struct {
	Method, URL string
	Status      int
	Message     string
	RetryAfter  time.Duration
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: registry answered %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Retryable reports whether the status is worth retrying (429, 5xx).
func (e *StatusError) Retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// UnrecoverableError is a failure that asking again cannot mend: the
// connection was refused, the host is unknown, TLS failed, or the registry
// answered a 4xx other than 404 and 429. Waiting for the registry to
// change is pointless after one.
type UnrecoverableError struct{ Err error }

func (e *UnrecoverableError) Error() string { return e.Err.Error() }
func (e *UnrecoverableError) Unwrap() error { return e.Err }

// IsUnrecoverable reports whether err is a failure that asking again
// cannot mend (see UnrecoverableError).
func IsUnrecoverable(err error) bool {
	var ue *UnrecoverableError
	if errors.As(err, &ue) {
		return true
	}
	var se *StatusError
	return errors.As(err, &se) && se.Status >= 400 && se.Status < 500 && se.Status != http.StatusNotFound && se.Status != http.StatusTooManyRequests
}

// HTTPClient is the HTTP client requests go through: HTTP when set, else
// the one Configure made, else a direct one.
func (c *Client) HTTPClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == nil {
		c.client, _ = (*Network)(nil).HTTPClient()
	}
	return c.client
}

// attemptTimeout bounds one attempt: npm's fetch-timeout when it is
// configured, else AttemptTimeout, else 30 s.
func (c *Client) attemptTimeout() time.Duration {
	if n := c.Network(); n != nil && n.Timeout > 0 {
		return n.Timeout
	}
	return cmp.Or(c.AttemptTimeout, 30*time.Second)
}

// PackageURL returns the packument URL of name on registry (scoped names
// escaped as @scope%2fname).
func PackageURL(registry, name string) string {
	return strings.TrimSuffix(registry, "/") + "/" + EscapeName(name)
}

// EscapeName escapes a package name for a registry path.
func EscapeName(name string) string {
	if strings.HasPrefix(name, "@") {
		if i := strings.Index(name, "/"); i > 0 {
			return name[:i] + "%2f" + url.PathEscape(name[i+1:])
		}
	}
	return url.PathEscape(name)
}

// Packument fetches the abbreviated packument of name. fresh asks for an
// uncached answer (?write=true), for decisions such as "is this version
// already published?"; without it the answer is what installers see.
func (c *Client) Packument(ctx context.Context, registry, name string, fresh bool) (*Packument, error) {
	u := PackageURL(registry, name)
	if fresh {
		u += "?write=true"
	}
	body, err := c.Get(ctx, u, AbbreviatedAccept)
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) && se.Status == http.StatusNotFound {
			return nil, &NotFoundError{Name: name, URL: Redact(registry)}
		}
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var p Packument
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("read %s: registry %s sent a malformed packument (%v): %.80q", name, Redact(registry), err, body)
	}
	if p.Name != "" && p.Name != name {
		return nil, fmt.Errorf("read %s: registry %s sent the packument of %q instead", name, Redact(registry), p.Name)
	}
	if p.Versions == nil {
		p.Versions = map[string]Version{}
	}
	return &p, nil
}

// Get fetches url with retries of 429, 5xx and broken connections, under
// ctx and MaxElapsed. A 404 comes back as a *StatusError with Status 404.
func (c *Client) Get(ctx context.Context, u, accept string) ([]byte, error) {
	req := func(ctx context.Context) (*http.Request, error) {
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		r.Header.Set("Accept", accept)
		r.Header.Set("User-Agent", "agent-facets-release")
		return r, nil
	}
	return c.Do(ctx, req)
}

// Do sends the request built by newReq, retrying as Get does, and returns the
// body of a 2xx answer.
func (c *Client) Do(ctx context.Context, newReq func(context.Context) (*http.Request, error)) ([]byte, error) {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = cmp.Or(c.InitialInterval, 250*time.Millisecond)
	b.MaxInterval = 10 * time.Second
	b.MaxElapsedTime = cmp.Or(c.MaxElapsed, 2*time.Minute)
	sched := &hinted{ExponentialBackOff: b}
	sched.deadline, _ = ctx.Deadline()
	var (
		out      []byte
		attempts int
		lastURL  string
		lastErr  error
	)
	op := func() error {
		attempts++
		timeout := c.attemptTimeout()
		actx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		r, err := newReq(actx)
		if err != nil {
			return backoff.Permanent(err)
		}
		lastURL = redactURL(r.URL)
		resp, err := c.HTTPClient().Do(r)
		if err != nil {
			err = c.classifyNetError(ctx, r, err, timeout)
			lastErr = err
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err != nil {
			return fmt.Errorf("%s %s: reading the answer: %w", r.Method, r.URL, err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			out = body
			return nil
		}
		se := &StatusError{Method: r.Method, URL: redactURL(r.URL), Status: resp.StatusCode, Message: errorMessage(body), RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
		if !se.Retryable() {
			return backoff.Permanent(se)
		}
		sched.hint = se.RetryAfter
		lastErr = se
		return se
	}
	notify := func(err error, d time.Duration) {
		if c.OnRetry != nil {
			c.OnRetry(lastURL, err, d)
		}
	}
	err := backoff.RetryNotify(op, backoff.WithContext(sched, ctx), notify)
	if err != nil {
		var perm *backoff.PermanentError
		if errors.As(err, &perm) {
			err = perm.Err
		}
		switch {
		case sched.refused > 0:
			return nil, fmt.Errorf("%w: the registry asks to wait %s before retrying, beyond this run's deadline; run again later", lastErr, sched.refused)
		case ctx.Err() != nil && errors.Is(err, ctx.Err()) && lastErr != nil && !errors.Is(lastErr, ctx.Err()):
			// The deadline ended the retries: say what the registry last
			// answered, not only that time ran out.
			return nil, fmt.Errorf("%w (gave up after %d attempts: %v)", lastErr, attempts, ctx.Err())
		case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
			return nil, fmt.Errorf("%w (gave up after %d attempts: %v)", err, attempts, ctx.Err())
		case attempts > 1:
			return nil, fmt.Errorf("%w (after %d attempts)", err, attempts)
		}
		return nil, err
	}
	return out, nil
}

// hinted keeps the exponential schedule but waits at least as long as the
// registry's Retry-After asks; when that is past the deadline it stops.
type hinted struct {
	*backoff.ExponentialBackOff
	hint     time.Duration // the last answer's Retry-After
	refused  time.Duration // a Retry-After that did not fit the deadline
	deadline time.Time     // the context's deadline, if any
}

func (h *hinted) NextBackOff() time.Duration {
	next := h.ExponentialBackOff.NextBackOff()
	hint := h.hint
	h.hint = 0
	if next == backoff.Stop || hint <= next {
		return next
	}
	if (h.MaxElapsedTime > 0 && h.GetElapsedTime()+hint > h.MaxElapsedTime) ||
		(!h.deadline.IsZero() && time.Until(h.deadline) < hint) {
		h.refused = hint
		return backoff.Stop
	}
	return hint
}

// classifyNetError turns a transport error into a permanent error when a
// retry cannot help (refused connection, bad URL) and a retryable one when it
// may (reset, timeout of one attempt).
func (c *Client) classifyNetError(ctx context.Context, r *http.Request, err error, timeout time.Duration) error {
	where := fmt.Sprintf("%s %s", r.Method, redactURL(r.URL))
	n := c.Network()
	proxy, via, perr := n.proxyFor(r.URL)
	if perr != nil {
		return backoff.Permanent(&UnrecoverableError{fmt.Errorf("%s: %w", where, perr)})
	}
	if via != "" {
		where += " (" + via + ")"
	}
	if ctx.Err() != nil {
		return backoff.Permanent(fmt.Errorf("%s: %w", where, ctx.Err()))
	}
	unrecoverable := func(format string, args ...any) error {
		return backoff.Permanent(&UnrecoverableError{fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...))})
	}
	var re *RedirectError
	if errors.As(err, &re) {
		return backoff.Permanent(&UnrecoverableError{re})
	}
	var oe *net.OpError
	if proxy != nil && errors.As(err, &oe) && oe.Op == "proxyconnect" {
		return unrecoverable("cannot reach the proxy %s: %v; check npm's proxy settings (`npm config get proxy`, https-proxy) and HTTPS_PROXY", redactURL(proxy), oe.Err)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return unrecoverable("cannot reach the registry (connection refused): is it running, and is it the one `npm config get registry` names?")
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return unrecoverable("unknown host %s: check `npm config get registry`", dnsErr.Name)
	}
	if why := tlsFailure(err); why != "" {
		if n != nil && len(n.CA) > 0 {
			why += "; npm's certificate authorities are in effect (" + n.where("cafile", "ca") + ")"
		}
		return unrecoverable("TLS failed: %s (%v)", why, err)
	}
	if n != nil && n.Timeout > 0 && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: no answer within %s (%s): %w", where, timeout, n.where("fetch-timeout"), err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: %w", where, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%s: timed out: %w", where, err)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// tlsFailure says what is wrong when err is a TLS failure ("" otherwise):
// an unknown certificate authority, a certificate for another host, an
// expired one, or a server that does not speak TLS.
func tlsFailure(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknown):
		return "the registry's certificate is signed by an authority this machine does not trust: give npm its CA with cafile= (or ca=) in .npmrc"
	case errors.As(err, &hostname):
		return "the registry's certificate is for another host: check the registry URL"
	case errors.As(err, &invalid):
		return "the registry's certificate is not valid (expired, or not for serving)"
	case errors.As(err, &verify):
		return "the registry's certificate could not be verified"
	case errors.As(err, &record), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "the server does not speak TLS: is the registry URL http:// rather than https://?"
	}
	return ""
}

func errorMessage(body []byte) string {
	var m struct {
		Error   string `json:"error"`
		Message string `json:"message"`
		Reason  string `json:"reason"`
	}
	if json.Unmarshal(body, &m) == nil {
		for _, s := range []string{m.Message, m.Error, m.Reason} {
			if s != "" {
				return s
			}
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := time.Until(t); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}

// Ping checks that the registry answers at all, so that an unreachable
// registry is reported at once and clearly, before any other step. Any HTTP
// answer but 5xx counts as reachable (not every registry implements ping).
func (c *Client) Ping(ctx context.Context, registry string) error {
	_, err := c.Get(ctx, strings.TrimSuffix(registry, "/")+"/-/ping?write=true", "application/json")
	var se *StatusError
	if errors.As(err, &se) && se.Status < 500 && se.Status != http.StatusTooManyRequests {
		return nil
	}
	if err != nil {
		return fmt.Errorf("registry %s is not answering: %w", Redact(registry), err)
	}
	return nil
}

// State is what the registry holds for name@version.
type State int

const (
	// PackageMissing: the registry has no such package (404).
	PackageMissing State = iota
	// VersionMissing: the package exists but not this version.
	VersionMissing
	// Published: the version exists; Integrity says with which bytes.
	Published
)

func (s State) String() string {
	switch s {
	case PackageMissing:
		return "package missing"
	case VersionMissing:
		return "version missing"
	case Published:
		return "published"
	}
	return "unknown"
}

// Spec names a package, and optionally a version, to check.
type Spec struct {
	Name    string
	Version string // empty: only ask whether the package exists
}

func (s Spec) String() string {
	if s.Version == "" {
		return s.Name
	}
	return s.Name + "@" + s.Version
}

// Result is the registry's answer for one Spec.
type Result struct {
	Spec      Spec
	State     State
	Integrity string
	Shasum    string
	// Latest is the version the "latest" dist-tag points at.
	Latest    string
	Packument *Packument
	// Err is set when the state could not be read; State is then meaningless.
	Err error
}

// Check reads the state of one spec.
func (c *Client) Check(ctx context.Context, registry string, s Spec, fresh bool) Result {
	r := Result{Spec: s}
	p, err := c.Packument(ctx, registry, s.Name, fresh)
	if IsNotFound(err) {
		r.State = PackageMissing
		return r
	}
	if err != nil {
		r.Err = err
		return r
	}
	r.Packument = p
	r.Latest = p.DistTags["latest"]
	if s.Version == "" {
		r.State = Published
		return r
	}
	v, ok := p.Versions[s.Version]
	if !ok {
		r.State = VersionMissing
		return r
	}
	r.State, r.Integrity, r.Shasum = Published, v.Dist.Integrity, v.Dist.Shasum
	return r
}

// CheckAll checks specs in parallel (bounded by Parallel), each against the
// registry registryFor returns for its name. Results keep the specs' order.
// Per-spec failures are in Result.Err; the returned error joins them.
func (c *Client) CheckAll(ctx context.Context, registryFor func(name string) string, specs []Spec, fresh bool) ([]Result, error) {
	out := make([]Result, len(specs))
	g, gctx := errgroup.WithContext(ctx)
	limit := c.Parallel
	if limit <= 0 {
		limit = 16
	}
	g.SetLimit(limit)
	for i, s := range specs {
		g.Go(func() error {
			out[i] = c.Check(gctx, registryFor(s.Name), s, fresh)
			return nil
		})
	}
	_ = g.Wait()
	var errs []error
	for _, r := range out {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return out, errors.Join(errs...)
}
