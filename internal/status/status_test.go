package status_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/seed"
	"github.com/agent-facets/release/internal/status"
	"github.com/agent-facets/release/internal/testreg"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/platforms"
)

func TestMain(m *testing.M) {
	code := m.Run()
	toolkittest.CleanupDemoBuilds()
	os.Exit(code)
}

func TestStatusThroughARelease(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	reg := testreg.Start(t)
	reg.SetEnv(t, reg.AddUser(t, "maintainer"))
	cfg := toolkittest.DemoConfig(t, nil)
	e, out := toolkittest.Env(t, cfg)
	if _, err := seed.Seed(ctx, e, e.CLIPackages(), seed.Options{}); err != nil {
		t.Fatal(err)
	}
	toolkittest.BuildDemo(t, cfg, "1.2.3", func(e *toolkit.Env) error {
		_, err := build.Build(ctx, e, e.Cfg.PlatformTargets(), "1.2.3")
		return err
	})
	o := publish.Options{Verify: publish.Verifier{Min: 100 * time.Millisecond}, Confirm: publish.Verifier{Deadline: 2 * time.Second}}
	check := func(wantComplete bool, wantNext string, states map[string]status.State) {
		t.Helper()
		r, err := status.Read(ctx, e, "1.2.3")
		if err != nil {
			t.Fatal(err)
		}
		if r.Complete != wantComplete || !strings.Contains(r.Next, wantNext) {
			t.Errorf("complete=%v next=%q, want %v %q", r.Complete, r.Next, wantComplete, wantNext)
		}
		for _, row := range r.Rows {
			if want, ok := states[row.Package]; ok && row.State != want {
				t.Errorf("%s: %s, want %s", row.Package, row.State, want)
			}
		}
	}
	// Nothing published at 1.2.3.
	check(false, "publishPlatform linux-arm64, publishPlatform linux-x64,", map[string]status.State{"agent-facets": status.Missing})
	// Some platforms.
	if _, err := publish.Platforms(ctx, e, []string{"linux-x64", "darwin-arm64"}, "1.2.3", o); err != nil {
		t.Fatal(err)
	}
	check(false, "publishPlatform windows-x64-baseline, then publishCLI", map[string]status.State{
		"@agent-facets/cli-linux-x64": status.Published, "@agent-facets/cli-linux-arm64": status.Missing})
	// All platforms.
	if _, err := publish.Platforms(ctx, e, cfg.Targets, "1.2.3", o); err != nil {
		t.Fatal(err)
	}
	check(false, "publishCLI", map[string]status.State{"@agent-facets/cli-linux-arm64": status.Published, "agent-facets": status.Missing})
	// All 13.
	if _, err := publish.CLI(ctx, e, "1.2.3", o); err != nil {
		t.Fatal(err)
	}
	check(true, "nothing", map[string]status.State{"agent-facets": status.Published})
	// A local build that differs from what was released.
	tg, _ := platforms.Lookup("darwin-x64")
	f, _ := os.OpenFile(cfg.BinaryPath(tg), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("x")
	f.Close()
	check(false, "other bytes than this build for @agent-facets/cli-darwin-x64", map[string]status.State{"@agent-facets/cli-darwin-x64": status.DifferentBytes})

	status.Print(e.Out, func() *status.Report { r, _ := status.Read(ctx, e, "1.2.3"); return r }())
	if !strings.Contains(out.String(), "different bytes") || !strings.Contains(out.String(), "incomplete; next:") {
		t.Errorf("printed:\n%s", out)
	}
}
