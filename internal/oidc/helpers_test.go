package oidc

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/publisher"
)

// The trusted publisher of these tests (CircleCI project values, not secrets).
const (
	orgID      = "bfa561da-d33e-4a2a-a46d-48e096a828e0"
	projectID  = "46274a40-97ed-41fd-a745-9702a7131ccc"
	pipelineID = "15756499-9950-43b5-b2d3-ac4086d9aa48"
	contextID  = "691cddb9-b839-41e8-bc5c-ebb4484a2a1f"
	vcsOrigin  = "github.com/agent-facets/facets"
)

func testPublisher() *publisher.Identity {
	return &publisher.Identity{Provider: publisher.CircleCI, OrgID: orgID, ProjectID: projectID, PipelineDefinitionID: pipelineID, VCSOrigin: vcsOrigin, ContextIDs: []string{contextID}}
}

func circleClaims(aud string, ttl time.Duration) jwt.MapClaims {
	c := localregistry.CircleCIClaims(orgID, projectID, pipelineID, vcsOrigin, []string{contextID}, ttl)
	c["aud"] = aud
	return c
}

// The output of every test is collected here, and TestMain checks after all
// tests that no token appears in any of it.
var captured struct {
	sync.Mutex
	texts  []capturedText
	tokens []string
}

type capturedText struct{ test, what, text string }

// capture records text (an error message, a command's output) shown by test t.
func capture(t testing.TB, what, text string) {
	captured.Lock()
	defer captured.Unlock()
	captured.texts = append(captured.texts, capturedText{t.Name(), what, text})
}

// captureErr records err's message, if any.
func captureErr(t testing.TB, err error) {
	if err != nil {
		capture(t, "error", err.Error())
	}
}

// noteToken records a token the tests minted or were given.
func noteToken(tokens ...string) {
	captured.Lock()
	defer captured.Unlock()
	captured.tokens = append(captured.tokens, tokens...)
}

var (
	jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)
	npmShape = regexp.MustCompile(`npm_[A-Za-z0-9]{36}`)
)

// leaks lists why text reveals a token: one of tokens, or anything shaped
// like a JWT or an npm token. The descriptions do not quote the token.
func leaks(text string, tokens []string) []string {
	var out []string
	for i, tok := range tokens {
		if len(tok) >= 8 && strings.Contains(text, tok) {
			out = append(out, fmt.Sprintf("contains recorded token #%d", i))
		}
		// A token's signature part alone is as secret as the whole.
		if parts := strings.Split(tok, "."); len(parts) == 3 && len(parts[2]) >= 16 && strings.Contains(text, parts[2]) {
			out = append(out, fmt.Sprintf("contains the signature of recorded token #%d", i))
		}
	}
	if jwtShape.MatchString(text) {
		out = append(out, "contains a JWT-shaped string (eyJ...)")
	}
	if npmShape.MatchString(text) {
		out = append(out, "contains an npm token (npm_...)")
	}
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	captured.Lock()
	texts, tokens := captured.texts, captured.tokens
	captured.Unlock()
	var bad int
	for _, c := range texts {
		for _, why := range leaks(c.text, tokens) {
			bad++
			fmt.Printf("--- FAIL: secrets check: %s of %s %s\n", c.what, c.test, why)
		}
	}
	if bad > 0 {
		code = 1
	} else if code == 0 {
		fmt.Printf("secrets check: %d captured errors and outputs, %d tokens: none leaked\n", len(texts), len(tokens))
	}
	os.Exit(code)
}

// TestLeakDetector proves the final check would notice a leak.
func TestLeakDetector(t *testing.T) {
	t.Parallel()
	issuer := localregistry.NewIssuer()
	tok := issuer.Mint(circleClaims("npm:127.0.0.1", time.Hour))
	npmTok := "npm_" + strings.Repeat("a1B2", 9)
	sig := tok[strings.LastIndex(tok, ".")+1:]
	tests := []struct {
		name, text string
		leak       bool
	}{
		{"clean", "OIDC token claim oidc.circleci.com/project-id is \"x\"", false},
		{"whole JWT", "failed: " + tok, true},
		{"signature only", "sig " + sig, true},
		{"npm token", "token " + npmTok + " refused", true},
		{"other JWT", "Bearer " + localregistry.NewIssuer().Mint(jwt.MapClaims{"a": 1}), true},
	}
	for _, tc := range tests {
		if got := len(leaks(tc.text, []string{tok})) > 0; got != tc.leak {
			t.Errorf("%s: leak detected = %v, want %v", tc.name, got, tc.leak)
		}
	}
}
