package rehearse

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/oidc"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

// TestServe: the served registry takes a maintainer's login and mints
// tokens for a CI job, and is gone when the run ends.
func TestServe(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "reg")
	facts := toolkittest.Facts("RELEASE_CONFIG=" + filepath.Join(toolkittest.RepoRoot(), "release.json"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &toolkittest.Buffer{}
	type envs struct{ maintainer, ci []string }
	ready := make(chan envs, 1)
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ServeOptions{Facts: facts, Dir: dir, Ready: func(m, c []string) { ready <- envs{m, c} }}, report.Plain(out))
	}()
	var got envs
	select {
	case got = <-ready:
	case err := <-done:
		t.Fatalf("Serve: %v\n%s", err, out)
	}
	run := func(env []string) *command.Runner {
		return &command.Runner{Environ: command.Merge(os.Environ(), env)}
	}
	who, err := run(got.maintainer).Output(ctx, command.Cmd{Name: "npm", Args: []string{"whoami"}})
	if err != nil || strings.TrimSpace(who) != "maintainer" {
		t.Fatalf("npm whoami as the maintainer: %q, %v", who, err)
	}
	if otp := command.Getenv(got.maintainer, "NPM_OTP"); len(otp) != 6 || strings.Trim(otp, "0123456789") != "" {
		t.Errorf("the maintainer's NPM_OTP is %q, want the registry's 6-digit one-time password", otp)
	}
	reg := command.Getenv(got.ci, "NPM_CONFIG_REGISTRY")
	tok, err := oidc.MintCircleCI(ctx, run(got.ci), oidc.Audience(reg))
	if err != nil {
		t.Fatalf("the stand-in circleci: %v", err)
	}
	if strings.Contains(out.String(), tok) {
		t.Error("a token was printed")
	}
	for _, f := range []string{"maintainer.env", "ci.env"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, fi, err)
		}
	}
	if !strings.Contains(out.String(), "export NPM_CONFIG_USERCONFIG='") || !strings.Contains(out.String(), "export CIRCLECI='true'") {
		t.Errorf("output:\n%s", out)
	}
	// Each variable is set once, to the value the job has.
	for _, env := range [][]string{got.maintainer, got.ci} {
		seen := map[string]bool{}
		for _, kv := range env {
			k, _, _ := strings.Cut(kv, "=")
			if seen[k] {
				t.Errorf("%s is set twice in %q", k, env)
			}
			seen[k] = true
		}
	}
	if n := strings.Count(out.String(), "export CI="); n != 2 {
		t.Errorf("CI is exported %d times, want once per environment:\n%s", n, out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Nothing of it is left in the directory: no login token, no signing key.
	if left, _ := os.ReadDir(dir); len(left) > 1 || len(left) == 1 && left[0].Name() != ".serve.lock" {
		t.Errorf("left in %s: %v", dir, left)
	}
	if _, err := run(got.maintainer).Output(context.Background(), command.Cmd{Name: "npm", Args: []string{"ping", "--fetch-retries=0"}}); err == nil {
		t.Error("the registry still answers after the run ended")
	}
}
