// Package localregistrytest starts the toolkit's local registry for tests:
// one per test, stopped and removed in t.Cleanup, with helpers that fail the
// test instead of returning errors.
//
//	reg := localregistrytest.Start(t)
//	token := reg.AddUser(t, "alice")
//	env := reg.NpmEnv(t, token) // add to npm's environment
package localregistrytest

import (
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/command"

	"github.com/golang-jwt/jwt/v5"

	"github.com/agent-facets/release/internal/localregistry"
)

// Registry is a local registry owned by one test.
type Registry struct {
	*localregistry.Registry
}

// Start runs a local registry for the test, stopped and removed when the
// test ends; a failed test logs the tail of Verdaccio's log. node and npm
// run with the test process's environment unless opts say otherwise.
func Start(t testing.TB, opts ...localregistry.Option) *Registry {
	t.Helper()
	opts = append([]localregistry.Option{localregistry.WithRunner(&command.Runner{Environ: os.Environ()})}, opts...)
	r, err := localregistry.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("localregistry: Verdaccio log:\n%s", r.Log(4000))
		}
		r.Close()
	})
	return &Registry{r}
}

// AddUser creates a user and returns its npm token.
func (r *Registry) AddUser(t testing.TB, name string) string {
	t.Helper()
	token, err := r.CreateUser(name)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// NpmEnv writes a private npm configuration for the registry (with the
// token's login when token is not empty) under t.TempDir() and returns the
// environment entries that make npm use it.
func (r *Registry) NpmEnv(t testing.TB, token string) []string {
	t.Helper()
	env, err := r.WriteNpmEnv(t.TempDir(), token)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// HasVersion reports whether pkg@version is stored, bypassing faults and
// hidden versions.
func (r *Registry) HasVersion(t testing.TB, pkg, version string) bool {
	t.Helper()
	ok, err := r.Registry.HasVersion(pkg, version)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// InstallFakeCircleCI writes the stand-in circleci CLI, minting tokens with
// claims, into a new directory and returns it (to put first on PATH).
func (r *Registry) InstallFakeCircleCI(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	dir := t.TempDir()
	if err := r.WriteFakeCircleCI(dir, claims); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Clock runs with real time, moved on by hand (see localregistry.WithClock):
// a test advances it instead of waiting.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// NewClock returns a Clock that tells the real time until advanced.
func NewClock() *Clock { return &Clock{} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// Mark returns the length of the request log: pass it to Writes to see
// what came after.
func (r *Registry) Mark() int { return len(r.Requests()) }

// Writes returns every request from index since on that could change the
// registry ("PUT /@scope/name"): PUT, PATCH and DELETE, and POST but for the
// OIDC token exchange and the stand-in CI token service (which hand out
// tokens and change nothing), unless an injected fault answered it instead
// of the registry.
func (r *Registry) Writes(since int) []string {
	var w []string
	reqs := r.Requests()
	if since > len(reqs) {
		since = len(reqs)
	}
	for _, q := range reqs[since:] {
		if q.Injected {
			continue
		}
		switch q.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			continue
		case http.MethodPost:
			if strings.HasPrefix(q.Path, "/-/npm/v1/oidc/token/exchange/") || strings.HasPrefix(q.Path, "/-/localregistry/") {
				continue
			}
		}
		w = append(w, q.Method+" "+q.Path)
	}
	return w
}

// NoWrites fails the test when anything after since could have changed the
// registry (see Writes).
func (r *Registry) NoWrites(t testing.TB, since int) {
	t.Helper()
	if w := r.Writes(since); len(w) > 0 {
		t.Errorf("the registry was written to: %v", w)
	}
}
