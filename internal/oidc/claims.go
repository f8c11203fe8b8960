package oidc

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/publisher"

	"github.com/golang-jwt/jwt/v5"
)

// CircleCI claim names npm matches against a trusted publisher.
const (
	ClaimOrgID                = "oidc.circleci.com/org-id"
	ClaimProjectID            = "oidc.circleci.com/project-id"
	ClaimPipelineDefinitionID = "oidc.circleci.com/pipeline-definition-id"
	ClaimVCSOrigin            = "oidc.circleci.com/vcs-origin"
	ClaimContextIDs           = "oidc.circleci.com/context-ids"
	ClaimVCSRef               = "oidc.circleci.com/vcs-ref"

	// CircleCIIssuerPrefix + org ID is the iss of a CircleCI ID token.
	CircleCIIssuerPrefix = "https://oidc.circleci.com/org/"
	// GitHubIssuer is the iss of a GitHub Actions ID token.
	GitHubIssuer = "https://token.actions.githubusercontent.com"
)

// DefaultMinLifetime is how long a token must still be valid for a publish
// when Expectation.MinLifetime is zero.
const DefaultMinLifetime = 2 * time.Minute

// clockSkew is how far in the future iat and nbf may be: the issuer's clock
// and this machine's are not the same clock.
const clockSkew = 30 * time.Second

// Claims are the claims of an ID token that trusted publishing looks at.
type Claims struct {
	jwt.RegisteredClaims

	// CircleCI.
	OrgID                string   `json:"oidc.circleci.com/org-id,omitempty"`
	ProjectID            string   `json:"oidc.circleci.com/project-id,omitempty"`
	PipelineDefinitionID string   `json:"oidc.circleci.com/pipeline-definition-id,omitempty"`
	VCSOrigin            string   `json:"oidc.circleci.com/vcs-origin,omitempty"`
	ContextIDs           []string `json:"oidc.circleci.com/context-ids,omitempty"`
	VCSRef               string   `json:"oidc.circleci.com/vcs-ref,omitempty"`

	// GitHub Actions.
	Repository  string `json:"repository,omitempty"`
	WorkflowRef string `json:"workflow_ref,omitempty"`
	Environment string `json:"environment,omitempty"`
	// Ref is the git ref the GitHub Actions run is for ("refs/tags/...").
	Ref string `json:"ref,omitempty"`
}

// IsCircleCI reports whether the token was issued by CircleCI.
func (c *Claims) IsCircleCI() bool { return strings.HasPrefix(c.Issuer, CircleCIIssuerPrefix) }

// IsGitHub reports whether the token was issued by GitHub Actions.
func (c *Claims) IsGitHub() bool { return c.Issuer == GitHubIssuer }

// Identity describes the claims a trusted publisher is matched against, for
// error messages. None of them is secret.
func (c *Claims) Identity() string {
	switch {
	case c.IsGitHub():
		s := fmt.Sprintf("repository=%q workflow_ref=%q ref=%q", c.Repository, c.WorkflowRef, c.Ref)
		if c.Environment != "" {
			s += fmt.Sprintf(" environment=%q", c.Environment)
		}
		return "GitHub Actions token: " + s
	case c.IsCircleCI():
		return fmt.Sprintf("CircleCI token: %s=%q %s=%q %s=%q %s=%q %s=%s", ClaimOrgID, c.OrgID, ClaimProjectID, c.ProjectID,
			ClaimPipelineDefinitionID, c.PipelineDefinitionID, ClaimVCSOrigin, c.VCSOrigin, ClaimContextIDs, quoteList(c.ContextIDs))
	}
	return fmt.Sprintf("token from issuer %q, subject %q", c.Issuer, c.Subject)
}

// Decode reads the claims of token without verifying its signature: the
// issuer's keys are the registry's business; this is for early, clear
// errors. The error never contains the token.
func Decode(token string) (*Claims, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, errors.New("the OIDC token is empty: mint one (Mint) or set NPM_ID_TOKEN")
	}
	c := &Claims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, c); err != nil {
		return nil, fmt.Errorf("the OIDC token (%d bytes) is not a JWT (%s); it must be the ID token printed by `circleci run oidc get` or given by the CI, not an npm token", len(token), jwtProblem(err))
	}
	return c, nil
}

// jwtProblem describes a parse error without quoting the input.
func jwtProblem(err error) string {
	switch {
	case strings.Contains(err.Error(), "token contains an invalid number of segments"):
		return "want three base64url parts separated by dots"
	case strings.Contains(err.Error(), "could not base64 decode"):
		return "a part is not base64url"
	case strings.Contains(err.Error(), "could not JSON decode"):
		return "a part is not JSON"
	}
	return "malformed"
}

func looksLikeJWT(s string) bool {
	_, err := Decode(s)
	return err == nil
}

// Expectation is what a token must satisfy to publish.
type Expectation struct {
	// Audience is the aud the registry wants (see Audience); empty skips
	// the check.
	Audience string
	// MinLifetime is how long the token must remain valid; zero means
	// DefaultMinLifetime, negative means only "not expired".
	MinLifetime time.Duration
	// Publisher, when set, is the trusted publisher the claims must match.
	// A CircleCI job may run with more contexts than it lists.
	Publisher *publisher.Identity
	// Ref, when set, is the git ref a GitHub Actions token's ref claim must
	// be: the release tag's ("refs/tags/agent-facets@1.2.3").
	Ref string
	// HTTP is how Preflight's token exchange reaches the registry (npm's
	// proxies and certificate authorities); nil means directly.
	HTTP *http.Client
}

// ClaimError is one claim that does not satisfy the expectation.
type ClaimError struct {
	Claim string
	Got   string
	Want  string
	// Fix says what to do.
	Fix string
}

func (e *ClaimError) Error() string {
	return fmt.Sprintf("OIDC token claim %s is %s but the trusted publisher configured in release.json expects %s; %s", e.Claim, e.Got, e.Want, e.Fix)
}

// Check decodes token and checks it against want at time now: well formed,
// valid from now for at least the minimum lifetime, for the right audience,
// and from the configured trusted publisher. Every problem found is
// reported, joined; each names the claim, what it is and what is expected.
// The token itself never appears in the error.
func Check(token string, want Expectation, now time.Time) error {
	c, err := Decode(token)
	if err != nil {
		return err
	}
	return c.Check(want, now)
}

// Check is Check on decoded claims.
func (c *Claims) Check(want Expectation, now time.Time) error {
	var errs []error
	errs = append(errs, c.checkTime(want.MinLifetime, now)...)
	if want.Audience != "" {
		if !slices.Contains(c.Audience, want.Audience) {
			errs = append(errs, fmt.Errorf("OIDC token audience (aud) is %s but the registry npm publishes to needs %q (the registry is taken from npm's configuration: `npm config get registry`); mint the token for that audience (circleci run oidc get --claims '{\"aud\":\"%s\"}')",
				quoteList(c.Audience), want.Audience, want.Audience))
		}
	}
	if p := want.Publisher; p != nil {
		switch p.Provider {
		case publisher.CircleCI:
			errs = append(errs, c.checkCircleCI(p)...)
		case publisher.GitHub:
			errs = append(errs, c.checkGitHub(p)...)
			if want.Ref != "" && c.IsGitHub() && c.Ref != want.Ref {
				errs = append(errs, &ClaimError{Claim: "ref", Got: fmt.Sprintf("%q", c.Ref), Want: fmt.Sprintf("%q (the release tag)", want.Ref),
					Fix: "publish from the run the release tag started (on: push: tags), not from another branch or tag"})
			}
		}
	}
	return errors.Join(errs...)
}

func (c *Claims) checkTime(margin time.Duration, now time.Time) []error {
	if margin == 0 {
		margin = DefaultMinLifetime
	}
	var errs []error
	switch {
	case c.ExpiresAt == nil:
		errs = append(errs, errors.New("OIDC token has no expiry (exp claim); the registry refuses such tokens: mint one with the CI's own tool"))
	case !now.Before(c.ExpiresAt.Time):
		errs = append(errs, fmt.Errorf("OIDC token expired at %s (%s ago); mint a fresh one in the job that publishes (CircleCI tokens live one hour)",
			c.ExpiresAt.UTC().Format(time.RFC3339), now.Sub(c.ExpiresAt.Time).Round(time.Second)))
	case margin > 0 && c.ExpiresAt.Sub(now) < margin:
		errs = append(errs, fmt.Errorf("OIDC token expires in %s, less than the %s a publish needs; mint a fresh one",
			c.ExpiresAt.Sub(now).Round(time.Second), margin))
	}
	if c.NotBefore != nil && c.NotBefore.Sub(now) > clockSkew {
		errs = append(errs, fmt.Errorf("OIDC token is not valid before %s (%s from now); check the clock of this machine (and mint the token right before publishing)",
			c.NotBefore.UTC().Format(time.RFC3339), c.NotBefore.Sub(now).Round(time.Second)))
	}
	if c.IssuedAt != nil && c.IssuedAt.Sub(now) > clockSkew {
		errs = append(errs, fmt.Errorf("OIDC token was issued in the future (iat %s, %s from now); check the clock of this machine",
			c.IssuedAt.UTC().Format(time.RFC3339), c.IssuedAt.Sub(now).Round(time.Second)))
	}
	return errs
}

func (c *Claims) checkCircleCI(p *publisher.Identity) []error {
	if !c.IsCircleCI() {
		return []error{fmt.Errorf("OIDC token was issued by %q, not by CircleCI, but the trusted publisher configured in release.json is a CircleCI one; mint the token with `circleci run oidc get` in a CircleCI job", c.Issuer)}
	}
	var errs []error
	if want := CircleCIIssuerPrefix + p.OrgID; c.Issuer != want {
		errs = append(errs, &ClaimError{Claim: "iss", Got: fmt.Sprintf("%q", c.Issuer), Want: fmt.Sprintf("%q", want),
			Fix: "the job runs in another CircleCI organization: fix trustedPublisher.orgId in release.json or run the job in that organization"})
	}
	for _, f := range []struct{ claim, got, want, field string }{
		{ClaimOrgID, c.OrgID, p.OrgID, "orgId"},
		{ClaimProjectID, c.ProjectID, p.ProjectID, "projectId"},
		{ClaimPipelineDefinitionID, c.PipelineDefinitionID, p.PipelineDefinitionID, "pipelineDefinitionId"},
		{ClaimVCSOrigin, c.VCSOrigin, p.VCSOrigin, "vcsOrigin"},
	} {
		if f.got != f.want {
			errs = append(errs, &ClaimError{Claim: f.claim, Got: fmt.Sprintf("%q", f.got), Want: fmt.Sprintf("%q", f.want),
				Fix: fmt.Sprintf("fix trustedPublisher.%s in release.json (and the package's trusted publisher: `mage trust:check`) or run the job from the configured CircleCI project and pipeline", f.field)})
		}
	}
	for _, id := range p.ContextIDs {
		if !slices.Contains(c.ContextIDs, id) {
			errs = append(errs, &ClaimError{Claim: ClaimContextIDs, Got: quoteList(c.ContextIDs), Want: fmt.Sprintf("it to include context %q", id),
				Fix: "add that context to the publishing job (`context:` in .circleci/config.yml) or fix trustedPublisher.contextIds in release.json"})
		}
	}
	return errs
}

func (c *Claims) checkGitHub(p *publisher.Identity) []error {
	if !c.IsGitHub() {
		return []error{fmt.Errorf("OIDC token was issued by %q, not by GitHub Actions, but the trusted publisher configured in release.json is a GitHub Actions one", c.Issuer)}
	}
	var errs []error
	if c.Repository != p.Repository {
		errs = append(errs, &ClaimError{Claim: "repository", Got: fmt.Sprintf("%q", c.Repository), Want: fmt.Sprintf("%q", p.Repository),
			Fix: "publish from the configured repository or fix the trusted publisher"})
	}
	file := ""
	if i := strings.Index(c.WorkflowRef, "/.github/workflows/"); i >= 0 {
		file, _, _ = strings.Cut(c.WorkflowRef[i+len("/.github/workflows/"):], "@")
	}
	if file != p.Workflow || !strings.HasPrefix(c.WorkflowRef, p.Repository+"/") {
		errs = append(errs, &ClaimError{Claim: "workflow_ref", Got: fmt.Sprintf("%q", c.WorkflowRef), Want: fmt.Sprintf("workflow file %q of %s", p.Workflow, p.Repository),
			Fix: "publish from the configured workflow file or fix the trusted publisher"})
	}
	// npm matches every field exactly, case included ("All fields are
	// case-sensitive and must be exact", npm's trusted-publishing docs).
	if p.Environment != "" && c.Environment != p.Environment {
		errs = append(errs, &ClaimError{Claim: "environment", Got: fmt.Sprintf("%q", c.Environment), Want: fmt.Sprintf("%q", p.Environment),
			Fix: "set `environment: " + p.Environment + "` on the publishing job or fix the trusted publisher"})
	}
	return errs
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
