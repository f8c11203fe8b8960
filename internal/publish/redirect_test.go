package publish_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

// TestNoCredentialFollowsARedirect: a registry (or something in front of
// it) that redirects the OIDC token exchange, or GitHub's token service
// that redirects its request, to another port of the same host used to get
// the credential sent along (Go keeps Authorization for the same host
// name). The exchange's redirect is refused and never followed; the token
// service's is followed without the credential.
func TestNoCredentialFollowsARedirect(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	catch := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" Authorization="+r.Header.Get("Authorization"))
		mu.Unlock()
		fmt.Fprint(w, `{}`)
	}))
	defer catch.Close()
	caught := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }

	reg, e, out := oidcRelease(t, goodClaims)
	mark := reg.Mark()
	reg.Inject(localregistry.Fault{Method: "POST", PathPrefix: "/-/npm/v1/oidc/token/exchange/", Location: catch.URL, Times: 100})
	o := fastOpts()
	o.Auth = publish.NewOIDC(e)
	_, err := publish.Platform(ctx(t), e, "linux-arm64", ver, o)
	if err == nil || !strings.Contains(err.Error(), "redirected") || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if c := caught(); len(c) > 0 {
		t.Errorf("the redirect of the token exchange was followed: %v", c)
	}
	reg.NoWrites(t, mark)
	assertNoSecrets(t, out.String(), err.Error())

	// GitHub Actions: the token service's redirect is followed without the
	// request token.
	tp := e.Cfg.TrustedPublisher
	gh, ghOut := toolkittest.Env(t, e.Cfg, append(reg.NpmEnv(t, ""), append(reg.GitHubActionsEnv(goodClaims(tp)), "CI=true")...)...)
	reg.Inject(localregistry.Fault{Method: "GET", PathPrefix: "/-/localregistry/id-token", Location: catch.URL, Times: 100})
	mark = reg.Mark()
	o.Auth = publish.NewOIDC(gh)
	_, err = publish.Platform(ctx(t), gh, "linux-arm64", ver, o)
	if err == nil {
		t.Fatalf("published\n%s", ghOut)
	}
	c := caught()
	if len(c) == 0 {
		t.Fatalf("the token service's redirect was not followed at all: %v", err)
	}
	for _, r := range c {
		if !strings.HasSuffix(r, "Authorization=") {
			t.Errorf("a credential reached the other port: %s", r)
		}
	}
	reg.NoWrites(t, mark)
	assertNoSecrets(t, ghOut.String(), err.Error())
}
