package localregistry_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/registry"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "owner")
	const pkg = "@testreg/faulty"
	publish(t, reg, token, pkg, "1.0.0")
	url := reg.URL + registry.EscapeName(pkg)

	t.Run("429 with Retry-After, then success", func(t *testing.T) {
		reg.Inject(localregistry.Fault{Method: "GET", Package: pkg, Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})
		resp, data := mustHTTP(t, http.MethodGet, url, nil, nil)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
			t.Fatalf("first GET: %d Retry-After=%q %s", resp.StatusCode, resp.Header.Get("Retry-After"), data)
		}
		resp, _ = mustHTTP(t, http.MethodGet, url, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("second GET: %d, want 200", resp.StatusCode)
		}
	})

	t.Run("503 twice, only for the matching package", func(t *testing.T) {
		reg.Inject(localregistry.Fault{PathPrefix: "/@testreg/", Package: pkg, Times: 2, Status: http.StatusServiceUnavailable})
		other, _ := mustHTTP(t, http.MethodGet, reg.URL+"-/ping", nil, nil)
		if other.StatusCode != http.StatusOK {
			t.Fatalf("unrelated request disturbed: %d", other.StatusCode)
		}
		var got []int
		for range 3 {
			resp, _ := mustHTTP(t, http.MethodGet, url, nil, nil)
			got = append(got, resp.StatusCode)
		}
		if !slices.Equal(got, []int{503, 503, 200}) {
			t.Fatalf("statuses %v, want [503 503 200]", got)
		}
	})

	t.Run("delay", func(t *testing.T) {
		reg.Inject(localregistry.Fault{Method: "GET", Package: pkg, Delay: 300 * time.Millisecond})
		start := time.Now()
		resp, _ := mustHTTP(t, http.MethodGet, url, nil, nil)
		if took := time.Since(start); resp.StatusCode != http.StatusOK || took < 300*time.Millisecond {
			t.Fatalf("delayed GET: %d after %s", resp.StatusCode, took)
		}
	})

	t.Run("connection reset", func(t *testing.T) {
		reg.Inject(localregistry.Fault{Method: "GET", Package: pkg, Reset: true})
		// A fresh connection: Go's transport silently retries an idempotent
		// request once when a reused keep-alive connection breaks.
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			t.Fatalf("GET answered %d, want a transport error", resp.StatusCode)
		} else if !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "EOF") {
			t.Fatalf("GET failed with %v, want a reset connection", err)
		}
		resp, _ := mustHTTP(t, http.MethodGet, url, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET after the reset: %d", resp.StatusCode)
		}
	})

	t.Run("npm sees a failed publish and nothing is published", func(t *testing.T) {
		reg.Inject(localregistry.Fault{Method: "PUT", Package: pkg, Status: http.StatusInternalServerError})
		res := runNpm(t, makePackage(t, pkg, "1.1.0"), reg.NpmEnv(t, token), "publish", "--fetch-retries=0")
		if res.err == nil || !strings.Contains(res.stderr, "500") {
			t.Fatalf("publish through a 500: err=%v\n%s", res.err, res.stderr)
		}
		if reg.HasVersion(t, pkg, "1.1.0") || reg.PublishCount(pkg) != 1 {
			t.Fatalf("publish through a 500 landed (count %d)", reg.PublishCount(pkg))
		}
	})

	var faulted int
	for _, rq := range reg.Requests() {
		if rq.Fault {
			faulted++
		}
	}
	if faulted != 6 {
		t.Fatalf("%d requests marked as faulted, want 6", faulted)
	}
}

func TestHideVersion(t *testing.T) {
	t.Parallel()
	clock := localregistrytest.NewClock()
	reg := localregistrytest.Start(t, localregistry.WithClock(clock.Now))
	token := reg.AddUser(t, "owner")
	const pkg = "@testreg/lagging"
	publish(t, reg, token, pkg, "1.0.0")

	const lag = time.Hour
	reg.HideVersion(pkg, "1.1.0", lag) // not published yet: the clock starts at the publish
	clock.Advance(2 * lag)             // time before the publish does not count
	publish(t, reg, token, pkg, "1.1.0")

	for _, abbreviated := range []bool{false, true} {
		status, p := getPackument(t, reg, pkg, abbreviated, "")
		if status != 200 || p.Versions["1.1.0"] != nil || p.DistTags["latest"] != "1.0.0" {
			t.Fatalf("while hidden (abbreviated=%v): %d latest=%s versions=%v", abbreviated, status, p.DistTags["latest"], sortedKeys(p.Versions))
		}
	}
	if resp, _ := mustHTTP(t, http.MethodGet, reg.URL+registry.EscapeName(pkg)+"/1.1.0", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /<pkg>/1.1.0 while hidden: %d, want 404", resp.StatusCode)
	}
	if _, p := getPackument(t, reg, pkg, false, "?write=true"); p.Versions["1.1.0"] == nil {
		t.Fatal("?write=true must see the version at once")
	}
	if !reg.HasVersion(t, pkg, "1.1.0") {
		t.Fatal("the version is stored even while hidden")
	}

	clock.Advance(lag - 10*time.Minute) // the real time the test takes stays far below the margin
	if _, p := getPackument(t, reg, pkg, true, ""); p.Versions["1.1.0"] != nil {
		t.Fatal("visible before the lag has passed")
	}
	clock.Advance(10 * time.Minute)
	status, p := getPackument(t, reg, pkg, true, "")
	if status != 200 || p.Versions["1.1.0"] == nil || p.DistTags["latest"] != "1.1.0" {
		t.Fatalf("after the lag: %d latest=%s versions=%v", status, p.DistTags["latest"], sortedKeys(p.Versions))
	}

	// A first version hidden from the start: the package does not exist yet.
	const fresh = "testreg-fresh"
	publish(t, reg, token, fresh, "0.1.0")
	reg.HideVersion(fresh, "0.1.0", time.Hour) // already published: the clock starts now
	if status, p := getPackument(t, reg, fresh, false, ""); status != http.StatusNotFound || p.Error != "Not found" {
		t.Fatalf("hidden only version: %d %+v", status, p)
	}
	res := runNpm(t, t.TempDir(), reg.NpmEnv(t, ""), "view", fresh, "version")
	if res.err == nil || !strings.Contains(res.stderr, "E404") {
		t.Fatalf("npm view of a hidden package: err=%v\n%s", res.err, res.stderr)
	}
}

func TestHideUntilRevealed(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "owner")
	const pkg = "@testreg/held"
	publish(t, reg, token, pkg, "1.0.0")
	reveal := reg.Hide(pkg, "1.1.0")
	publish(t, reg, token, pkg, "1.1.0")
	if _, p := getPackument(t, reg, pkg, true, ""); p.Versions["1.1.0"] != nil || p.DistTags["latest"] != "1.0.0" {
		t.Fatalf("hidden version served: latest=%s versions=%v", p.DistTags["latest"], sortedKeys(p.Versions))
	}
	reveal()
	if _, p := getPackument(t, reg, pkg, true, ""); p.Versions["1.1.0"] == nil || p.DistTags["latest"] != "1.1.0" {
		t.Fatalf("revealed version not served: latest=%s versions=%v", p.DistTags["latest"], sortedKeys(p.Versions))
	}
}

func TestAwaitSeesRequestsAsTheyArrive(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	const pkg = "testreg-awaited"
	from := len(reg.Requests())
	// The answer is held until the test has seen the request arrive.
	reg.Inject(localregistry.Fault{Method: "GET", Package: pkg, Delay: time.Hour})
	done := make(chan int, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, reg.URL+pkg, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			done <- resp.StatusCode
			return
		}
		done <- 0
	}()
	wait, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	i, rq, err := reg.Await(wait, from, func(r localregistry.Request) bool { return r.Package == pkg && r.InFlight })
	if err != nil {
		t.Fatal(err)
	}
	if rq.Method != "GET" || i < from {
		t.Fatalf("awaited %d %+v", i, rq)
	}
	cancel() // the client gives up; the front logs the end of the request
	if _, rq, err = reg.Await(wait, i, func(r localregistry.Request) bool { return r.Package == pkg && !r.InFlight }); err != nil || !rq.Fault {
		t.Fatalf("end of the request: %+v, %v", rq, err)
	}
	<-done
}
