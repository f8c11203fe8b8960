package loopback

import (
	"net/http"
	"strings"
	"testing"
)

func TestServerStatusAndClose(t *testing.T) {
	got := make(chan int, 2)
	s, url, err := Start("test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &StatusWriter{ResponseWriter: w}
		if r.URL.Path == "/teapot" {
			sw.WriteHeader(http.StatusTeapot)
			sw.WriteHeader(http.StatusOK) // ignored by net/http and by the record
		}
		sw.Write([]byte("hi"))
		got <- sw.Status
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/") {
		t.Errorf("url = %q", url)
	}
	for path, want := range map[string]int{"": http.StatusOK, "teapot": http.StatusTeapot} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if s := <-got; s != want || resp.StatusCode != want {
			t.Errorf("/%s: recorded %d, answered %d, want %d", path, s, resp.StatusCode, want)
		}
	}
	s.Close()
	if _, err := http.Get(url); err == nil {
		t.Error("the server still answers after Close")
	}
}

func TestRandom(t *testing.T) {
	a, b := Random(32, Alnum), Random(32, Alnum)
	if len(a) != 32 || a == b || strings.Trim(a, Alnum) != "" {
		t.Errorf("Random(32, Alnum) = %q, %q", a, b)
	}
	if d := Random(6, Digits); len(d) != 6 || strings.Trim(d, Digits) != "" {
		t.Errorf("Random(6, Digits) = %q", d)
	}
}
