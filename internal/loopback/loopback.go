// Package loopback is what the toolkit's emulators (the local registry's
// front and proxy, the GitHub and Slack emulators) share: an HTTP server on
// a free loopback port, a response writer that remembers its status, and
// random identifiers.
package loopback

import (
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"time"
)

// Listen opens a free port on 127.0.0.1 and returns it with its base URL
// (http://127.0.0.1:PORT/). what names the emulator in the error.
func Listen(what string) (net.Listener, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("%s: listen on a loopback port: %w", what, err)
	}
	return ln, fmt.Sprintf("http://%s/", ln.Addr()), nil
}

// Server is an HTTP server serving in the background.
type Server struct{ srv *http.Server }

// Serve serves h on ln in the background until Close. Errors of clients
// going away mid-answer (faults, a stop) are not logged.
func Serve(ln net.Listener, h http.Handler) *Server {
	s := &Server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}}
	go func() { _ = s.srv.Serve(ln) }()
	return s
}

// Start is Listen then Serve: the server and its base URL.
func Start(what string, h http.Handler) (*Server, string, error) {
	ln, url, err := Listen(what)
	if err != nil {
		return nil, "", err
	}
	return Serve(ln, h), url, nil
}

// Close stops the server and closes every connection at once.
func (s *Server) Close() { _ = s.srv.Close() }

// StatusWriter is a ResponseWriter that remembers the status it wrote.
type StatusWriter struct {
	http.ResponseWriter
	Status int
}

// WriteHeader records the first status.
func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records 200 when nothing was written before.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes on a flush (streamed answers).
func (w *StatusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// The alphabets of Random.
const (
	Alnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	Upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	Digits = "0123456789"
)

// Random returns n characters drawn from alphabet with crypto/rand.
func Random(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err)
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}
