package registry

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/agent-facets/release/internal/command"
)

type proxyCase struct {
	URL     string   `json:"url"`
	Proxy   string   `json:"proxy"`
	NoProxy string   `json:"noProxy"`
	Env     EnvProxy `json:"env"`
}

var proxyCases = []proxyCase{
	{URL: "http://127.0.0.1:4873/x"},
	{URL: "http://127.0.0.1:4873/x", Proxy: "http://127.0.0.1:3128/"},
	{URL: "https://127.0.0.1:4873/x", Proxy: "http://127.0.0.1:3128/"},
	{URL: "https://127.0.0.1:4873/x", Env: EnvProxy{HTTP: "http://127.0.0.1:1/"}},
	{URL: "https://127.0.0.1:4873/x", Env: EnvProxy{HTTPS: "http://127.0.0.1:2/", HTTP: "http://127.0.0.1:1/"}},
	{URL: "http://127.0.0.1:4873/x", Env: EnvProxy{HTTPS: "http://127.0.0.1:2/", HTTP: "http://127.0.0.1:1/"}},
	{URL: "http://127.0.0.1:4873/x", Env: EnvProxy{HTTP: "http://127.0.0.1:1/", Any: "http://127.0.0.1:3/"}},
	{URL: "http://127.0.0.1:4873/x", Env: EnvProxy{Any: "http://127.0.0.1:3/"}},
	{URL: "http://127.0.0.1:4873/x", Proxy: "http://127.0.0.1:3128/", NoProxy: "127.0.0.1"},
	{URL: "http://127.0.0.1:4873/x", Proxy: "http://127.0.0.1:3128/", NoProxy: "0.1"},
	{URL: "http://127.0.0.1:4873/x", Proxy: "http://127.0.0.1:3128/", NoProxy: "27.0.0.1"},
	{URL: "http://a.localhost:4873/x", Proxy: "http://127.0.0.1:3128/", NoProxy: "localhost"},
	{URL: "http://localhost:4873/x", Proxy: "http://127.0.0.1:3128/", NoProxy: " other , localhost "},
	{URL: "http://localhost:4873/x", Proxy: "http://127.0.0.1:3128/", NoProxy: "a.localhost"},
	{URL: "http://localhost:4873/x", Proxy: "http://127.0.0.1:3128/", Env: EnvProxy{No: "localhost"}},
	{URL: "http://localhost:4873/x", Proxy: "http://127.0.0.1:3128/", NoProxy: ".localhost"},
}

// TestProxyForAgreesWithNpm checks ProxyFor against npm's own agent
// (@npmcli/agent's getProxy), which reads the environment's proxies.
func TestProxyForAgreesWithNpm(t *testing.T) {
	run := &command.Runner{Environ: os.Environ()}
	root, err := run.Output(t.Context(), command.Cmd{Name: "npm", Args: []string{"root", "-g"}})
	if err != nil {
		t.Skipf("no npm: %v", err)
	}
	npmRoot := filepath.Join(strings.TrimSpace(root), "npm")
	script := `
const path = require('node:path')
const agent = path.dirname(require.resolve('@npmcli/agent', { paths: [process.argv[1]] }))
const out = []
for (const c of JSON.parse(process.argv[2])) {
  for (const k of ['https_proxy', 'http_proxy', 'proxy', 'no_proxy', 'HTTPS_PROXY', 'HTTP_PROXY', 'PROXY', 'NO_PROXY']) delete process.env[k]
  const e = { https_proxy: c.env.HTTPS, http_proxy: c.env.HTTP, proxy: c.env.Any, no_proxy: c.env.No }
  for (const [k, v] of Object.entries(e)) if (v) process.env[k] = v
  delete require.cache[path.join(agent, 'proxy.js')]
  const { getProxy } = require(path.join(agent, 'proxy.js'))
  const p = getProxy(c.url, { proxy: c.proxy, noProxy: c.noProxy })
  out.push(p ? p.href : '')
}
console.log(JSON.stringify(out))`
	cases, _ := json.Marshal(proxyCases)
	out, err := run.Output(t.Context(), command.Cmd{Name: "node", Args: []string{"-e", script, npmRoot, string(cases)}})
	if err != nil {
		t.Skipf("npm's agent: %v", err)
	}
	var want []string
	if err := json.Unmarshal([]byte(out), &want); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for i, c := range proxyCases {
		n := &Network{Proxy: c.Proxy, NoProxy: c.NoProxy, Env: c.Env}
		u, _ := url.Parse(c.URL)
		p, err := n.ProxyFor(u)
		got := ""
		if p != nil {
			got = p.String()
		}
		if err != nil || got != want[i] {
			t.Errorf("%+v: ProxyFor = %q, %v; npm's agent: %q", c, got, err, want[i])
		}
	}
}

func TestNetworkWithoutProxies(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:1/")
	if p, err := (*Network)(nil).ProxyFor(u); p != nil || err != nil {
		t.Errorf("nil network: %v %v", p, err)
	}
	if _, err := (&Network{Proxy: "ftp://127.0.0.1:21/"}).ProxyFor(u); err == nil || !strings.Contains(err.Error(), "cannot use") {
		t.Errorf("ftp proxy: %v", err)
	}
	if _, err := (&Network{CA: []string{"not a certificate"}}).HTTPClient(); err == nil {
		t.Error("an unreadable ca was accepted")
	}
}

// catcher records the Authorization header of every request it gets.
func catcher(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
		fmt.Fprint(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
}

func redirector(to string, tls bool) *httptest.Server {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to+r.URL.Path, http.StatusTemporaryRedirect)
	})
	if tls {
		return httptest.NewTLSServer(h)
	}
	return httptest.NewServer(h)
}

// TestCredentialsStayWithTheirOrigin: Go's own client keeps Authorization
// on a redirect to another port of the same host (and to subdomains, and
// from https to http); the toolkit's drops it, and the token exchange's
// refuses the redirect outright.
func TestCredentialsStayWithTheirOrigin(t *testing.T) {
	catch, seen := catcher(t)
	plain := redirector(catch.URL, false) // same host, another port
	defer plain.Close()
	secure := redirector(catch.URL, true) // https to http
	defer secure.Close()
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: secure.Certificate().Raw}))
	hc, err := (&Network{CA: []string{caPEM}}).HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	send := func(c *http.Client, u string) error {
		req, _ := http.NewRequest(http.MethodPost, u+"/-/npm/v1/oidc/token/exchange/package/x", nil)
		req.Header.Set("Authorization", "Bearer id-token-for-the-registry-only")
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	// What Go does by itself, which the toolkit used: the credential follows.
	if err := send(http.DefaultClient, plain.URL); err != nil {
		t.Fatal(err)
	}
	if got := seen(); len(got) != 1 || got[0] == "" {
		t.Fatalf("Go's default client no longer forwards Authorization to another port (%q): this test shows nothing", got)
	}
	for _, from := range []string{plain.URL, secure.URL} {
		before := len(seen())
		if err := send(hc, from); err != nil {
			t.Fatal(err)
		}
		if got := seen()[before:]; len(got) != 1 || got[0] != "" {
			t.Errorf("redirect from %s: the other origin got Authorization %q", from, got)
		}
		before = len(seen())
		err := send(NoRedirects(hc), from)
		var re *RedirectError
		if !errors.As(err, &re) || len(seen()) != before {
			t.Errorf("token exchange redirected from %s: %v; the other origin got %d requests", from, err, len(seen())-before)
		}
	}
	// Subdomains are other origins too.
	via, _ := http.NewRequest(http.MethodGet, "https://localhost/x", nil)
	req, _ := http.NewRequest(http.MethodGet, "https://sub.localhost/x", nil)
	req.Header.Set("Authorization", "Bearer t")
	if err := CheckRedirect(req, []*http.Request{via}); err != nil || req.Header.Get("Authorization") != "" {
		t.Errorf("subdomain: %v, Authorization %q", err, req.Header.Get("Authorization"))
	}
	same, _ := http.NewRequest(http.MethodGet, "https://localhost:443/y", nil)
	same.Header.Set("Authorization", "Bearer t")
	if err := CheckRedirect(same, []*http.Request{via}); err != nil || same.Header.Get("Authorization") == "" {
		t.Errorf("same origin lost Authorization: %v", err)
	}
}
