package localregistry

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"

	"github.com/agent-facets/release/internal/loopback"
)

// Proxy is a forward HTTP proxy on a loopback port, as a company network
// puts in front of the registry: plain requests in absolute form (http://
// targets) and CONNECT tunnels (https:// targets). Routes send a host:port
// elsewhere, so that a registry can be reachable through the proxy only
// (its URL names a closed port the proxy knows how to reach). Every request
// is logged.
type Proxy struct {
	// URL is http://127.0.0.1:PORT/.
	URL string

	srv     *loopback.Server
	mu      sync.Mutex
	routes  map[string]string
	log     []ProxyRequest
	changed chan struct{}
}

// ProxyRequest is one request the proxy handled.
type ProxyRequest struct {
	// Method is the request's method (CONNECT for a tunnel).
	Method string
	// Target is the host:port asked for, and To where it went.
	Target, To string
	// Path is the path of a plain request ("" for a tunnel).
	Path string
	// Status is the proxy's answer (502 when the target cannot be reached).
	Status int
}

// StartProxy starts a proxy; routes maps host:port to the host:port the
// proxy connects to instead. Close it when done.
func StartProxy(routes map[string]string) (*Proxy, error) {
	ln, url, err := loopback.Listen("localregistry: proxy")
	if err != nil {
		return nil, err
	}
	p := &Proxy{URL: url, routes: map[string]string{}, changed: make(chan struct{})}
	for k, v := range routes {
		p.routes[k] = v
	}
	p.srv = loopback.Serve(ln, p)
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() { p.srv.Close() }

// Requests returns what the proxy has handled, oldest first.
func (p *Proxy) Requests() []ProxyRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ProxyRequest(nil), p.log...)
}

// Await waits until a request the proxy handled satisfies match.
func (p *Proxy) Await(ctx context.Context, match func(ProxyRequest) bool) (ProxyRequest, error) {
	for {
		p.mu.Lock()
		for _, r := range p.log {
			if match(r) {
				p.mu.Unlock()
				return r, nil
			}
		}
		wait := p.changed
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ProxyRequest{}, fmt.Errorf("localregistry: proxy: no matching request: %w", ctx.Err())
		}
	}
}

func (p *Proxy) record(r ProxyRequest) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, r)
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Proxy) route(hostport string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if to, ok := p.routes[hostport]; ok {
		return to
	}
	return hostport
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodConnect {
		p.tunnel(w, req)
		return
	}
	if req.URL.Host == "" {
		http.Error(w, "localregistry proxy: not a proxy request (the URL has no host)", http.StatusBadRequest)
		return
	}
	target := req.URL.Host
	to := p.route(target)
	rec := ProxyRequest{Method: req.Method, Target: target, To: to, Path: req.URL.Path}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = to
			pr.Out.Host = target // the registry sees the name the client used
			pr.Out.Header.Del("Proxy-Authorization")
		},
		ErrorLog: log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			rec.Status = http.StatusBadGateway
			http.Error(w, "localregistry proxy: "+err.Error(), http.StatusBadGateway)
		},
		ModifyResponse: func(resp *http.Response) error {
			rec.Status = resp.StatusCode
			return nil
		},
	}
	rp.ServeHTTP(w, req)
	p.record(rec)
}

func (p *Proxy) tunnel(w http.ResponseWriter, req *http.Request) {
	target := req.Host
	to := p.route(target)
	rec := ProxyRequest{Method: http.MethodConnect, Target: target, To: to}
	upstream, err := net.DialTimeout("tcp", to, 10*time.Second)
	if err != nil {
		rec.Status = http.StatusBadGateway
		p.record(rec)
		http.Error(w, "localregistry proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "localregistry proxy: cannot tunnel", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		upstream.Close()
		client.Close()
		return
	}
	rec.Status = http.StatusOK
	p.record(rec)
	go func() {
		defer upstream.Close()
		defer client.Close()
		if n := buf.Reader.Buffered(); n > 0 {
			data, _ := buf.Reader.Peek(n)
			_, _ = upstream.Write(data)
		}
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(upstream, client); done <- struct{}{} }()
		go func() { _, _ = io.Copy(client, upstream); done <- struct{}{} }()
		<-done
	}()
}
