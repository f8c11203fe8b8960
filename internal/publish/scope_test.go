package publish_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/seed"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/internal/trust"
)

// TestScopeRegistryWithCredentials: the scope's registry, in an .npmrc as
// @agent-facets:registry=http://user:password@host/, is invisible to `npm
// config list --json`; the toolkit used to check, preflight and verify the
// default registry while npm published to the scope's, sending it a token
// minted for the other host. Now the toolkit reads the registry as npm
// does: it checks, mints for and publishes to the scope's registry alone,
// never prints its credentials, and refuses a package whose publishConfig
// would send npm elsewhere.
func TestScopeRegistryWithCredentials(t *testing.T) {
	t.Parallel()
	def := localregistrytest.Start(t)   // the default registry
	scope := localregistrytest.Start(t) // the scope's, reached as localhost with credentials
	const user, password = "ci-reader", "s3cret-in-the-url"
	if _, err := scope.CreateUserWithPassword(user, password); err != nil {
		t.Fatal(err)
	}
	port := strings.TrimSuffix(strings.TrimPrefix(scope.URL, "http://127.0.0.1:"), "/")
	scopeURL := "http://" + user + ":" + password + "@localhost:" + port + "/"

	// A maintainer seeds the packages on the scope's registry and attaches
	// the trusted publisher there.
	maintainerToken := scope.AddUser(t, "maintainer")
	// The CI job has no Bun on PATH: the demo libraries build with npm.
	cfg := toolkittest.DemoConfig(t, func(c *config.Config) { c.Adapters.Build = []string{"npm", "run", "build"} })
	m, mOut := toolkittest.Env(t, cfg, scope.NpmEnv(t, maintainerToken)...)
	pkgs := append(m.CLIPackages(), "@agent-facets/adapter", "@agent-facets/adapter-claude", "@agent-facets/adapter-openai")
	if _, err := seed.Seed(ctx(t), m, pkgs, seed.Options{}); err != nil {
		t.Fatalf("seed: %v\n%s", err, mOut)
	}
	if _, err := (&trust.Attacher{Env: m, Pacing: time.Millisecond}).Attach(ctx(t), []string{"@agent-facets/cli-linux-x64", "@agent-facets/adapter"}); err != nil {
		t.Fatalf("%v\n%s", err, mOut)
	}
	toolkittest.BuildDemo(t, cfg, ver, buildAll)

	// The CI job: the default registry is the other one; the scope's
	// registry URL carries credentials.
	ciEnv := def.NpmEnv(t, "")
	rc := envValue(ciEnv, "NPM_CONFIG_USERCONFIG")
	appendFile(t, rc, "@agent-facets:registry="+scopeURL+"\n")
	e, out := circleCIJob(t, def, cfg, scope.InstallFakeCircleCI(t, goodClaims(cfg.TrustedPublisher)), ciEnv...)
	defMark, scopeMark := def.Mark(), scope.Mark()
	o := fastOpts()
	o.Auth = publish.NewOIDC(e)
	rec, err := publish.Platform(ctx(t), e, "linux-x64", ver, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !scope.HasVersion(t, "@agent-facets/cli-linux-x64", ver) {
		t.Fatal("not on the scope's registry")
	}
	if n := len(def.Requests()) - defMark; n != 0 {
		t.Errorf("the default registry, which npm does not use for the scope, got %d requests: %v", n, def.Requests()[defMark:])
	}
	var exchanges int
	for _, r := range scope.Requests()[scopeMark:] {
		if strings.Contains(r.Path, "/oidc/token/exchange/") {
			exchanges++
			if r.Status != http.StatusCreated {
				t.Errorf("an exchange on the scope's registry answered %d: the token was minted for another host", r.Status)
			}
		}
	}
	if exchanges != 2 { // the toolkit's preflight and npm's own
		t.Errorf("%d exchanges on the scope's registry, want 2", exchanges)
	}
	if u, _ := url.Parse(rec.Registry); u == nil || u.Hostname() != "localhost" {
		t.Errorf("recorded registry %q", rec.Registry)
	}

	// An adapter whose publishConfig points npm at the default registry:
	// refused before any write on either.
	pj := filepath.Join(cfg.Adapters.Workspace, "packages", "adapter", "package.json")
	var manifest map[string]any
	data, _ := os.ReadFile(pj)
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatal(err)
	}
	manifest["publishConfig"].(map[string]any)["@agent-facets:registry"] = def.URL
	data, _ = json.MarshalIndent(manifest, "", "  ")
	if err := os.WriteFile(pj, data, 0o644); err != nil {
		t.Fatal(err)
	}
	defMark, scopeMark = def.Mark(), scope.Mark()
	again, againOut := toolkittest.Again(t, e)
	o.Auth = publish.NewOIDC(again)
	_, adErr := publish.Adapters(ctx(t), again, o)
	if adErr == nil || !strings.Contains(adErr.Error(), "npm would publish it to "+def.URL) || !strings.Contains(adErr.Error(), "publishConfig") {
		t.Fatalf("err = %v\n%s", adErr, againOut)
	}
	def.NoWrites(t, defMark)
	scope.NoWrites(t, scopeMark)
	if scope.HasVersion(t, "@agent-facets/adapter", "1.2.0") || def.HasVersion(t, "@agent-facets/adapter", "1.2.0") {
		t.Error("the adapter was published")
	}

	for _, s := range []string{out.String(), againOut.String(), adErr.Error(), rec.Registry, rec.Error} {
		if strings.Contains(s, password) || strings.Contains(s, user+":") {
			t.Errorf("the registry's credentials were printed: %s", s)
		}
	}
	toolkittest.NoLeaks(t, []string{maintainerToken, password}, []string{out.String(), againOut.String(), adErr.Error()}, cfg.Path(cfg.Dist.Dir))
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
