package rehearse

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

// TestRehearsal runs the README's first command's job end to end.
func TestRehearsal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	t.Setenv("NO_COLOR", "1")
	for _, k := range []string{"CIRCLECI", "GITHUB_ACTIONS", "NPM_ID_TOKEN", "CIRCLE_TAG"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	before := os.Environ()
	out := &toolkittest.Buffer{}
	recs, err := Run(ctx, Options{Version: "3.1.4", RepoRoot: toolkittest.RepoRoot(), Out: out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(recs) != 16 {
		t.Errorf("%d records, want 13 CLI packages + 3 adapters", len(recs))
	}
	for _, r := range recs {
		if r.Action != publish.Published || r.Version == "" {
			t.Errorf("%s: %s", r.Package, r.Action)
		}
	}
	text := out.String()
	for _, want := range []string{
		"+ agent-facets@0.0.1",
		"+ @agent-facets/cli-linux-x64: trusted publisher attached",
		"(trusted publishing from CircleCI)",
		"✓ registry serves all 12 platform packages at 3.1.4",
		"npm install agent-facets@3.1.4, then `facet --version` printed 3.1.4",
		"Rehearsal complete: 16 packages released",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// No token of any kind in the whole output.
	if m := regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ|npm_[A-Za-z0-9]{36}|_authToken=[^\[]`).FindString(text); m != "" {
		t.Errorf("a secret reached the output: %.24s…", m)
	}
	// The rehearsal restores the environment it changed.
	after := os.Environ()
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Error("the environment was not restored")
	}
}
