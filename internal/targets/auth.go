package targets

import (
	"fmt"
	"os"

	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/toolkit"
)

// Auth picks how publishes authenticate: "oidc" (trusted publishing),
// "npm" (npm's configured login), or "" for oidc on CircleCI and GitHub
// Actions and npm elsewhere.
func Auth(e *toolkit.Env, mode string) (publish.Auth, error) {
	onCI := os.Getenv("CIRCLECI") == "true" || os.Getenv("GITHUB_ACTIONS") == "true"
	switch {
	case mode == "npm", mode == "" && !onCI:
		return publish.NpmLogin{}, nil
	case mode == "oidc", mode == "":
		return newOIDCAuth(e)
	}
	return nil, fmt.Errorf("unknown -auth=%q: use oidc (trusted publishing from CI) or npm (npm's own login)", mode)
}

func newOIDCAuth(e *toolkit.Env) (publish.Auth, error) {
	return publish.NewOIDC(e), nil
}
