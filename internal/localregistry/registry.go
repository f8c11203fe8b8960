package localregistry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/loopback"
)

// Defaults for New; change them with the options.
const (
	defaultStartTimeout = 30 * time.Second
	defaultOIDCTokenTTL = 15 * time.Minute
	// requestTimeout bounds every call the package makes to Verdaccio.
	requestTimeout = 10 * time.Second
	// oidcPublisher is the Verdaccio user that publishes for exchanged OIDC tokens.
	oidcPublisher = "oidc-publisher"
)

// Option changes how New sets up a Registry.
type Option func(*options)

type options struct {
	parent       string
	startTimeout time.Duration
	oidcTTL      time.Duration
	runner       *command.Runner
	cacheDir     string
	now          func() time.Time
	tls          bool
}

// WithDir puts the registry's private directory (configuration, storage,
// users) in parent instead of the system's temporary directory: inside a
// caller's own work directory, it goes wherever that goes.
func WithDir(parent string) Option {
	return func(c *options) { c.parent = parent }
}

// WithTLS makes the front speak HTTPS with a certificate (for 127.0.0.1 and
// localhost) from a certificate authority of its own, which CAFile holds:
// to try npm's cafile, ca and strict-ssl.
func WithTLS() Option {
	return func(c *options) { c.tls = true }
}

// WithStartTimeout sets how long New waits for Verdaccio to answer /-/ping
// (default 30s).
func WithStartTimeout(d time.Duration) Option {
	return func(c *options) { c.startTimeout = d }
}

// WithOIDCTokenTTL sets the lifetime of the npm tokens the OIDC exchange hands
// out (default 15 minutes); a short one lets a test see an expired token.
func WithOIDCTokenTTL(d time.Duration) Option {
	return func(c *options) { c.oidcTTL = d }
}

// WithRunner sets how node and npm are run (their environment: PATH above
// all). It is required.
func WithRunner(r *command.Runner) Option {
	return func(c *options) { c.runner = r }
}

// WithCacheDir sets where the pinned Verdaccio is installed (default: the
// user's cache directory; see Install).
func WithCacheDir(dir string) Option {
	return func(c *options) { c.cacheDir = dir }
}

// WithClock sets the registry's clock (default time.Now): token expiry,
// version hiding and staged publishes follow it, so a test can move time on
// instead of waiting.
func WithClock(now func() time.Time) Option {
	return func(c *options) { c.now = now }
}

// Registry is a running local registry: Verdaccio plus the emulator front.
// All clients talk to URL.
type Registry struct {
	// URL is the front's address with a trailing slash: http://127.0.0.1:PORT/.
	URL string
	// Issuer signs the OIDC ID tokens this registry's exchange endpoint trusts.
	Issuer *Issuer
	// CAFile is the PEM file of the certificate authority that signed the
	// front's certificate (with WithTLS; empty otherwise).
	CAFile string

	cfg        options
	dir        string // private directory holding config, storage, htpasswd and log
	logPath    string
	backend    *url.URL // Verdaccio, http://127.0.0.1:PORT
	front      *loopback.Server
	proxy      *httputil.ReverseProxy
	client     *http.Client // for calls to Verdaccio
	proc       *command.Service
	stopOnce   sync.Once
	mu         sync.Mutex
	changed    *sync.Cond // broadcast when a request is logged
	state      emulatorState
	publisherM sync.Mutex // serialises creation of the oidc-publisher user
}

// New installs the pinned Verdaccio if needed (see Install), runs it with
// its own private storage, configuration and htpasswd (no uplinks: it never
// proxies to another registry), waits until it answers /-/ping, and starts
// the emulator front in front of it. Both listen on 127.0.0.1. The caller
// must Close it.
func New(opts ...Option) (*Registry, error) {
	cfg := options{startTimeout: defaultStartTimeout, oidcTTL: defaultOIDCTokenTTL, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.runner == nil {
		return nil, errors.New("localregistry: New needs WithRunner: the environment node and npm run with")
	}
	vdir, err := Install(cfg.runner, cfg.cacheDir)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(cfg.parent, "localregistry-")
	if err != nil {
		return nil, fmt.Errorf("localregistry: %w", err)
	}

	// The RSA key takes ~0.1 s to generate: do it while Verdaccio boots.
	issuer := make(chan *Issuer, 1)
	go func() { issuer <- NewIssuer() }()
	r := &Registry{
		cfg:    cfg,
		dir:    dir,
		client: &http.Client{Timeout: requestTimeout},
	}
	r.changed = sync.NewCond(&r.mu)
	r.logPath = filepath.Join(r.dir, "verdaccio.log")
	r.state.init()

	// The port is picked by binding :0 and closing; if another process takes it
	// in between, Verdaccio exits with EADDRINUSE and we try another.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if lastErr = r.startVerdaccio(vdir); lastErr == nil {
			break
		}
		if !strings.Contains(lastErr.Error(), "EADDRINUSE") {
			break
		}
	}
	if lastErr != nil {
		r.Close()
		return nil, lastErr
	}
	r.Issuer = <-issuer
	if err := r.startFront(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Close stops the registry and removes its storage.
func (r *Registry) Close() {
	r.Stop()
	_ = os.RemoveAll(r.dir)
}

func (r *Registry) now() time.Time { return r.cfg.now() }

// Log returns the tail of Verdaccio's log, for a failure report.
func (r *Registry) Log(n int) string {
	data, err := os.ReadFile(r.logPath)
	if err != nil {
		return ""
	}
	return tail(string(data), n)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localregistry: find a free loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

const verdaccioConfig = `# Generated by localregistry: a private registry with no uplinks.
storage: %[1]s/storage
plugins: %[1]s/plugins
auth:
  htpasswd:
    file: %[1]s/htpasswd
    max_users: 10000
    algorithm: sha1
uplinks: {}
packages:
  '@*/*':
    access: $all
    publish: $authenticated
    unpublish: $authenticated
  '**':
    access: $all
    publish: $authenticated
    unpublish: $authenticated
security:
  api:
    jwt:
      sign:
        expiresIn: 7d
middlewares:
  audit:
    enabled: false
web:
  enable: false
max_body_size: 500mb
log: { type: stdout, format: pretty, level: http }
listen: 127.0.0.1:%[2]d
`

func (r *Registry) startVerdaccio(vdir string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	for _, d := range []string{"storage", "plugins"} {
		if err := os.MkdirAll(filepath.Join(r.dir, d), 0o700); err != nil {
			return fmt.Errorf("localregistry: create %s: %w", d, err)
		}
	}
	cfgPath := filepath.Join(r.dir, "config.yaml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, verdaccioConfig, filepath.ToSlash(r.dir), port), 0o600); err != nil {
		return fmt.Errorf("localregistry: write Verdaccio config: %w", err)
	}
	logFile, err := os.Create(r.logPath)
	if err != nil {
		return fmt.Errorf("localregistry: create Verdaccio log: %w", err)
	}
	defer logFile.Close() // the child keeps its own descriptor

	// node runs Verdaccio's own entry point: no shell shim, so that Stop
	// ends the very process on every OS.
	proc, err := r.cfg.runner.Start(command.Cmd{
		Name: "node",
		Args: []string{verdaccioMain(vdir), "--config", cfgPath},
		Dir:  r.dir,
		Env:  []string{"NODE_ENV=production"},
	}, logFile)
	if err != nil {
		return fmt.Errorf("localregistry: start Verdaccio: %w; install Node.js 20 or newer", err)
	}
	r.proc = proc
	r.backend = &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", port)}

	if err := r.waitReady(proc.Done()); err != nil {
		proc.Stop()
		return fmt.Errorf("localregistry: Verdaccio on %s did not come up: %w; log tail:\n%s", r.backend.Host, err, r.Log(3000))
	}
	return nil
}

// waitReady polls /-/ping until Verdaccio answers, it exits, or the start
// timeout passes.
func (r *Registry) waitReady(done <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.startTimeout)
	defer cancel()
	ping := r.backend.String() + "/-/ping"
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ping, nil)
		resp, err := r.client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-done:
			return errors.New("the process exited")
		case <-ctx.Done():
			return fmt.Errorf("no answer to /-/ping within %s (set WithStartTimeout to wait longer)", r.cfg.startTimeout)
		case <-tick.C:
		}
	}
}

// Stop shuts the registry down: afterwards connections to URL are refused.
// Use it to simulate a registry that is down. Close calls it; it may be
// called more than once.
func (r *Registry) Stop() {
	r.stopOnce.Do(func() {
		if r.front != nil {
			r.front.Close()
		}
		if r.proc != nil {
			r.proc.Stop()
		}
	})
}

// host is HOST:PORT of the front.
func (r *Registry) host() string {
	u, _ := url.Parse(r.URL)
	return u.Host
}

// Audience is the `aud` claim npm asks for when it mints an ID token for this
// registry: "npm:" + the hostname of URL, i.e. "npm:127.0.0.1".
func (r *Registry) Audience() string {
	u, _ := url.Parse(r.URL)
	return "npm:" + u.Hostname()
}

// backendDo sends a request straight to Verdaccio, bypassing the front (no
// faults, no hidden versions, not recorded).
func (r *Registry) backendDo(method, path, token string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.backend.String()+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("localregistry: %s %s on Verdaccio: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("localregistry: read %s %s from Verdaccio: %w", method, path, err)
	}
	return resp.StatusCode, data, nil
}

// CreateUser creates a Verdaccio user through the registry's own adduser
// API (PUT /-/user/org.couchdb.user:<name>) and returns its npm token.
// Names must be unique per Registry.
func (r *Registry) CreateUser(name string) (token string, err error) {
	return r.addUser(name, loopback.Random(24, loopback.Alnum))
}

// CreateUserWithPassword is CreateUser with a password of the caller's,
// for clients that log in with it (https://user:password@host/).
func (r *Registry) CreateUserWithPassword(name, password string) (token string, err error) {
	return r.addUser(name, password)
}

func (r *Registry) addUser(name, password string) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"_id":      "org.couchdb.user:" + name,
		"name":     name,
		"password": password,
		"type":     "user",
		"roles":    []string{},
		"date":     time.Now().UTC().Format(time.RFC3339),
	})
	status, data, err := r.backendDo(http.MethodPut, "/-/user/org.couchdb.user:"+url.PathEscape(name), "", body)
	if err != nil {
		return "", err
	}
	var out struct {
		Token string `json:"token"`
		Error string `json:"error"`
	}
	_ = json.Unmarshal(data, &out)
	if status != http.StatusCreated || out.Token == "" {
		return "", fmt.Errorf("localregistry: add user %q: Verdaccio answered %d %s", name, status, out.Error)
	}
	return out.Token, nil
}

// WriteNpmEnv writes a private npm user config for this registry under dir
// (registry=URL, the auth token when token is non-empty,
// fund/audit/update-notifier off), an empty global config and a cache
// directory, and returns KEY=VALUE entries to add to npm's environment.
//
// The entries also blank the CI detection variables (CI, CIRCLECI,
// GITHUB_ACTIONS, GITLAB_CI) and the OIDC inputs npm reads (NPM_ID_TOKEN,
// ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN), so npm never
// attempts trusted publishing unless the caller sets those afterwards.
func (r *Registry) WriteNpmEnv(dir, token string) ([]string, error) {
	var rc strings.Builder
	fmt.Fprintf(&rc, "registry=%s\n", r.URL)
	if token != "" {
		fmt.Fprintf(&rc, "//%s/:_authToken=%s\n", r.host(), token)
	}
	rc.WriteString("fund=false\naudit=false\nupdate-notifier=false\n")
	user := filepath.Join(dir, "npmrc")
	global := filepath.Join(dir, "global-npmrc")
	cache := filepath.Join(dir, "npm-cache")
	if err := os.WriteFile(user, []byte(rc.String()), 0o600); err != nil {
		return nil, fmt.Errorf("localregistry: write npm user config: %v", err)
	}
	if err := os.WriteFile(global, nil, 0o600); err != nil {
		return nil, fmt.Errorf("localregistry: write npm global config: %v", err)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("localregistry: create npm cache: %v", err)
	}
	env := []string{
		"NPM_CONFIG_USERCONFIG=" + user,
		"NPM_CONFIG_GLOBALCONFIG=" + global,
		"NPM_CONFIG_CACHE=" + cache,
		"NPM_CONFIG_REGISTRY=" + r.URL,
		// npm reads npm_config_* case-insensitively; pin the lower-case
		// spellings too so a developer's environment cannot override them.
		"npm_config_userconfig=" + user,
		"npm_config_globalconfig=" + global,
		"npm_config_cache=" + cache,
		"npm_config_registry=" + r.URL,
	}
	for _, k := range []string{"CI", "CIRCLECI", "GITHUB_ACTIONS", "GITLAB_CI",
		"NPM_ID_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"} {
		env = append(env, k+"=")
	}
	return env, nil
}

// HasVersion reports whether pkg@version is stored in Verdaccio, reading it
// directly (no faults, no hidden versions). Use it to assert that a publish
// did or did not happen.
func (r *Registry) HasVersion(pkg, version string) (bool, error) {
	versions, err := r.storedVersions(pkg)
	if err != nil {
		return false, err
	}
	_, ok := versions[version]
	return ok, nil
}

// storedVersions returns the versions Verdaccio holds for pkg (nil when the
// package does not exist).
func (r *Registry) storedVersions(pkg string) (map[string]json.RawMessage, error) {
	status, data, err := r.backendDo(http.MethodGet, "/"+escapeName(pkg), "", nil)
	if err != nil {
		return nil, err
	}
	switch status {
	case http.StatusOK:
		var doc struct {
			Versions map[string]json.RawMessage `json:"versions"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("localregistry: decode packument of %s: %w", pkg, err)
		}
		if doc.Versions == nil {
			doc.Versions = map[string]json.RawMessage{}
		}
		return doc.Versions, nil
	case http.StatusNotFound:
		return nil, nil
	default:
		return nil, fmt.Errorf("localregistry: read packument of %s: Verdaccio answered %d", pkg, status)
	}
}

// escapeName escapes a package name for a registry path: @scope/name becomes
// @scope%2fname, as npm-package-arg does.
func escapeName(pkg string) string {
	if strings.HasPrefix(pkg, "@") {
		return strings.Replace(pkg, "/", "%2f", 1)
	}
	return pkg
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
