package status_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/approve"
	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/seed"
	"github.com/agent-facets/release/internal/status"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/platforms"
)

// TestStatusOfAStagedRelease: staged versions show as staged, a staged
// release waits for release:approve, and a local build that differs from
// what is staged says so.
func TestStatusOfAStagedRelease(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Parallel()
	reg := localregistrytest.Start(t)
	cfg := toolkittest.DemoConfig(t, func(c *config.Config) {
		c.Targets = []string{"linux-x64", "darwin-arm64", "windows-x64"}
		c.Release.Mode = config.ModeStage
		c.Adapters.Packages = []string{"@agent-facets/adapter"}
	})
	e, out := toolkittest.Env(t, cfg, reg.NpmEnv(t, reg.AddUser(t, "maintainer"))...)
	if _, err := seed.Seed(ctx, e, e.CLIPackages(), seed.Options{}); err != nil {
		t.Fatal(err)
	}
	toolkittest.BuildDemo(t, cfg, "1.2.3", func(e *toolkit.Env) error {
		_, err := build.Build(ctx, e, platforms.Table, "1.2.3")
		return err
	})
	o := publish.Options{Verify: publish.Verifier{Min: 100 * time.Millisecond}}
	read := func() *status.Report {
		t.Helper()
		r, err := status.Read(ctx, e, "1.2.3")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if _, err := publish.Platform(ctx, e, "darwin-arm64", "1.2.3", o); err != nil {
		t.Fatal(err)
	}
	r := read()
	if r.Complete || r.AwaitingApproval || r.Next != "publishPlatform linux-x64, publishPlatform windows-x64, then publishCLI" || r.Packages[1].Action != outcome.Staged || r.Packages[1].StageID == "" {
		t.Fatalf("complete=%v awaiting=%v next=%q darwin-arm64=%+v", r.Complete, r.AwaitingApproval, r.Next, r.Packages[1])
	}
	if _, err := publish.Platforms(ctx, e, cfg.Targets, "1.2.3", o); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.CLI(ctx, e, "1.2.3", o); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	r = read()
	if r.Complete || !r.AwaitingApproval || !strings.HasPrefix(r.Next, "release:approve 1.2.3") || outcome.Count(r.Packages, outcome.Staged) != 4 {
		t.Fatalf("complete=%v awaiting=%v next=%q packages=%+v", r.Complete, r.AwaitingApproval, r.Next, r.Packages)
	}
	for _, row := range r.Packages {
		if row.Integrity != row.Local || row.Local == "" {
			t.Errorf("%s: staged %s, local %s", row.Package, row.Integrity, row.Local)
		}
	}
	status.Print(e.Out, r)
	if !strings.Contains(out.String(), "staged, not public yet; next: release:approve 1.2.3") || !strings.Contains(out.String(), "agent-facets: staged (id ") {
		t.Errorf("printed:\n%s", out)
	}

	// The local build is not what was staged.
	tg, _ := platforms.Lookup("windows-x64")
	orig, err := os.ReadFile(cfg.BinaryPath(tg))
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(build.ManifestPath(e))
	if err != nil {
		t.Fatal(err)
	}
	re, reOut := toolkittest.FactsEnv(t, toolkittest.Rebuilt(t, cfg), e.Facts)
	if _, err := build.Build(ctx, re, []platforms.Target{tg}, "1.2.3"); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, reOut)
	}
	r = read()
	if r.AwaitingApproval || r.Packages[2].Action != outcome.Different || !strings.Contains(r.Next, "@agent-facets/cli-windows-x64") {
		t.Fatalf("awaiting=%v next=%q windows-x64=%+v", r.AwaitingApproval, r.Next, r.Packages[2])
	}
	// The release's build again, as the build manifest recorded it.
	if err := os.WriteFile(cfg.BinaryPath(tg), orig, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(build.ManifestPath(e), manifest, 0o644); err != nil {
		t.Fatal(err)
	}

	// Without the CI reports or the build, approve has nothing to compare with.
	dist := cfg.Path(cfg.Dist.Dir)
	if err := os.Rename(dist, dist+".away"); err != nil {
		t.Fatal(err)
	}
	ao := approve.Options{OTP: reg.OTP(), Verify: publish.Verifier{Min: 100 * time.Millisecond}}
	_, err = approve.Approve(ctx, e, "1.2.3", ao)
	if err == nil || !strings.Contains(err.Error(), "nothing to check the staged tarballs against: pass -reports=<dir>") {
		t.Fatalf("approve without reports or a build: %v", err)
	}
	if err := os.Rename(dist+".away", dist); err != nil {
		t.Fatal(err)
	}
	if _, err := approve.Approve(ctx, e, "1.2.3", ao); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r = read(); !r.Complete || r.AwaitingApproval {
		t.Fatalf("after approval: complete=%v next=%q", r.Complete, r.Next)
	}
}
