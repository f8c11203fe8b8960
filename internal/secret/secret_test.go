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
		"token s3cr3t-value-xyz leaked":                                                            "token [redacted] leaked",
		"npm_abcdefghijklmnopqrstuvwxyz0123456789 here":                                            "[redacted] here",
		"id " + jwt + " end":                                                                       "id [redacted] end",
		"//127.0.0.1:4873/:_authToken=abc123def":                                                   "//127.0.0.1:4873/:_authToken=[redacted]",
		"Authorization: Bearer abc.def":                                                            "Authorization: Bearer [redacted]",
		"a short word stays":                                                                       "a short word stays",
		"nothing secret in @agent-facets/cli-linux-x64":                                            "nothing secret in @agent-facets/cli-linux-x64",
		"token ghs_16C7e42F292c6912E7710c838347Ae178B4a ok":                                        "token [redacted] ok",
		"pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz":                            "pat [redacted]",
		"slack xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp sent":                                   "slack [redacted] sent",
		"POST https://hooks.example.test/services/T0ABC12/B0DEF34/zyXw9876v":                       "POST https://hooks.example.test[redacted]",
		"key -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY----- end": "key [redacted] end",
		"a word like ghost_writer or xox-tic stays":                                                "a word like ghost_writer or xox-tic stays",
		"GET http://user:pass@127.0.0.1:4873/x failed":                                             "GET http://[redacted]@127.0.0.1:4873/x failed",
		"proxy https://token@127.0.0.1:3128/":                                                      "proxy https://[redacted]@127.0.0.1:3128/",
		`"registry":"http://a:b@localhost:1/"`:                                                     `"registry":"http://[redacted]@localhost:1/"`,
		"no credentials in http://127.0.0.1:4873/":                                                 "no credentials in http://127.0.0.1:4873/",
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
