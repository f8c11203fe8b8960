package githubapi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/google/go-github/v89/github"
)

func TestEndpoints(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfgAPI, envAPI, upload string
		api, up, web           string
	}{
		{"", "", "", DefaultAPI, "https://uploads.github.com/", "https://github.com/"},
		{"", "https://ghe.example.test/api/v3", "", "https://ghe.example.test/api/v3/", "https://ghe.example.test/api/uploads/", "https://ghe.example.test/"},
		{"https://ghe.example.test/api/v3/", "https://ignored.example.test/api/v3", "", "https://ghe.example.test/api/v3/", "https://ghe.example.test/api/uploads/", "https://ghe.example.test/"},
		{"http://127.0.0.1:8080/", "", "http://127.0.0.1:8081/up", "http://127.0.0.1:8080/", "http://127.0.0.1:8081/up/", "http://127.0.0.1:8080/"},
	} {
		cfg := toolkittest.Config(t, func(c *config.Config) { c.GitHub.APIURL, c.GitHub.UploadURL = tc.cfgAPI, tc.upload })
		e, _ := toolkittest.Env(t, cfg, "GITHUB_API_URL="+tc.envAPI)
		api, up, web, err := Endpoints(e)
		if err != nil || api != tc.api || up != tc.up || web != tc.web {
			t.Errorf("%+v: %s %s %s %v", tc, api, up, web, err)
		}
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pkcs8 := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	for name, in := range map[string]string{
		"PKCS #1":              pkcs1,
		"PKCS #8":              pkcs8,
		"base64":               base64.StdEncoding.EncodeToString([]byte(pkcs1)),
		"escaped newlines":     strings.ReplaceAll(pkcs1, "\n", `\n`),
		"surrounding newlines": "\n\n" + pkcs8 + "\n",
	} {
		got, err := ParseKey(in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if k, ok := got.(*rsa.PrivateKey); !ok || !k.Equal(key) {
			t.Errorf("%s: another key", name)
		}
	}
	if _, err := ParseKey("MIIEsecret-looking-text"); err == nil || strings.Contains(err.Error(), "MIIE") {
		t.Errorf("a bad key: %v", err)
	}
}

func TestTemporary(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{errors.New("connection reset by peer"), true},
		{fmt.Errorf("open: %w", &fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist}), false},
		{context.Canceled, false},
	} {
		if got := Temporary(tc.err); got != tc.want {
			t.Errorf("Temporary(%v) = %v", tc.err, got)
		}
	}
}

func TestExplain(t *testing.T) {
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code, Request: &http.Request{}} }
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&github.RateLimitError{Response: resp(403), Message: "API rate limit exceeded for installation"}, "GitHub is rate limiting (403"},
		{&github.ErrorResponse{Response: resp(429), Message: "slow down"}, "GitHub is rate limiting (429"},
		{&github.ErrorResponse{Response: resp(403), Message: "Resource not accessible by integration"}, "give it contents: write"},
		{&github.ErrorResponse{Response: resp(401), Message: "Bad credentials"}, "the token is wrong, expired or revoked"},
		{&github.ErrorResponse{Response: resp(502), Message: "Bad Gateway"}, "run the same command again"},
	} {
		if got := Explain(tc.err).Error(); !strings.Contains(got, tc.want) {
			t.Errorf("Explain(%v) = %q, want it to say %q", tc.err, got, tc.want)
		}
	}
}
