// Package githubapi is the toolkit's GitHub REST client (google/go-github)
// for one repository: where the API is (GitHub or an Enterprise Server),
// how to authenticate (a token, or a GitHub App's JWT exchanged for an
// installation token), and what GitHub's error answers mean for the person
// reading them. Credentials come from the toolkit's Facts and never reach
// output or errors.
package githubapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v89/github"

	"github.com/agent-facets/release/internal/secret"
	"github.com/agent-facets/release/internal/toolkit"
)

// GitHub's own hosts: the defaults when release.json names no other.
const (
	DefaultAPI    = "https://api.github.com/"
	defaultUpload = "https://uploads.github.com/"
	defaultWeb    = "https://github.com/"
)

// Client talks to one repository.
type Client struct {
	*github.Client
	// Owner and Repo name the repository.
	Owner, Repo string
	// API, Upload and Web are the REST API's, the uploads' and the web
	// pages' base URLs, each ending in "/".
	API, Upload, Web string
	// Auth says how the client authenticates, for output ("GITHUB_TOKEN",
	// "GitHub App Iv23… (installation 42)"); never a credential.
	Auth string
}

// Options tune New; the zero value is what the targets use.
type Options struct {
	// HTTP is the transport's client; nil means one with a ten-minute
	// timeout (an upload of a large archive takes a while).
	HTTP *http.Client
	// Now is the clock the App JWT is stamped with; nil means time.Now.
	Now func() time.Time
}

// Endpoints returns the API, upload and web base URLs for e: release.json's
// github.apiURL (else GITHUB_API_URL, else GitHub's), its uploadURL (else
// derived from the API's), and the web pages' base derived from the API's.
func Endpoints(e *toolkit.Env) (api, upload, web string, err error) {
	api = e.Cfg.GitHub.APIURL
	if api == "" {
		api = e.Facts.GitHubAPIURL
	}
	if api == "" {
		api = DefaultAPI
	}
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", "", fmt.Errorf("GitHub API URL %q is not an http(s) URL: fix github.apiURL in %s or GITHUB_API_URL", api, e.Cfg.File)
	}
	api = strings.TrimSuffix(api, "/") + "/"
	switch {
	case api == DefaultAPI:
		upload, web = defaultUpload, defaultWeb
	case strings.HasSuffix(u.Path, "/api/v3") || strings.HasSuffix(u.Path, "/api/v3/"):
		// GitHub Enterprise Server: https://HOST/api/v3/.
		root := strings.TrimSuffix(strings.TrimSuffix(api, "/"), "/api/v3") + "/"
		upload, web = root+"api/uploads/", root
	default:
		upload, web = api, api
	}
	if e.Cfg.GitHub.UploadURL != "" {
		upload = strings.TrimSuffix(e.Cfg.GitHub.UploadURL, "/") + "/"
	}
	return api, upload, web, nil
}

// New returns a client for release.json's github.repository, authenticated
// as a GitHub App when GITHUB_APP_PRIVATE_KEY and an app id are set, else
// with GITHUB_TOKEN (or GH_TOKEN). For an App it mints the JWT and
// exchanges it for an installation token of the repository (looking the
// installation up when no id is configured); each refusal gets its own
// message.
func New(ctx context.Context, e *toolkit.Env, o Options) (*Client, error) {
	owner, repo, ok := strings.Cut(e.Cfg.GitHub.Repository, "/")
	if !ok {
		return nil, fmt.Errorf("no GitHub repository: set github.repository (\"owner/name\") in %s, or release.repository to its github.com URL", e.Cfg.File)
	}
	api, upload, web, err := Endpoints(e)
	if err != nil {
		return nil, err
	}
	hc := o.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Minute}
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	c := &Client{Owner: owner, Repo: repo, API: api, Upload: upload, Web: web}
	f := e.Facts
	appID := f.GitHubAppID
	if appID == "" {
		appID = e.Cfg.GitHub.AppID
	}
	var token string
	switch {
	case f.GitHubAppKey != "" && appID == "":
		return nil, fmt.Errorf("GITHUB_APP_PRIVATE_KEY is set but no GitHub App is named: set GITHUB_APP_ID, or github.appId in %s, to the App's client ID or app ID", e.Cfg.File)
	case f.GitHubAppKey != "":
		token, c.Auth, err = installationToken(ctx, e, hc, api, upload, owner, repo, appID, now())
		if err != nil {
			return nil, err
		}
	case f.GitHubToken != "":
		token, c.Auth = f.GitHubToken, "a GitHub token (GITHUB_TOKEN or GH_TOKEN)"
	case appID != "":
		return nil, fmt.Errorf("a GitHub App is named (%s) but GITHUB_APP_PRIVATE_KEY is not set: give the App's private key there (the .pem file, or it in base64), or use GITHUB_TOKEN", appID)
	default:
		return nil, fmt.Errorf("no GitHub credentials: set GITHUB_TOKEN (or GH_TOKEN) to a token that may write %s/%s's releases (contents: write), or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY for a GitHub App installed on it", owner, repo)
	}
	c.Client, err = github.NewClient(github.WithHTTPClient(hc), github.WithURLs(&api, &upload), github.WithAuthToken(token), github.WithUserAgent("agent-facets-release"))
	if err != nil {
		return nil, fmt.Errorf("GitHub client: %w", err)
	}
	return c, nil
}

// installationToken signs the App JWT and exchanges it for an installation
// token of owner/repo.
func installationToken(ctx context.Context, e *toolkit.Env, hc *http.Client, api, upload, owner, repo, appID string, now time.Time) (string, string, error) {
	key, err := ParseKey(e.Facts.GitHubAppKey)
	if err != nil {
		return "", "", err
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		Issuer: appID,
		// A minute back for clock drift, ten minutes at most in all.
		IssuedAt:  jwt.NewNumericDate(now.Add(-60 * time.Second)),
		ExpiresAt: jwt.NewNumericDate(now.Add(9 * time.Minute)),
	}).SignedString(key)
	if err != nil {
		return "", "", fmt.Errorf("sign the GitHub App's JWT: %w", err)
	}
	secret.Register(signed)
	app, err := github.NewClient(github.WithHTTPClient(hc), github.WithURLs(&api, &upload), github.WithAuthToken(signed), github.WithUserAgent("agent-facets-release"))
	if err != nil {
		return "", "", err
	}
	idText := e.Facts.GitHubInstallationID
	from := "GITHUB_APP_INSTALLATION_ID"
	if idText == "" {
		idText, from = e.Cfg.GitHub.InstallationID, "github.installationId in "+e.Cfg.File
	}
	var id int64
	if idText == "" {
		inst, _, err := app.Apps.GetRepositoryInstallation(ctx, owner, repo)
		if err != nil {
			return "", "", appError(err, appID, fmt.Sprintf("look up its installation on %s/%s", owner, repo), func(status int) string {
				if status == http.StatusNotFound {
					return fmt.Sprintf("the GitHub App %s is not installed on %s/%s: install it there (the App's settings, Install App), giving it Contents: read and write", appID, owner, repo)
				}
				return ""
			})
		}
		id = inst.GetID()
	} else if id, err = strconv.ParseInt(idText, 10, 64); err != nil {
		return "", "", fmt.Errorf("GitHub App installation id %q (%s) is not a number", idText, from)
	}
	tok, _, err := app.Apps.CreateInstallationToken(ctx, id, &github.InstallationTokenOptions{
		Repositories: []string{repo},
		Permissions:  &github.InstallationPermissions{Contents: github.Ptr("write")},
	})
	if err != nil {
		return "", "", appError(err, appID, fmt.Sprintf("mint an installation token of installation %d", id), func(status int) string {
			switch status {
			case http.StatusNotFound:
				if idText == "" {
					return ""
				}
				return fmt.Sprintf("installation %d of the GitHub App %s was not found (404): a stale installation id. An App uninstalled and installed again gets a new id; set the current one in %s (the number at the end of the installation's settings page URL), or unset it to look it up from %s/%s", id, appID, from, owner, repo)
			case http.StatusUnprocessableEntity:
				return fmt.Sprintf("the GitHub App %s may not write %s/%s's contents, or is not installed on it: grant it Contents: read and write and install it on the repository", appID, owner, repo)
			}
			return ""
		})
	}
	secret.Register(tok.GetToken())
	return tok.GetToken(), fmt.Sprintf("the GitHub App %s (installation %d)", appID, id), nil
}

// appError explains a refusal of the App's JWT (401) or, through special,
// a status with its own meaning at this call.
func appError(err error, appID, doing string, special func(status int) string) error {
	status, msg := Status(err)
	if s := special(status); s != "" {
		return errors.New(s)
	}
	if status == http.StatusUnauthorized {
		return fmt.Errorf("GitHub refused the App's JWT while trying to %s (401 %s): check that GITHUB_APP_ID (%s) is the App's client ID or app ID, that GITHUB_APP_PRIVATE_KEY is a current private key of that App (a key deleted in its settings is refused), and that this machine's clock is right", doing, msg, appID)
	}
	return fmt.Errorf("GitHub App %s: %s: %w", appID, doing, Explain(err))
}

// ParseKey reads a GitHub App's private key: PEM (PKCS #1 or #8), the same
// with its newlines written as \n, or either in base64 (CI variables often
// hold it so). The error never quotes the key.
func ParseKey(s string) (any, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "-----BEGIN") {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding} {
			if dec, err := enc.DecodeString(strings.Join(strings.Fields(s), "")); err == nil && strings.HasPrefix(strings.TrimSpace(string(dec)), "-----BEGIN") {
				s = strings.TrimSpace(string(dec))
				secret.Register(s)
				break
			}
		}
	}
	if !strings.Contains(s, "\n") && strings.Contains(s, `\n`) {
		s = strings.ReplaceAll(s, `\n`, "\n")
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(s))
	if err != nil {
		return nil, errors.New("GITHUB_APP_PRIVATE_KEY is not a GitHub App's RSA private key in PEM (nor one in base64): give it the contents of the .pem file the App's settings let you generate")
	}
	return key, nil
}

// Status returns the HTTP status and GitHub's message of an API error (0
// and the error's text when it is not an answer from GitHub).
func Status(err error) (int, string) {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		msg := er.Message
		for _, d := range er.Errors {
			part := strings.TrimSpace(strings.Join([]string{d.Resource, d.Field, d.Code, d.Message}, " "))
			if part != "" {
				msg += "; " + part
			}
		}
		return er.Response.StatusCode, msg
	}
	var rl *github.RateLimitError
	if errors.As(err, &rl) && rl.Response != nil {
		return rl.Response.StatusCode, rl.Message
	}
	var ab *github.AbuseRateLimitError
	if errors.As(err, &ab) && ab.Response != nil {
		return ab.Response.StatusCode, ab.Message
	}
	if err == nil {
		return 0, ""
	}
	return 0, secret.Redact(err.Error())
}

// HasCode reports whether err is GitHub's 422 answer with an error of code
// (such as "already_exists") on field.
func HasCode(err error, field, code string) bool {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	for _, d := range er.Errors {
		if d.Code == code && (field == "" || d.Field == field) {
			return true
		}
	}
	return false
}

// IsNotFound reports whether err is GitHub's 404.
func IsNotFound(err error) bool {
	s, _ := Status(err)
	return s == http.StatusNotFound
}

// Temporary reports whether err is worth another try: a 5xx answer, or no
// answer at all (a reset connection, a timeout).
func Temporary(err error) bool {
	s, _ := Status(err)
	if s >= 500 {
		return true
	}
	var er *github.ErrorResponse
	var pe *fs.PathError // a local file, not GitHub
	return s == 0 && !errors.As(err, &er) && !errors.As(err, &pe) && !errors.Is(err, context.Canceled)
}

// Explain turns an API error into one for a person: the status, GitHub's
// message, and what usually fixes it.
func Explain(err error) error {
	status, msg := Status(err)
	switch {
	case status == http.StatusTooManyRequests || (status == http.StatusForbidden && strings.Contains(strings.ToLower(msg), "rate limit")):
		return fmt.Errorf("GitHub is rate limiting (%d %s): wait and run the same command again", status, msg)
	case status == http.StatusUnauthorized:
		return fmt.Errorf("GitHub refused the credentials (401 %s): the token is wrong, expired or revoked; make a new one that may write the repository's releases (contents: write)", msg)
	case status == http.StatusForbidden:
		return fmt.Errorf("GitHub forbade it (403 %s): the token may not write the repository's releases; give it contents: write (for GitHub Actions' GITHUB_TOKEN, `permissions: contents: write` on the job)", msg)
	case status == http.StatusNotFound:
		return fmt.Errorf("GitHub answered 404 (%s): the repository does not exist, or the token cannot see it (GitHub answers 404, not 403, to a token without access)", msg)
	case status == http.StatusUnprocessableEntity:
		return fmt.Errorf("GitHub refused the request (422 %s)", msg)
	case status >= 500:
		return fmt.Errorf("GitHub failed (%d %s): run the same command again; it finishes what is missing", status, msg)
	case status != 0:
		return fmt.Errorf("GitHub answered %d: %s", status, msg)
	}
	return fmt.Errorf("GitHub unreachable: %s", msg)
}
