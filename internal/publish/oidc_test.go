package publish_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/publisher"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/internal/trust"
)

// oidcRelease is a seeded release whose packages trust the configured
// CircleCI identity, and the Env of a CircleCI job publishing it: npm
// without any credentials and a stand-in circleci on PATH minting tokens
// with claims.
func oidcRelease(t *testing.T, claims func(tp publisher.Identity) jwt.MapClaims) (*localregistrytest.Registry, *toolkit.Env, *toolkittest.Buffer) {
	t.Helper()
	reg, e, out := release(t, nil)
	if _, err := (&trust.Attacher{Env: e, Pacing: time.Millisecond}).Attach(ctx(t), e.CLIPackages()[:3]); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ci, ciOut := circleCIJob(t, reg, e.Cfg, reg.InstallFakeCircleCI(t, claims(e.Cfg.TrustedPublisher)))
	return reg, ci, ciOut
}

// circleCIJob is the Env of a CircleCI job on cfg: npm with no login at
// all, bin (a stand-in circleci) first on PATH, and env.
func circleCIJob(t *testing.T, reg *localregistrytest.Registry, cfg *config.Config, bin string, env ...string) (*toolkit.Env, *toolkittest.Buffer) {
	t.Helper()
	job := append(reg.NpmEnv(t, ""), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "CIRCLECI=true", "CI=true")
	return toolkittest.Env(t, cfg, append(job, env...)...)
}

func goodClaims(tp publisher.Identity) jwt.MapClaims {
	return localregistry.CircleCIClaims(tp.OrgID, tp.ProjectID, tp.PipelineDefinitionID, tp.VCSOrigin, tp.ContextIDs, time.Hour)
}

var leaks = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ|npm_[A-Za-z0-9]{36}`)

func assertNoSecrets(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if m := leaks.FindString(s); m != "" {
			t.Errorf("a token reached the output: %.20s…", m)
		}
	}
}

func writes(reg *localregistrytest.Registry, since int) []string {
	var w []string
	for _, r := range reg.Requests()[since:] {
		if r.Method == http.MethodPut || r.Method == http.MethodDelete {
			w = append(w, r.Method+" "+r.Path)
		}
	}
	return w
}

func TestOIDCPublishWithRealNpm(t *testing.T) {
	t.Parallel()
	reg, e, out := oidcRelease(t, goodClaims)
	o := fastOpts()
	o.Auth = publish.NewOIDC(e)
	rec, err := publish.Platform(ctx(t), e, "linux-arm64", ver, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rec.Action != outcome.Published || !reg.HasVersion(t, "@agent-facets/cli-linux-arm64", ver) {
		t.Fatalf("not published: %+v", rec)
	}
	if !strings.Contains(out.String(), "(trusted publishing from CircleCI)") {
		t.Errorf("output does not say how it authenticated:\n%s", out)
	}
	exchanges := 0
	for _, r := range reg.Requests() {
		if strings.Contains(r.Path, "/-/npm/v1/oidc/token/exchange/") && r.Status == http.StatusCreated {
			exchanges++
		}
	}
	if exchanges != 2 { // the preflight's and npm's own
		t.Errorf("%d successful exchanges, want 2", exchanges)
	}
	// A no-op re-run mints nothing: no circleci needed at all.
	var path []string
	for _, tool := range []string{"npm", "node"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		path = append(path, filepath.Dir(p))
	}
	bare, bareOut := toolkittest.Env(t, e.Cfg, append(e.Facts.Environ, "PATH="+strings.Join(path, string(os.PathListSeparator)))...)
	if p, err := bare.Run.LookPath("circleci"); err == nil {
		t.Skipf("a circleci is installed next to npm (%s): cannot run without one", p)
	}
	o.Auth = publish.NewOIDC(bare)
	rec, err = publish.Platform(ctx(t), bare, "linux-arm64", ver, o)
	if err != nil || rec.Action != outcome.Identical {
		t.Fatalf("re-run without circleci: %+v %v", rec, err)
	}
	assertNoSecrets(t, out.String(), bareOut.String(), rec.Error)
}

func TestOIDCFailuresBeforeAnyWrite(t *testing.T) {
	t.Parallel()
	other := "00000000-0000-4000-8000-000000000000"
	cases := []struct {
		name   string
		claims func(tp publisher.Identity) jwt.MapClaims
		target string
		env    func(reg *localregistrytest.Registry, tp publisher.Identity) string // NPM_ID_TOKEN
		prefix string                                                              // another platform prefix: packages never seeded
		want   []string
	}{
		{name: "expired token", target: "linux-arm64",
			claims: func(tp publisher.Identity) jwt.MapClaims {
				c := goodClaims(tp)
				c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
				c["exp"] = time.Now().Add(-time.Hour).Unix()
				return c
			},
			want: []string{"expired"}},
		{name: "wrong audience", target: "linux-arm64", claims: goodClaims,
			env: func(reg *localregistrytest.Registry, tp publisher.Identity) string {
				c := goodClaims(tp)
				c["aud"] = "npm:elsewhere.example"
				return reg.Issuer.Mint(c)
			},
			want: []string{"npm:elsewhere.example", "npm:127.0.0.1"}},
		{name: "claims differ from the configuration", target: "linux-arm64",
			claims: func(tp publisher.Identity) jwt.MapClaims {
				c := goodClaims(tp)
				c["oidc.circleci.com/project-id"] = other
				return c
			},
			want: []string{`oidc.circleci.com/project-id is "` + other + `"`, "release.json"}},
		{name: "package without a trusted publisher", target: "darwin-arm64", claims: goodClaims,
			want: []string{"@agent-facets/cli-darwin-arm64", "403", "mage trust:check"}},
		{name: "package never seeded", target: "linux-arm64", claims: goodClaims, prefix: "unseeded-",
			want: []string{"@agent-facets/unseeded-linux-arm64 does not exist on the registry, and trusted publishing cannot create a package: seed it first"}},
	}
	// One release serves every case: none of them may write.
	reg, e, _ := oidcRelease(t, goodClaims)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var extra []string
			if tc.env != nil {
				extra = append(extra, "NPM_ID_TOKEN="+tc.env(reg, e.Cfg.TrustedPublisher))
			}
			cfg := e.Cfg
			if tc.prefix != "" {
				c := *e.Cfg
				c.CLI.PlatformPrefix = tc.prefix
				cfg = &c
			}
			env, out := circleCIJob(t, reg, cfg, reg.InstallFakeCircleCI(t, tc.claims(e.Cfg.TrustedPublisher)), extra...)
			before := len(reg.Requests())
			o := fastOpts()
			o.Auth = publish.NewOIDC(env)
			_, err := publish.Platform(ctx(t), env, tc.target, ver, o)
			if err == nil {
				t.Fatalf("published anyway\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if w := writes(reg, before); len(w) > 0 {
				t.Errorf("writes happened: %v", w)
			}
			assertNoSecrets(t, out.String(), err.Error())
		})
	}
}

func TestOIDCNpmTooOld(t *testing.T) {
	t.Parallel()
	reg, e, out := oidcRelease(t, goodClaims)
	dir := t.TempDir()
	fake := "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 10.9.0; exit 0; fi\nexec npm \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "npm-old"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	e.NPM.Bin = filepath.Join(dir, "npm-old")
	before := len(reg.Requests())
	o := fastOpts()
	o.Auth = publish.NewOIDC(e)
	_, err := publish.Platform(ctx(t), e, "linux-arm64", ver, o)
	if err == nil || !strings.Contains(err.Error(), "npm 10.9.0 is installed but trusted publishing from CircleCI needs npm 11.11.0 or newer") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if w := writes(reg, before); len(w) > 0 {
		t.Errorf("writes happened: %v", w)
	}
}
