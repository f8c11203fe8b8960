package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/secret"
)

// ExchangeTimeout bounds Exchange, retries included, when the caller's
// context has no earlier deadline.
const ExchangeTimeout = 2 * time.Minute

// ExchangePath is where npm exchanges an ID token for a publish token; the
// escaped package name follows.
const ExchangePath = "/-/npm/v1/oidc/token/exchange/package/"

// NpmToken is the short-lived npm token a registry gives for an ID token.
// Printing it with fmt shows no secret.
type NpmToken struct {
	Token   string
	Expires time.Time
}

// String describes the token without revealing it.
func (t NpmToken) String() string {
	if t.Expires.IsZero() {
		return "npm token " + secret.Mask
	}
	return "npm token " + secret.Mask + " (expires " + t.Expires.UTC().Format(time.RFC3339) + ")"
}

// GoString is String, so %#v does not reveal the token either.
func (t NpmToken) GoString() string { return t.String() }

// exchangeClient is the registry client Exchange uses; tests shorten it.
var exchangeClient = &registry.Client{AttemptTimeout: 30 * time.Second, MaxElapsed: 90 * time.Second}

// ExchangeURL returns the URL npm posts pkg's ID token to: like npm
// (`new URL('/-/npm/v1/oidc/token/exchange/package/<escaped>', registry)`)
// it is rooted at the registry's origin, whatever path the registry URL has.
// Scoped names are escaped as @scope%2fname.
func ExchangeURL(registryURL, pkg string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(registryURL))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("registry URL %q is not an absolute URL; check `npm config get registry`", registryURL)
	}
	return u.Scheme + "://" + u.Host + ExchangePath + registry.EscapeName(pkg), nil
}

// Exchange asks the registry at registryURL for an npm token that may
// publish pkg, with the ID token, exactly as npm will during `npm publish`
// (POST, no body, the ID token as Bearer). It retries 429 and 5xx answers,
// honouring Retry-After, under ctx (or ExchangeTimeout). The npm token is
// registered as a secret. A refusal comes back as an error with the
// registry's message, the status, the identity the token claims and the fix.
func Exchange(ctx context.Context, registryURL, pkg, token string) (*NpmToken, error) {
	return exchange(ctx, nil, registryURL, pkg, token)
}

// exchange is Exchange through hc (nil: directly).
func exchange(ctx context.Context, hc *http.Client, registryURL, pkg, token string) (*NpmToken, error) {
	secret.Register(token)
	u, err := ExchangeURL(registryURL, pkg)
	if err != nil {
		return nil, fmt.Errorf("OIDC token exchange for %s: %w", pkg, err)
	}
	ctx, cancel := withDeadline(ctx, ExchangeTimeout)
	defer cancel()
	// Keep the last answer of a retried failure: when the deadline ends the
	// retries, the client reports only the deadline.
	// The ID token is for this registry alone: a redirect elsewhere is
	// refused, never followed.
	if hc == nil {
		hc, _ = (*registry.Network)(nil).HTTPClient()
	}
	client := registry.Client{AttemptTimeout: exchangeClient.AttemptTimeout, MaxElapsed: exchangeClient.MaxElapsed, InitialInterval: exchangeClient.InitialInterval, HTTP: registry.NoRedirects(hc)}
	var (
		lastRetry error
		retries   int
	)
	client.OnRetry = func(_ string, err error, _ time.Duration) { lastRetry, retries = err, retries+1 }
	body, err := client.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
		if err != nil {
			return nil, err
		}
		r.Header.Set("Accept", "application/json")
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("User-Agent", "agent-facets-release")
		return r, nil
	})
	if err != nil {
		var se *registry.StatusError
		if !errors.As(err, &se) && errors.As(lastRetry, &se) {
			err = fmt.Errorf("%w; gave up: %w", lastRetry, err)
		}
		return nil, secret.Error(exchangeError(pkg, token, retries+1, err))
	}
	var answer struct {
		Token   string `json:"token"`
		Expires string `json:"expires"`
	}
	jsonErr := json.Unmarshal(body, &answer)
	secret.Register(answer.Token)
	if jsonErr != nil || answer.Token == "" {
		return nil, fmt.Errorf("OIDC token exchange for %s: POST %s: the registry accepted the ID token but its answer has no token (%d bytes, want {\"token\": ...}); is this registry one that supports trusted publishing?", pkg, u, len(body))
	}
	t := &NpmToken{Token: answer.Token}
	if answer.Expires != "" {
		t.Expires, _ = time.Parse(time.RFC3339, answer.Expires)
	}
	return t, nil
}

// ExchangeError is an exchange the registry refused.
type ExchangeError struct {
	Package string
	// Status is the registry's HTTP status.
	Status int
	// Message is the registry's own message.
	Message string
	// Identity is what the ID token claims (see Claims.Identity); empty
	// when the registry failed rather than refused.
	Identity string
	// Fix says what to do.
	Fix string
	// Err is the underlying *registry.StatusError.
	Err error
}

func (e *ExchangeError) Error() string {
	verb := "refused"
	if e.Status == http.StatusTooManyRequests || e.Status >= 500 {
		verb = "failed"
	}
	who := ""
	if e.Identity != "" {
		who = e.Identity + "; "
	}
	return fmt.Sprintf("OIDC token exchange for %s %s: registry answered %d %s: %s; %sfix: %s",
		e.Package, verb, e.Status, http.StatusText(e.Status), e.Message, who, e.Fix)
}

func (e *ExchangeError) Unwrap() error { return e.Err }

// exchangeError explains a failed exchange: the registry's own words, what
// the token claims (never the token) and what to do.
func exchangeError(pkg, token string, attempts int, err error) error {
	var se *registry.StatusError
	if !errors.As(err, &se) {
		return fmt.Errorf("OIDC token exchange for %s failed before the registry answered: %w; check the registry is reachable (`npm config get registry`) and run again", pkg, err)
	}
	e := &ExchangeError{Package: pkg, Status: se.Status, Message: se.Message, Identity: "the token's claims cannot be read", Err: err}
	if c, derr := Decode(token); derr == nil {
		e.Identity = c.Identity()
	}
	e.Message = strings.Join(strings.Fields(e.Message), " ")
	if e.Message == "" {
		e.Message = "(no message)"
	}
	switch {
	case se.Status == http.StatusNotFound:
		e.Fix = "the package must exist before a trusted publisher can be attached: seed it first, then attach the trusted publisher (`mage trust:check`)"
	case se.Status == http.StatusUnauthorized:
		e.Fix = "the registry refused the ID token itself (expired, wrong audience or an issuer it does not trust): mint a fresh token, " +
			"for the audience npm uses (\"npm:\" + the registry's hostname), in the job that publishes"
	case se.Retryable():
		e.Identity = "" // not about who asks
		e.Fix = fmt.Sprintf("the registry kept failing; gave up after %d attempts: run the job again later", attempts)
		if se.RetryAfter > 0 {
			e.Fix += fmt.Sprintf(" (it asked to wait %s)", se.RetryAfter)
		}
	default:
		e.Fix = "attach or repair the package's trusted publisher so that it matches this identity and release.json (`mage trust:check` shows the difference)"
	}
	return e
}

// Preflight checks token against want and then tries the exchange npm will
// do for pkg, so that a publish that would fail fails now, clearly, before
// anything is written. The npm token obtained is discarded: npm exchanges
// the ID token again when it publishes. An empty want.Audience is taken
// from registryURL.
func Preflight(ctx context.Context, registryURL, pkg, token string, want Expectation) error {
	secret.Register(token)
	if want.Audience == "" {
		want.Audience = Audience(registryURL)
	}
	if err := Check(token, want, time.Now()); err != nil {
		return secret.Error(fmt.Errorf("preflight of trusted publishing for %s: %w", pkg, err))
	}
	if _, err := exchange(ctx, want.HTTP, registryURL, pkg, token); err != nil {
		return fmt.Errorf("preflight of trusted publishing for %s: %w", pkg, err)
	}
	return nil
}
