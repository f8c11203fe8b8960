package localregistry_test

import (
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
)

func TestStartCost(t *testing.T) {
	t.Parallel()
	start := time.Now()
	reg := localregistrytest.Start(t)
	t.Logf("Start took %s", time.Since(start))
	if !strings.HasPrefix(reg.URL, "http://127.0.0.1:") || !strings.HasSuffix(reg.URL, "/") {
		t.Fatalf("URL = %q, want http://127.0.0.1:PORT/", reg.URL)
	}
	if got := reg.Audience(); got != "npm:127.0.0.1" {
		t.Fatalf("Audience() = %q", got)
	}
	resp, _ := mustHTTP(t, http.MethodGet, reg.URL+"-/ping", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ping through the front: %d", resp.StatusCode)
	}
}

func TestPublishAndReadBack(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "alice")
	const name = "@testreg/hello"
	publish(t, reg, token, name, "1.0.0")

	for _, abbreviated := range []bool{false, true} {
		status, p := getPackument(t, reg, name, abbreviated, "")
		if status != http.StatusOK || p.Name != name || p.DistTags["latest"] != "1.0.0" || p.Versions["1.0.0"] == nil {
			t.Fatalf("packument (abbreviated=%v): status %d, %+v", abbreviated, status, p)
		}
	}
	// npm reads it back, through the front, with no token.
	out := mustNpm(t, t.TempDir(), reg.NpmEnv(t, ""), "view", name+"@1.0.0", "version")
	if strings.TrimSpace(out) != "1.0.0" {
		t.Fatalf("npm view printed %q, want 1.0.0", out)
	}
	if n := reg.PublishCount(name); n != 1 {
		t.Fatalf("PublishCount = %d, want 1", n)
	}
	if !reg.HasVersion(t, name, "1.0.0") || reg.HasVersion(t, name, "9.9.9") {
		t.Fatal("HasVersion disagrees with what was published")
	}

	// Publishing the same version again is refused and not counted.
	res := runNpm(t, makePackage(t, name, "1.0.0"), reg.NpmEnv(t, token), "publish", "--access", "public")
	if res.err == nil || !strings.Contains(res.stderr, "cannot publish over") {
		t.Fatalf("republish: err=%v stderr=%s", res.err, res.stderr)
	}
	if n := reg.PublishCount(name); n != 1 {
		t.Fatalf("PublishCount after refused republish = %d, want 1", n)
	}

	// A missing package answers like npm's registry.
	status, p := getPackument(t, reg, "@testreg/missing", false, "")
	if status != http.StatusNotFound || p.Error != "Not found" {
		t.Fatalf("missing package: %d %+v", status, p)
	}

	var puts int
	for _, rq := range reg.Requests() {
		if rq.Method == http.MethodPut && rq.Package == name && rq.Status == http.StatusCreated {
			puts++
		}
	}
	if puts != 1 {
		t.Fatalf("Requests() shows %d successful PUTs of %s, want 1: %+v", puts, name, reg.Requests())
	}
}

func TestStopRefusesConnections(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	reg.Stop()
	_, _, err := httpDo(t, http.MethodGet, reg.URL+"-/ping", nil, nil)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("after Stop: err = %v, want connection refused", err)
	}
	reg.Stop() // idempotent
}
