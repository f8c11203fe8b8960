package secret

import (
	"errors"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	Register("s3cr3t-value-xyz")
	Register("short")
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcmcvYWJjIn0.c2lnbmF0dXJlLWJ5dGVz"
	tests := map[string]string{
		"token s3cr3t-value-xyz leaked":                 "token [redacted] leaked",
		"npm_abcdefghijklmnopqrstuvwxyz0123456789 here": "[redacted] here",
		"id " + jwt + " end":                            "id [redacted] end",
		"//127.0.0.1:4873/:_authToken=abc123def":        "//127.0.0.1:4873/:_authToken=[redacted]",
		"Authorization: Bearer abc.def":                 "Authorization: Bearer [redacted]",
		"a short word stays":                            "a short word stays",
		"GET http://user:pass@127.0.0.1:4873/x failed":  "GET http://[redacted]@127.0.0.1:4873/x failed",
		"proxy https://token@127.0.0.1:3128/":           "proxy https://[redacted]@127.0.0.1:3128/",
		`"registry":"http://a:b@localhost:1/"`:          `"registry":"http://[redacted]@localhost:1/"`,
		"no credentials in http://127.0.0.1:4873/":      "no credentials in http://127.0.0.1:4873/",
		"nothing secret in @agent-facets/cli-linux-x64": "nothing secret in @agent-facets/cli-linux-x64",
	}
	for in, want := range tests {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestError(t *testing.T) {
	Register("another-secret-123")
	base := errors.New("exchange failed for another-secret-123")
	err := Error(base)
	if strings.Contains(err.Error(), "another-secret-123") {
		t.Fatalf("secret in %q", err)
	}
	if !errors.Is(err, base) {
		t.Error("Unwrap lost the original error")
	}
	if Error(nil) != nil {
		t.Error("Error(nil) != nil")
	}
}
