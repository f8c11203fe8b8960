package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/bitfield/script"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/publisher"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/secret"
)

// MintTimeout bounds one minting call when the caller's context has no
// earlier deadline.
const MintTimeout = 30 * time.Second

// Source is what the environment offers to mint an ID token with.
type Source struct {
	// CI is the CI system the job runs on.
	CI publisher.Provider
	// IDToken is a token the CI minted already (NPM_ID_TOKEN).
	IDToken string
	// GitHubTokenURL and GitHubTokenRequest reach GitHub Actions' token
	// service (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN).
	GitHubTokenURL, GitHubTokenRequest string
	// Run runs the CircleCI CLI.
	Run *command.Runner
	// HTTP is how GitHub's token service is reached (npm's proxies); nil
	// means directly.
	HTTP *http.Client
}

// Mint obtains an OIDC ID token for publishing to registryURL from whatever
// src offers: an ID token already there (CI may have minted it; GitLab
// always does, from the job's id_tokens), else the CircleCI CLI on
// CircleCI, else GitHub's token service on GitHub Actions. The token is
// registered as a secret.
func Mint(ctx context.Context, src Source, registryURL string) (string, error) {
	if tok := strings.TrimSpace(src.IDToken); tok != "" {
		secret.Register(tok)
		return tok, nil
	}
	aud := Audience(registryURL)
	switch src.CI {
	case publisher.CircleCI:
		return MintCircleCI(ctx, src.Run, aud)
	case publisher.GitHub:
		return mintGitHub(ctx, src.HTTP, src.GitHubTokenURL, src.GitHubTokenRequest, aud)
	case publisher.GitLab:
		return "", fmt.Errorf("mint OIDC token: GitLab provides no token on request and NPM_ID_TOKEN is not set: declare it in the job (id_tokens: NPM_ID_TOKEN: aud: %q)", aud)
	}
	return "", fmt.Errorf("mint OIDC token: npm trusted publishing only works on CircleCI (CIRCLECI=true), GitHub Actions (GITHUB_ACTIONS=true), or GitLab with NPM_ID_TOKEN set, and none of these is set here; publish from CI, or locally with a user token (npm login)")
}

// MintCircleCI runs `circleci run oidc get --claims '{"aud":"<audience>"}'`,
// which prints an ID token inside a CircleCI job, and returns the token,
// registered as a secret.
func MintCircleCI(ctx context.Context, run *command.Runner, audience string) (string, error) {
	const what = "mint OIDC token with the CircleCI CLI"
	claims, err := json.Marshal(map[string]string{"aud": audience})
	if err != nil {
		return "", fmt.Errorf("%s: encode claims: %w", what, err)
	}
	ctx, cancel := withDeadline(ctx, MintTimeout)
	defer cancel()
	out, err := run.Pipe(ctx, command.Cmd{Name: "circleci", Args: []string{"run", "oidc", "get", "--claims", string(claims)}}).
		RejectRegexp(blankLine).Last(1).String()
	out = strings.TrimSpace(out)
	if err != nil {
		ce, _ := command.AsError(err)
		switch {
		case ce != nil && ce.NotFound:
			return "", fmt.Errorf("%s: `circleci` is not on PATH: install the CircleCI CLI in the job's image or use an image that has it", what)
		case ctx.Err() != nil:
			return "", fmt.Errorf("%s: `circleci run oidc get` did not finish: %w", what, ctx.Err())
		}
		line := ""
		if ce != nil {
			line = usefulLine(ce.Stderr)
		}
		if line == "" {
			line = "it printed no error message"
		}
		return "", secret.Error(fmt.Errorf("%s: `circleci run oidc get` failed (%v): %s; it works only inside a CircleCI job", what, exitOf(ce, err), line))
	}
	if !looksLikeJWT(out) {
		return "", fmt.Errorf("%s: `circleci run oidc get` printed %d bytes that are not a JWT; check the CircleCI CLI version (`circleci version`)", what, len(out))
	}
	secret.Register(out)
	return out, nil
}

var blankLine = regexp.MustCompile(`^\s*$`)

func exitOf(ce *command.Error, err error) string {
	switch {
	case ce == nil:
		return err.Error()
	case ce.Signal != "":
		return "ended by signal " + ce.Signal
	}
	return fmt.Sprintf("exit status %d", ce.Exit)
}

// MintGitHub asks GitHub Actions' token service for an ID token with
// audience, as npm does: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud>
// with `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answered by
// {"value": "<jwt>"}. The token is registered as a secret.
func MintGitHub(ctx context.Context, reqURL, reqToken, audience string) (string, error) {
	return mintGitHub(ctx, nil, reqURL, reqToken, audience)
}

func mintGitHub(ctx context.Context, hc *http.Client, reqURL, reqToken, audience string) (string, error) {
	const what = "mint OIDC token from GitHub Actions"
	if reqURL == "" || reqToken == "" {
		return "", fmt.Errorf("%s: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: add `permissions: id-token: write` to the workflow or the job", what)
	}
	secret.Register(reqToken)
	u, err := url.Parse(reqURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%s: ACTIONS_ID_TOKEN_REQUEST_URL is not a URL; it is set by GitHub Actions, do not override it", what)
	}
	q := "audience=" + url.QueryEscape(audience)
	if u.RawQuery != "" {
		q = u.RawQuery + "&" + q
	}
	u.RawQuery = q
	where := u.Scheme + "://" + u.Host + u.Path

	ctx, cancel := withDeadline(ctx, MintTimeout)
	defer cancel()
	var (
		status int
		body   []byte
	)
	for attempt := 1; ; attempt++ {
		status, body, err = getWithBearer(ctx, hc, u.String(), reqToken)
		retry := err != nil || status == http.StatusTooManyRequests || status >= 500
		if !retry || attempt == 3 || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
		}
	}
	if err != nil {
		return "", secret.Error(fmt.Errorf("%s: GET %s: %w", what, where, err))
	}
	var answer struct {
		Value   string `json:"value"`
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	_ = json.Unmarshal(body, &answer)
	secret.Register(answer.Value)
	if status < 200 || status > 299 {
		msg := answer.Message
		if msg == "" {
			msg = answer.Error
		}
		if msg == "" {
			msg = usefulLine(string(body))
		}
		return "", secret.Error(fmt.Errorf("%s: GET %s answered %d %s: %s; check the job has `permissions: id-token: write`", what, where, status, http.StatusText(status), msg))
	}
	if answer.Value == "" {
		return "", fmt.Errorf("%s: GET %s answered %d without a token (no \"value\" in the JSON answer)", what, where, status)
	}
	if !looksLikeJWT(answer.Value) {
		return "", fmt.Errorf("%s: GET %s answered a \"value\" that is not a JWT", what, where)
	}
	return answer.Value, nil
}

func getWithBearer(ctx context.Context, hc *http.Client, u, token string) (int, []byte, error) {
	if hc == nil {
		hc, _ = (*registry.Network)(nil).HTTPClient()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is reported by the caller, without its query
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// withDeadline gives ctx a deadline of d unless it has an earlier one.
func withDeadline(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// usefulLine picks the line of a command's output that explains a failure:
// the last one mentioning an error, else the last non-empty one. It is
// redacted and shortened.
func usefulLine(s string) string {
	lines := script.Echo(secret.Redact(s)).FilterLine(strings.TrimSpace).RejectRegexp(blankLine)
	all, _ := lines.Slice()
	errs, _ := script.Slice(all).MatchRegexp(errorWord).Last(1).String()
	last := strings.TrimSpace(errs)
	if last == "" && len(all) > 0 {
		last = all[len(all)-1]
	}
	if len(last) > 300 {
		last = last[:300] + "…"
	}
	return last
}

var errorWord = regexp.MustCompile(`(?i)error`)
