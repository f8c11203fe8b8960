// Package secret keeps tokens out of output, logs and errors. Every string
// that leaves the toolkit (progress lines, reports, error messages, captured
// npm output) passes through Redact, which removes the values registered with
// Register and anything shaped like an npm token or a JWT.
package secret

import (
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Mask replaces a secret in output.
const Mask = "[redacted]"

var (
	mu     sync.RWMutex
	values = map[string]struct{}{}

	// patterns are token-shaped strings and what replaces each: Mask, with
	// the parts named by ${1} kept.
	patterns = []struct {
		re   *regexp.Regexp
		with string
	}{
		// npm access and granular tokens.
		{regexp.MustCompile(`npm_[A-Za-z0-9]{36}`), Mask},
		// JWTs (OIDC identity tokens): three base64url parts, the first two JSON.
		{regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`), Mask},
		// Auth lines of an .npmrc.
		{regexp.MustCompile(`(_authToken|_auth|_password)\s*=\s*\S+`), "${1}=" + Mask},
		// Bearer headers.
		{regexp.MustCompile(`(?i)(authorization:\s*bearer\s+)\S+`), "${1}" + Mask},
		// Credentials in URLs: https://user:pass@host/ (a scope registry,
		// a proxy).
		{regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@"'<>]+@`), "${1}" + Mask + "@"},
		// GitHub tokens: personal, OAuth, App installation and user-to-server,
		// refresh, and fine-grained personal access tokens.
		{regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{30,}`), Mask},
		{regexp.MustCompile(`\bgithub_pat_[A-Za-z0-9_]{30,}`), Mask},
		// Slack tokens (bot, user, app, configuration).
		{regexp.MustCompile(`\bxox[abposre]-[A-Za-z0-9-]{10,}`), Mask},
		{regexp.MustCompile(`\bxapp-[A-Za-z0-9-]{10,}`), Mask},
		// The secret part of a Slack incoming webhook's URL.
		{regexp.MustCompile(`/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+`), Mask},
		// PEM private keys (a GitHub App's).
		{regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`), Mask},
	}
)

// Register adds a secret value to redact from every later output. Values
// shorter than 8 characters are ignored: they would redact ordinary words.
func Register(v string) {
	v = strings.TrimSpace(v)
	if len(v) < 8 {
		return
	}
	mu.Lock()
	values[v] = struct{}{}
	mu.Unlock()
}

// Redact returns s with every registered secret and token-shaped string
// replaced by Mask.
func Redact(s string) string {
	mu.RLock()
	known := make([]string, 0, len(values))
	for v := range values {
		known = append(known, v)
	}
	mu.RUnlock()
	// Longest first, so a secret containing another is masked whole.
	sort.Slice(known, func(i, j int) bool { return len(known[i]) > len(known[j]) })
	for _, v := range known {
		s = strings.ReplaceAll(s, v, Mask)
	}
	for _, p := range patterns {
		s = p.re.ReplaceAllString(s, p.with)
	}
	return s
}

// Error wraps err so that its message is redacted.
func Error(err error) error {
	if err == nil {
		return nil
	}
	return &redacted{err}
}

type redacted struct{ err error }

func (r *redacted) Error() string { return Redact(r.err.Error()) }
func (r *redacted) Unwrap() error { return r.err }
