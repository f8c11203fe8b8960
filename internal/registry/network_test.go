package registry

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
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
