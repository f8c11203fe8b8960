package registry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// EnvProxy is what the environment says about proxies, as npm's HTTP agent
// (@npmcli/agent) reads it: https_proxy, http_proxy, proxy and no_proxy,
// in any letter case.
type EnvProxy struct {
	HTTPS, HTTP, Any, No string
}

// Network is how npm reaches registries, so that the toolkit's own reads
// and token exchange go the same way: npm's proxy (https-proxy or proxy,
// else the environment's), noproxy, its certificate authorities (ca,
// cafile), strict-ssl and fetch-timeout.
type Network struct {
	// Proxy is npm's https-proxy, else its proxy: npm uses it for every
	// request, http or https.
	Proxy string
	// NoProxy is npm's noproxy: comma-separated domain suffixes reached
	// directly.
	NoProxy string
	// Env is the environment's proxies, used when npm has none configured.
	Env EnvProxy
	// CA, when set, replaces the system's certificate authorities (PEM).
	CA []string
	// Insecure turns certificate checks off (strict-ssl=false).
	Insecure bool
	// Timeout bounds one request (fetch-timeout); zero leaves the client's
	// own.
	Timeout time.Duration
	// Where says where each npm setting came from, for messages: keys
	// proxy, https-proxy, noproxy, ca, cafile, strict-ssl, fetch-timeout.
	Where map[string]string
}

// ProxyFor returns the proxy npm would use for u, or nil, exactly as
// @npmcli/agent decides: npm's configured proxy for any URL; else, for an
// https URL, https_proxy, and for an http URL https_proxy, http_proxy or
// proxy; none when u's host matches noproxy (npm's, else no_proxy).
func (n *Network) ProxyFor(u *url.URL) (*url.URL, error) {
	p, _, err := n.proxyFor(u)
	return p, err
}

// proxyFor is ProxyFor and where the proxy (or its absence) comes from.
func (n *Network) proxyFor(u *url.URL) (*url.URL, string, error) {
	if n == nil {
		return nil, "", nil
	}
	proxy, from := n.Proxy, n.where("https-proxy", "proxy")
	if proxy == "" {
		switch {
		case u.Scheme == "https":
			proxy, from = n.Env.HTTPS, "HTTPS_PROXY in the environment"
		case n.Env.HTTPS != "":
			proxy, from = n.Env.HTTPS, "HTTPS_PROXY in the environment"
		case n.Env.HTTP != "":
			proxy, from = n.Env.HTTP, "HTTP_PROXY in the environment"
		default:
			proxy, from = n.Env.Any, "PROXY in the environment"
		}
	}
	noProxy, noFrom := n.NoProxy, n.where("noproxy")
	if noProxy == "" {
		noProxy, noFrom = n.Env.No, "NO_PROXY in the environment"
	}
	if proxy == "" {
		return nil, "", nil
	}
	if isNoProxy(u, noProxy) {
		return nil, fmt.Sprintf("directly: %s (%s) names %s", noProxy, noFrom, u.Hostname()), nil
	}
	p, err := url.Parse(proxy)
	if err != nil || p.Host == "" {
		return nil, "", fmt.Errorf("the proxy %q (%s) is not a URL", proxy, from)
	}
	switch p.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return nil, "", fmt.Errorf("the proxy %s (%s) is a %s proxy, which the toolkit cannot use (http, https and socks5 it can)", redactURL(p), from, p.Scheme)
	}
	return p, fmt.Sprintf("through the proxy %s (%s)", redactURL(p), from), nil
}

func (n *Network) where(keys ...string) string {
	for _, k := range keys {
		if w := n.Where[k]; w != "" {
			return "npm's " + k + ", from " + w
		}
	}
	return "npm's " + keys[len(keys)-1]
}

// isNoProxy is @npmcli/agent's: u's host matches an entry of noProxy when
// the entry's dot-separated labels are the last labels of the host.
func isNoProxy(u *url.URL, noProxy string) bool {
	host := strings.Split(u.Hostname(), ".")
	for _, no := range strings.Split(noProxy, ",") {
		var labels []string
		for _, l := range strings.Split(strings.TrimSpace(no), ".") {
			if l != "" {
				labels = append(labels, l)
			}
		}
		if len(labels) == 0 || len(labels) > len(host) {
			continue
		}
		match := true
		for i := range labels {
			if labels[len(labels)-1-i] != host[len(host)-1-i] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// redactURL is u without credentials.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// Redact returns a URL without the credentials it may carry, for messages.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return redactURL(u)
}

// HTTPClient returns an HTTP client that reaches registries as npm does
// (proxies, certificate authorities, strict-ssl) and never sends
// credentials anywhere but where they were meant to go (see
// CheckRedirect).
func (n *Network) HTTPClient() (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = func(r *http.Request) (*url.URL, error) { return n.ProxyFor(r.URL) }
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if n != nil && len(n.CA) > 0 {
		pool := x509.NewCertPool()
		for _, pem := range n.CA {
			// npm's ca in an .npmrc writes newlines as \n.
			pool.AppendCertsFromPEM([]byte(strings.ReplaceAll(pem, `\n`, "\n")))
		}
		if len(pool.Subjects()) == 0 { //nolint:staticcheck // only to tell an empty pool
			return nil, fmt.Errorf("npm's certificate authorities (%s) hold no certificate that can be read", n.where("cafile", "ca"))
		}
		tlsConfig.RootCAs = pool
	}
	if n != nil && n.Insecure {
		tlsConfig.InsecureSkipVerify = true
	}
	tr.TLSClientConfig = tlsConfig
	return &http.Client{Transport: tr, CheckRedirect: CheckRedirect}, nil
}

// CheckRedirect follows redirects as Go does, but keeps credentials only
// for the very origin they were meant for: a redirect to another host or
// port, or from https to http, drops Authorization (Go keeps it for
// subdomains and other ports; npm does not).
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if !SameOrigin(via[0].URL, req.URL) {
		req.Header.Del("Authorization")
		req.Header.Del("Cookie")
		req.Header.Del("Proxy-Authorization")
	}
	return nil
}

// SameOrigin reports whether b is a's scheme, host and port (default ports
// made explicit); an https URL is never the origin of an http one.
func SameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		switch strings.ToLower(u.Scheme) {
		case "https":
			return "443"
		case "http":
			return "80"
		}
		return ""
	}
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

// RedirectError is a redirect to another origin that was refused, because
// the request carried a credential for the first one only.
type RedirectError struct{ From, To string }

func (e *RedirectError) Error() string {
	return fmt.Sprintf("the registry redirected %s to %s, another host, port or scheme; refused: the credential it carries is for %s only", e.From, e.To, e.From)
}

// NoRedirects returns hc refusing every redirect to another origin (for
// requests that must reach one host only, such as the OIDC token
// exchange, whose ID token is minted for that registry).
func NoRedirects(hc *http.Client) *http.Client {
	c := *hc
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !SameOrigin(via[0].URL, req.URL) {
			return &RedirectError{From: redactURL(via[0].URL), To: redactURL(req.URL)}
		}
		return CheckRedirect(req, via)
	}
	return &c
}
