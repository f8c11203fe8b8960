package registry

import (
	"cmp"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Staged is one staged version as the registry lists it (npm stage list,
// GET /-/stage): not public until a maintainer approves it.
type Staged struct {
	ID          string `json:"id"`
	PackageName string `json:"packageName"`
	Version     string `json:"version"`
	Tag         string `json:"tag"`
	CreatedAt   string `json:"createdAt"`
	Actor       string `json:"actor"`
	ActorType   string `json:"actorType"`
	// Shasum is the hex SHA-1 of the staged tarball.
	Shasum string `json:"shasum"`
	// Integrity is the tarball's sha512 integrity, when the registry lists
	// one (npm's listing has only the shasum).
	Integrity string `json:"integrity,omitempty"`
}

func (s Staged) String() string {
	return s.PackageName + "@" + s.Version + " (staged with id " + s.ID + ")"
}

// StagePath is the registry's staged-publishing API, below the registry URL.
const StagePath = "-/stage"

// IsRefused reports whether err is the registry refusing the request's
// credentials (401 or 403), rather than failing.
func IsRefused(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden)
}

// StagedList returns the staged versions of pkg on registry, reading every
// page as `npm stage list <pkg>` does. token, when not empty, is sent as a
// Bearer token; an empty one reads anonymously. A registry that refuses
// the reader answers with an error IsRefused recognises.
func (c *Client) StagedList(ctx context.Context, registry, pkg, token string) ([]Staged, error) {
	const perPage = 100
	var all []Staged
	for page := 0; ; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "perPage": {strconv.Itoa(perPage)}, "package": {pkg}}
		u := stageURL(registry, "") + "?" + q.Encode()
		body, err := c.Do(ctx, c.stageRequest(http.MethodGet, u, token, "application/json"))
		if err != nil {
			return nil, fmt.Errorf("list the staged versions of %s: %w", pkg, err)
		}
		var res struct {
			Items []Staged `json:"items"`
			Total int      `json:"total"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return nil, fmt.Errorf("list the staged versions of %s: registry %s sent no staged list (%v): %.80q", pkg, registry, err, body)
		}
		for _, s := range res.Items {
			// A registry that ignores the filter lists other packages too.
			if s.PackageName == pkg {
				all = append(all, s)
			}
		}
		if len(res.Items) < perPage || (page+1)*perPage >= res.Total {
			return all, nil
		}
	}
}

// StagedTarball downloads the tarball of the staged publish id and returns
// its sha512 integrity and hex SHA-1 shasum, hashing as it reads (a
// platform package's tarball holds a whole binary). token is as for
// StagedList. 429, 5xx and broken connections are retried.
func (c *Client) StagedTarball(ctx context.Context, registry, id, token string) (integrity, shasum string, err error) {
	u := stageURL(registry, id) + "/tarball"
	newReq := c.stageRequest(http.MethodGet, u, token, "application/octet-stream")
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = cmp.Or(c.InitialInterval, 250*time.Millisecond)
	b.MaxInterval = 10 * time.Second
	b.MaxElapsedTime = cmp.Or(c.MaxElapsed, 2*time.Minute)
	op := func() error {
		// The attempt's timeout bounds the wait for the answer's headers;
		// the body (a whole binary) is read for as long as it streams.
		timeout := c.attemptTimeout()
		actx, cancel := context.WithCancel(ctx)
		defer cancel()
		timer := time.AfterFunc(timeout, cancel)
		r, err := newReq(actx)
		if err != nil {
			timer.Stop()
			return backoff.Permanent(err)
		}
		resp, err := c.HTTPClient().Do(r)
		timer.Stop()
		if err != nil && actx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s: %w", timeout, context.DeadlineExceeded)
		}
		if err != nil {
			return c.classifyNetError(ctx, r, err, timeout)
		}
		defer resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			se := &StatusError{Method: r.Method, URL: redactURL(r.URL), Status: resp.StatusCode, Message: errorMessage(body), RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
			if !se.Retryable() {
				return backoff.Permanent(se)
			}
			return se
		}
		h512, h1 := sha512.New(), sha1.New()
		if _, err := io.Copy(io.MultiWriter(h512, h1), resp.Body); err != nil {
			return fmt.Errorf("%s %s: reading the tarball: %w", r.Method, redactURL(r.URL), err)
		}
		integrity = "sha512-" + base64.StdEncoding.EncodeToString(h512.Sum(nil))
		shasum = hex.EncodeToString(h1.Sum(nil))
		return nil
	}
	if err := backoff.Retry(op, backoff.WithContext(b, ctx)); err != nil {
		return "", "", fmt.Errorf("download the staged tarball %s: %w", id, err)
	}
	return integrity, shasum, nil
}

func stageURL(registry, id string) string {
	u := strings.TrimSuffix(registry, "/") + "/" + StagePath
	if id != "" {
		u += "/" + url.PathEscape(id)
	}
	return u
}

func (c *Client) stageRequest(method, u, token, accept string) func(context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		r, err := http.NewRequestWithContext(ctx, method, u, nil)
		if err != nil {
			return nil, err
		}
		r.Header.Set("Accept", accept)
		r.Header.Set("User-Agent", "agent-facets-release")
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		return r, nil
	}
}
