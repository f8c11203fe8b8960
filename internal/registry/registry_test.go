package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const packument = `{"name":"@s/p","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"@s/p","version":"1.0.0","dist":{"integrity":"sha512-abc","shasum":"def","tarball":"x"}}}}`

func fastClient() *Client {
	return &Client{InitialInterval: 10 * time.Millisecond, MaxElapsed: 5 * time.Second, AttemptTimeout: 500 * time.Millisecond}
}

func TestErrorClasses(t *testing.T) {
	tests := []struct {
		name      string
		handler   func(n int32, w http.ResponseWriter, r *http.Request)
		wantState State
		wantErr   string // empty: no error
		minCalls  int32
	}{
		{"ok", func(n int32, w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, packument) }, Published, "", 1},
		{"404 is missing", func(n int32, w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(404)
			fmt.Fprint(w, `{"error":"Not found"}`)
		}, PackageMissing, "", 1},
		{"429 with Retry-After then ok", func(n int32, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(429)
				return
			}
			fmt.Fprint(w, packument)
		}, Published, "", 2},
		{"503 then ok", func(n int32, w http.ResponseWriter, r *http.Request) {
			if n <= 2 {
				w.WriteHeader(503)
				return
			}
			fmt.Fprint(w, packument)
		}, Published, "", 3},
		{"503 forever is an error", func(n int32, w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(503)
			fmt.Fprint(w, `{"message":"upstream down"}`)
		}, 0, "registry answered 503 Service Unavailable: upstream down", 2},
		{"403 is an error, not retried", func(n int32, w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(403)
			fmt.Fprint(w, `{"error":"forbidden"}`)
		}, 0, "registry answered 403 Forbidden: forbidden", 1},
		{"garbage JSON", func(n int32, w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `<html>oops`) }, 0, "malformed packument", 1},
		{"timeout", func(n int32, w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		}, 0, "context deadline exceeded", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if got := r.Header.Get("Accept"); !strings.HasPrefix(got, "application/vnd.npm.install-v1+json") {
					t.Errorf("Accept = %q", got)
				}
				if r.URL.EscapedPath() != "/@s%2fp" {
					t.Errorf("path = %q", r.URL.EscapedPath())
				}
				tt.handler(calls.Add(1), w, r)
			}))
			defer srv.Close()
			c := fastClient()
			if tt.name == "timeout" {
				c.MaxElapsed = 1200 * time.Millisecond
				c.AttemptTimeout = 300 * time.Millisecond
			}
			if tt.name == "503 forever is an error" {
				c.MaxElapsed = 300 * time.Millisecond
			}
			res := c.Check(context.Background(), srv.URL+"/", Spec{Name: "@s/p", Version: "1.0.0"}, false)
			if tt.wantErr == "" {
				if res.Err != nil {
					t.Fatalf("unexpected error: %v", res.Err)
				}
				if res.State != tt.wantState {
					t.Errorf("state = %v, want %v", res.State, tt.wantState)
				}
				if res.State == Published && res.Integrity != "sha512-abc" {
					t.Errorf("integrity = %q", res.Integrity)
				}
			} else {
				if res.Err == nil {
					t.Fatalf("want error containing %q, got state %v", tt.wantErr, res.State)
				}
				if !strings.Contains(res.Err.Error(), tt.wantErr) {
					t.Errorf("error %q does not contain %q", res.Err, tt.wantErr)
				}
				if IsNotFound(res.Err) {
					t.Error("an error was reported as not-found")
				}
			}
			if calls.Load() < tt.minCalls {
				t.Errorf("calls = %d, want at least %d", calls.Load(), tt.minCalls)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	var first time.Time
	var gap time.Duration
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(429)
			return
		}
		gap = time.Since(first)
		fmt.Fprint(w, packument)
	}))
	defer srv.Close()
	res := fastClient().Check(context.Background(), srv.URL, Spec{Name: "@s/p"}, false)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if gap < 2*time.Second {
		t.Errorf("retried after %v, before the 2 s Retry-After", gap)
	}
}

func TestRetryAfterBeyondDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(429)
	}))
	defer srv.Close()
	res := fastClient().Check(context.Background(), srv.URL, Spec{Name: "@s/p"}, false)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "asks to wait 1h0m0s before retrying, beyond this run's deadline") {
		t.Fatalf("err = %v", res.Err)
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	start := time.Now()
	res := fastClient().Check(context.Background(), "http://"+addr+"/", Spec{Name: "agent-facets"}, false)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "cannot reach the registry (connection refused)") {
		t.Fatalf("err = %v", res.Err)
	}
	if IsNotFound(res.Err) {
		t.Error("refused connection reported as not found")
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("a refused connection was retried for %v", time.Since(start))
	}
}

func TestVersionMissingAndFresh(t *testing.T) {
	var query atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query.Store(r.URL.RawQuery)
		fmt.Fprint(w, packument)
	}))
	defer srv.Close()
	res := fastClient().Check(context.Background(), srv.URL, Spec{Name: "@s/p", Version: "2.0.0"}, true)
	if res.Err != nil || res.State != VersionMissing || res.Latest != "1.0.0" {
		t.Fatalf("got %+v", res)
	}
	if query.Load() != "write=true" {
		t.Errorf("fresh read sent query %q", query.Load())
	}
}

func TestCheckAllBoundsParallelism(t *testing.T) {
	var inFlight, peak atomic.Int32
	// Every request waits until three are in flight at once (the bound),
	// so the peak is reached by events, not by how fast the machine is.
	arrived := make(chan struct{}, 16)
	release := make(chan struct{})
	go func() {
		for range 3 {
			<-arrived
		}
		close(release)
	}()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		arrived <- struct{}{}
		<-release
		inFlight.Add(-1)
		if strings.Contains(r.URL.Path, "missing") {
			w.WriteHeader(404)
			return
		}
		fmt.Fprintf(w, `{"name":%q,"versions":{}}`, strings.TrimPrefix(r.URL.Path, "/"))
	}))
	defer srv.Close()
	c := fastClient()
	c.Parallel = 3
	var specs []Spec
	for i := 0; i < 12; i++ {
		specs = append(specs, Spec{Name: fmt.Sprintf("pkg%d", i)})
	}
	specs = append(specs, Spec{Name: "missing"})
	res, err := c.CheckAll(context.Background(), func(string) string { return srv.URL }, specs, false)
	if err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p != 3 {
		t.Errorf("peak concurrency %d, want 3", p)
	}
	for i, r := range res[:12] {
		if r.State != Published || r.Spec.Name != specs[i].Name {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	if res[12].State != PackageMissing {
		t.Errorf("missing package state = %v", res[12].State)
	}
}

func TestEscapeName(t *testing.T) {
	for in, want := range map[string]string{
		"agent-facets":                "agent-facets",
		"@agent-facets/cli-linux-x64": "@agent-facets%2fcli-linux-x64",
	} {
		if got := EscapeName(in); got != want {
			t.Errorf("EscapeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnrecoverableFailures(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/"
	l.Close()
	status := func(code int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, packument) }))
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, packument) }))
	defer plain.Close()
	for _, tt := range []struct {
		name, url     string
		unrecoverable bool
		want          string
	}{
		{"refused", closed, true, "connection refused"},
		{"401", status(401), true, "401"},
		{"403", status(403), true, "403"},
		{"unknown CA", tlsSrv.URL, true, "authority this machine does not trust"},
		{"https to an http server", strings.Replace(plain.URL, "http:", "https:", 1), true, "does not speak TLS"},
		{"503", status(503), false, "503"},
		{"429", status(429), false, "429"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := fastClient()
			c.MaxElapsed = 300 * time.Millisecond
			res := c.Check(context.Background(), tt.url, Spec{Name: "@s/p"}, false)
			if res.Err == nil || !strings.Contains(res.Err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", res.Err, tt.want)
			}
			if got := IsUnrecoverable(res.Err); got != tt.unrecoverable {
				t.Errorf("IsUnrecoverable = %v, want %v (%v)", got, tt.unrecoverable, res.Err)
			}
		})
	}
}

// TestDeadlineKeepsTheLastAnswer: when the caller's deadline ends the
// retries, the error says what the registry answered last.
func TestDeadlineKeepsTheLastAnswer(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(502)
		fmt.Fprint(w, `{"error":"upstream gone"}`)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	c := fastClient()
	c.MaxElapsed = time.Hour
	c.OnRetry = func(string, error, time.Duration) {
		if calls.Load() >= 3 {
			cancel() // the run's deadline, as an event
		}
	}
	_, err := c.Get(ctx, srv.URL+"/x", "application/json")
	if err == nil || !strings.Contains(err.Error(), "502 Bad Gateway: upstream gone") || !strings.Contains(err.Error(), "gave up after 3 attempts: context canceled") {
		t.Fatalf("err = %v", err)
	}
}
