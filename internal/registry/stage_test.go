package registry

import (
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
)

// TestStagedList reads every page, keeps only the package asked for, sends
// the token when given and reports a refusal as one.
func TestStagedList(t *testing.T) {
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/path/-/stage" || r.URL.Query().Get("package") != "@s/p" || r.URL.Query().Get("perPage") != "100" {
			t.Errorf("request %s", r.URL)
		}
		auth.Store(r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") == "Bearer refused" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"log in"}`)
			return
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		var items []Staged
		for i := 0; i < 100 && page*100+i < 150; i++ {
			name := "@s/p"
			if i == 7 {
				name = "@s/other"
			}
			items = append(items, Staged{ID: fmt.Sprintf("id-%d", page*100+i), PackageName: name, Version: fmt.Sprintf("1.0.%d", page*100+i)})
		}
		json.NewEncoder(w).Encode(map[string]any{"items": items, "total": 150})
	}))
	defer srv.Close()
	c := fastClient()
	got, err := c.StagedList(t.Context(), srv.URL+"/path/", "@s/p", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 148 || got[0].ID != "id-0" || got[147].ID != "id-149" || auth.Load() != "" {
		t.Fatalf("got %d items (first %v), auth %q", len(got), got[0], auth.Load())
	}
	_, err = c.StagedList(t.Context(), srv.URL+"/path/", "@s/p", "refused")
	if !IsRefused(err) || auth.Load() != "Bearer refused" {
		t.Fatalf("err = %v (refused %v)", err, IsRefused(err))
	}
}

// TestStagedTarball hashes what it downloads and retries a 503.
func TestStagedTarball(t *testing.T) {
	data := []byte("a tarball's bytes")
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path != "/-/stage/abc/tarball" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	integrity, shasum, err := fastClient().StagedTarball(t.Context(), srv.URL+"/", "abc", "")
	if err != nil {
		t.Fatal(err)
	}
	s512, s1 := sha512.Sum512(data), sha1.Sum(data)
	if integrity != "sha512-"+base64.StdEncoding.EncodeToString(s512[:]) || shasum != hex.EncodeToString(s1[:]) || calls.Load() != 2 {
		t.Errorf("integrity %s shasum %s after %d calls", integrity, shasum, calls.Load())
	}
	if _, _, err := fastClient().StagedTarball(t.Context(), srv.URL+"/", "missing", ""); err == nil {
		t.Error("a 404 tarball gave no error")
	}
}
