package status_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/seed"
	"github.com/agent-facets/release/internal/status"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// npmrc writes a private npm configuration of the given lines (and an
// empty global one) and returns the environment that makes npm use it,
// with no proxy from the environment unless extra sets one.
func npmrc(t *testing.T, lines []string, extra ...string) []string {
	t.Helper()
	dir := t.TempDir()
	user, global := filepath.Join(dir, "npmrc"), filepath.Join(dir, "global-npmrc")
	text := strings.Join(append(lines, "fund=false", "audit=false", "update-notifier=false"), "\n") + "\n"
	if err := os.WriteFile(user, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(global, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"NPM_CONFIG_USERCONFIG=" + user, "NPM_CONFIG_GLOBALCONFIG=" + global, "NPM_CONFIG_CACHE=" + filepath.Join(dir, "cache"),
		"npm_config_userconfig=" + user, "npm_config_globalconfig=" + global, "npm_config_cache=" + filepath.Join(dir, "cache"),
		"NPM_CONFIG_REGISTRY=", "npm_config_registry=",
		"CI=", "CIRCLECI=", "GITHUB_ACTIONS=", "GITLAB_CI=", "NPM_ID_TOKEN=",
		"HTTPS_PROXY=", "https_proxy=", "HTTP_PROXY=", "http_proxy=", "PROXY=", "proxy=", "NO_PROXY=", "no_proxy=", "NOPROXY="}
	return append(env, extra...)
}

func authLine(hostport, token string) string { return "//" + hostport + "/:_authToken=" + token }

// TestNpmNetworkSettingsAreHonoured: npm's proxy, https-proxy, noproxy,
// cafile, strict-ssl and fetch-timeout (and HTTPS_PROXY/HTTP_PROXY) reach
// the toolkit's own reads, so that status (and publishing) reads the
// registry the way `npm view` does; where it cannot, the printed message
// says why, proxy and setting included. The registries here are reachable
// through the proxy only: their URLs name closed ports the proxy routes.
func TestNpmNetworkSettingsAreHonoured(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	plain := localregistrytest.Start(t)
	secure := localregistrytest.Start(t, localregistry.WithTLS())
	plainHost := strings.TrimSuffix(strings.TrimPrefix(plain.URL, "http://"), "/")
	secureHost := strings.TrimSuffix(strings.TrimPrefix(secure.URL, "https://"), "/")
	hidden, hiddenTLS := closedPort(t), closedPort(t)
	proxy, err := localregistry.StartProxy(map[string]string{hidden: plainHost, hiddenTLS: secureHost})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	token, tlsToken := plain.AddUser(t, "maintainer"), secure.AddUser(t, "maintainer")

	// Seed both registries directly, then build the demo CLI once.
	cfg := toolkittest.DemoConfig(t, nil)
	direct, out := toolkittest.Env(t, cfg, plain.NpmEnv(t, token)...)
	if _, err := seed.Seed(ctx, direct, direct.CLIPackages()[:1], seed.Options{}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	directTLS, out := toolkittest.Env(t, cfg, npmrc(t, []string{"registry=" + secure.URL, "cafile=" + secure.CAFile, authLine(secureHost, tlsToken)})...)
	if _, err := seed.Seed(ctx, directTLS, directTLS.CLIPackages()[:1], seed.Options{}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	toolkittest.BuildDemo(t, cfg, "1.2.3", func(e *toolkit.Env) error {
		_, err := build.Build(ctx, e, e.Cfg.PlatformTargets(), "1.2.3")
		return err
	})

	viaProxy := "http://" + hidden + "/"
	viaProxyTLS := "https://" + hiddenTLS + "/"
	for _, tt := range []struct {
		name  string
		env   []string
		fails string   // "" when every row must be read
		want  []string // in the printed status
	}{
		{name: "proxy in .npmrc", env: npmrc(t, []string{"registry=" + viaProxy, "proxy=" + proxy.URL})},
		{name: "HTTP_PROXY in the environment", env: npmrc(t, []string{"registry=" + viaProxy}, "HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL)},
		{name: "https through the proxy, with npm's cafile", env: npmrc(t, []string{"registry=" + viaProxyTLS, "https-proxy=" + proxy.URL, "cafile=" + secure.CAFile})},
		{name: "https with strict-ssl off", env: npmrc(t, []string{"registry=" + viaProxyTLS, "https-proxy=" + proxy.URL, "strict-ssl=false"})},
		{name: "HTTPS_PROXY in the environment, ca inline", env: npmrc(t, []string{"registry=" + viaProxyTLS, "ca=" + pemLine(t, secure.CAFile)}, "HTTPS_PROXY="+proxy.URL, "https_proxy="+proxy.URL)},
		{name: "https without the registry's CA", env: npmrc(t, []string{"registry=" + viaProxyTLS, "https-proxy=" + proxy.URL}),
			fails: "TLS failed", want: []string{"authority this machine does not trust", "cafile=", "through the proxy " + proxy.URL + " (npm's https-proxy, from user config"}},
		{name: "noproxy names the registry", env: npmrc(t, []string{"registry=" + viaProxy, "proxy=" + proxy.URL, "noproxy=127.0.0.1"}),
			fails: "connection refused", want: []string{"directly: 127.0.0.1 (npm's noproxy, from user config"}},
		{name: "the proxy is down", env: npmrc(t, []string{"registry=" + viaProxy, "proxy=http://" + closedPort(t) + "/"}),
			fails: "cannot reach the proxy", want: []string{"npm's proxy, from user config"}},
		{name: "fetch-timeout", env: npmrc(t, []string{"registry=" + plain.URL, "fetch-timeout=300"}),
			fails: "no answer within 300ms", want: []string{"npm's fetch-timeout, from user config"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, out := toolkittest.Env(t, cfg, tt.env...)
			e.Reg.MaxElapsed = 2 * time.Second
			if tt.name == "fetch-timeout" {
				plain.Inject(localregistry.Fault{Method: "GET", Package: "agent-facets", Delay: time.Minute, Times: 100})
			}
			marks := []int{plain.Mark(), secure.Mark()}
			proxied := len(proxy.Requests())
			r, err := status.Read(ctx, e, "1.2.3")
			if err != nil {
				t.Fatal(err)
			}
			status.Print(e.Out, r)
			var failed []string
			for _, row := range r.Packages {
				if row.Action == outcome.Failed {
					failed = append(failed, row.Package+": "+row.Error)
				}
			}
			switch {
			case tt.fails == "" && len(failed) > 0:
				t.Errorf("rows could not be read: %v\n%s", failed, out)
			case tt.fails != "" && (len(failed) == 0 || !strings.Contains(out.String(), tt.fails)):
				t.Errorf("want rows failing with %q:\n%s", tt.fails, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("the printed status lacks %q:\n%s", w, out)
				}
			}
			if tt.fails == "" && strings.Contains(tt.name, "proxy") && len(proxy.Requests()) == proxied {
				t.Error("nothing went through the proxy")
			}
			if tt.fails == "" {
				// npm itself reads the same registry the same way.
				if _, err := e.NPM.Run(ctx, nil, "view", "agent-facets", "version"); err != nil {
					t.Errorf("npm view: %v", err)
				}
			}
			plain.NoWrites(t, marks[0])
			secure.NoWrites(t, marks[1])
			toolkittest.NoLeaks(t, []string{token, tlsToken}, []string{out.String()})
		})
	}

	// Publishing goes through the proxy too: the toolkit's checks and
	// verification, and npm's PUT.
	e, out := toolkittest.Env(t, cfg, npmrc(t, []string{"registry=" + viaProxy, "proxy=" + proxy.URL, authLine(hidden, token)})...)
	proxied := len(proxy.Requests())
	if _, err := publish.Platform(ctx, e, "linux-x64", "1.2.3", publish.Options{Verify: publish.Verifier{Min: 100 * time.Millisecond}}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var puts, gets int
	for _, r := range proxy.Requests()[proxied:] {
		switch {
		case r.Method == "PUT" && r.Target == hidden:
			puts++
		case r.Method == "GET" && r.Target == hidden:
			gets++
		}
	}
	if puts != 1 || gets == 0 {
		t.Errorf("through the proxy: %d PUT, %d GET", puts, gets)
	}
	if !plain.HasVersion(t, "@agent-facets/cli-linux-x64", "1.2.3") {
		t.Error("not published")
	}
	toolkittest.NoLeaks(t, []string{token, tlsToken}, []string{out.String()}, cfg.Path(cfg.Dist.Dir))
}

// pemLine is a PEM file as npm's ca= takes it in an .npmrc: one line, with
// \n for newlines.
func pemLine(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%q", strings.TrimSpace(string(data)))
}
