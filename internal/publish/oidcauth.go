package publish

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/agent-facets/release/internal/oidc"
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
	Provider string // oidc.CircleCI or oidc.GitHubActions
	// MinLifetime is how long a token must stay valid for a publish.
	MinLifetime time.Duration

	mu      sync.Mutex
	npmOK   bool
	token   string
	aud     string
	fromEnv bool
}

// NewOIDC returns trusted-publishing credentials for the CI provider of this
// environment (CircleCI unless GitHub Actions is detected).
func NewOIDC(e *toolkit.Env) *OIDC {
	p := oidc.DetectProvider()
	if p == "" {
		p = oidc.CircleCI
	}
	return &OIDC{Env: e, Provider: p}
}

func (a *OIDC) String() string {
	if a.Provider == oidc.GitHubActions {
		return "trusted publishing from GitHub Actions"
	}
	return "trusted publishing from CircleCI"
}

func (a *OIDC) expectation(reg string) oidc.Expectation {
	tp := a.Env.Cfg.TrustedPublisher
	want := oidc.Expectation{Audience: oidc.Audience(reg), MinLifetime: a.MinLifetime}
	if a.Provider == oidc.CircleCI {
		want.CircleCI = &oidc.CircleCIPublisher{OrgID: tp.OrgID, ProjectID: tp.ProjectID, PipelineDefinitionID: tp.PipelineDefinitionID, VCSOrigin: tp.VCSOrigin, ContextIDs: tp.ContextIDs}
	}
	return want
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
		a.fromEnv = os.Getenv("NPM_ID_TOKEN") != ""
		tok, err := oidc.Mint(ctx, reg)
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
