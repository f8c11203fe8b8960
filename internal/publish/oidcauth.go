package publish

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/agent-facets/release/internal/oidc"
	"github.com/agent-facets/release/internal/publisher"
	"github.com/agent-facets/release/internal/secret"
	"github.com/agent-facets/release/internal/toolkit"
)

// OIDC publishes with npm trusted publishing. It mints an identity token
// only when a write is needed (an already-published version needs none),
// checks its claims against the configured trusted publisher, tries the
// registry's token exchange for the package so that a refusal comes with the
// registry's own message, and hands the token to npm only through
// NPM_ID_TOKEN in npm's environment.
type OIDC struct {
	Env      *toolkit.Env
	Provider publisher.Provider
	// MinLifetime is how long a token must stay valid for a publish.
	MinLifetime time.Duration
	// Ref, when set, is the git ref a GitHub Actions token must be for:
	// the release tag that started the run.
	Ref string

	mu      sync.Mutex
	npmOK   bool
	token   string
	aud     string
	fromEnv bool
}

// NewOIDC returns trusted-publishing credentials for the CI this runs on
// (the configured trusted publisher's provider when none is detected).
func NewOIDC(e *toolkit.Env) *OIDC {
	p := e.Facts.CI
	if p == "" {
		p = e.Cfg.TrustedPublisher.Provider
	}
	o := &OIDC{Env: e, Provider: p}
	if e.Facts.Tag != "" {
		o.Ref = "refs/tags/" + e.Facts.Tag
	}
	return o
}

func (a *OIDC) String() string { return "trusted publishing from " + a.Provider.Name() }

func (a *OIDC) expectation(reg string) oidc.Expectation {
	want := oidc.Expectation{Audience: oidc.Audience(reg), MinLifetime: a.MinLifetime, Ref: a.Ref, HTTP: a.Env.Reg.HTTPClient()}
	if tp := a.Env.Cfg.TrustedPublisher; tp.Provider == a.Provider {
		want.Publisher = &tp
	}
	return want
}

func (a *OIDC) source() oidc.Source {
	f := a.Env.Facts
	return oidc.Source{CI: a.Provider, IDToken: f.IDToken, GitHubTokenURL: f.GitHubTokenURL, GitHubTokenRequest: f.GitHubTokenRequest, Run: a.Env.Run, HTTP: a.Env.Reg.HTTPClient()}
}

// Prepare implements Auth: npm version, token, claims, exchange.
func (a *OIDC) Prepare(ctx context.Context, pkg, reg string) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.npmOK {
		v, err := a.Env.NPM.Version(ctx)
		if err != nil {
			return nil, err
		}
		if err := oidc.CheckNPMVersion(v, a.Provider); err != nil {
			return nil, err
		}
		a.npmOK = true
	}
	want := a.expectation(reg)
	// Reuse a minted token for the same registry while it lives long enough.
	if a.token == "" || a.aud != want.Audience || (!a.fromEnv && oidc.Check(a.token, want, time.Now()) != nil) {
		a.fromEnv = a.Env.Facts.IDToken != ""
		tok, err := oidc.Mint(ctx, a.source(), reg)
		if err != nil {
			return nil, err
		}
		secret.Register(tok)
		a.token, a.aud = tok, want.Audience
	}
	if err := oidc.Preflight(ctx, reg, pkg, a.token, want); err != nil {
		return nil, fmt.Errorf("%s not published: %w", pkg, err)
	}
	return oidc.PublishEnv(a.token, a.Provider), nil
}

// ChooseAuth picks how publishes authenticate from the -auth flag: "oidc"
// (trusted publishing), "npm" (npm's configured login), or "" for trusted
// publishing on CircleCI and GitHub Actions and npm's login elsewhere.
func ChooseAuth(e *toolkit.Env, mode string) (Auth, error) {
	onCI := e.Facts.CI == publisher.CircleCI || e.Facts.CI == publisher.GitHub
	switch {
	case mode == "npm", mode == "" && !onCI:
		return NpmLogin{}, nil
	case mode == "oidc", mode == "":
		return NewOIDC(e), nil
	}
	return nil, fmt.Errorf("unknown -auth=%q: use oidc (trusted publishing from CI) or npm (npm's own login)", mode)
}
