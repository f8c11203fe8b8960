package status_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/seed"
	"github.com/agent-facets/release/internal/status"
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
	t.Parallel()
	reg := localregistrytest.Start(t)
	cfg := toolkittest.DemoConfig(t, nil)
	e, out := toolkittest.Env(t, cfg, reg.NpmEnv(t, reg.AddUser(t, "maintainer"))...)
	if _, err := seed.Seed(ctx, e, e.CLIPackages(), seed.Options{}); err != nil {
		t.Fatal(err)
	}
	toolkittest.BuildDemo(t, cfg, "1.2.3", func(e *toolkit.Env) error {
		_, err := build.Build(ctx, e, e.Cfg.PlatformTargets(), "1.2.3")
		return err
	})
	o := publish.Options{Verify: publish.Verifier{Min: 100 * time.Millisecond}, Confirm: publish.Verifier{Deadline: 2 * time.Minute, Rounds: 3}}
	check := func(wantComplete bool, wantNext string, states map[string]outcome.Action) {
		t.Helper()
		r, err := status.Read(ctx, e, "1.2.3")
		if err != nil {
			t.Fatal(err)
		}
		if r.Complete != wantComplete || !strings.Contains(r.Next, wantNext) {
			t.Errorf("complete=%v next=%q, want %v %q", r.Complete, r.Next, wantComplete, wantNext)
		}
		for _, row := range r.Packages {
			if want, ok := states[row.Package]; ok && row.Action != want {
				t.Errorf("%s: %s, want %s", row.Package, row.Action, want)
			}
		}
	}
	// Nothing published at 1.2.3.
	check(false, "publishPlatform linux-arm64, publishPlatform linux-x64,", map[string]outcome.Action{"agent-facets": outcome.Missing})
	// Some platforms.
	if _, err := publish.Platforms(ctx, e, []string{"linux-x64", "darwin-arm64"}, "1.2.3", o); err != nil {
		t.Fatal(err)
	}
	check(false, "publishPlatform windows-x64-baseline, then publishCLI", map[string]outcome.Action{
		"@agent-facets/cli-linux-x64": outcome.Published, "@agent-facets/cli-linux-arm64": outcome.Missing})
	// All platforms.
	if _, err := publish.Platforms(ctx, e, cfg.Targets, "1.2.3", o); err != nil {
		t.Fatal(err)
	}
	check(false, "publishCLI", map[string]outcome.Action{"@agent-facets/cli-linux-arm64": outcome.Published, "agent-facets": outcome.Missing})
	// All 13.
	if _, err := publish.CLI(ctx, e, "1.2.3", o); err != nil {
		t.Fatal(err)
	}
	check(true, "nothing", map[string]outcome.Action{"agent-facets": outcome.Published})
	// A CI job with the platform jobs' records and no binaries compares
	// with the records; one of other bytes is different.
	ci := *cfg
	ci.Dist.Dir = filepath.Join(t.TempDir(), "dist")
	ce, _ := toolkittest.FactsEnv(t, &ci, e.Facts)
	os.MkdirAll(pack.Dir(ce), 0o755)
	for _, name := range cfg.PlatformPackages() {
		rec, err := pack.ReadRecord(e, name, "1.2.3")
		if err != nil {
			t.Fatal(err)
		}
		if name == cfg.PlatformPackage("linux-arm64") {
			rec.Integrity = "sha512-other"
		}
		data, _ := json.Marshal(rec)
		os.WriteFile(pack.RecordPath(ce, name, "1.2.3"), data, 0o644)
	}
	if r, err := status.Read(ctx, ce, "1.2.3"); err != nil || r.Complete || !strings.Contains(r.Next, "other bytes than this build for @agent-facets/cli-linux-arm64") {
		t.Errorf("status from records: %+v, %v", r, err)
	}
	// A local build that differs from what was released: the same version
	// rebuilt with other flags.
	tg, _ := platforms.Lookup("darwin-x64")
	re, reOut := toolkittest.FactsEnv(t, toolkittest.Rebuilt(t, cfg), e.Facts)
	if _, err := build.Build(ctx, re, []platforms.Target{tg}, "1.2.3"); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, reOut)
	}
	// From here on only status runs: it must pack nothing to disk.
	npmDir := filepath.Join(cfg.Path(cfg.Dist.Dir), "npm")
	if err := os.RemoveAll(npmDir); err != nil {
		t.Fatal(err)
	}
	check(false, "other bytes than this build for @agent-facets/cli-darwin-x64", map[string]outcome.Action{"@agent-facets/cli-darwin-x64": outcome.Different})

	status.Print(e.Out, func() *status.Report { r, _ := status.Read(ctx, e, "1.2.3"); return r }())
	if !strings.Contains(out.String(), "different bytes") || !strings.Contains(out.String(), "incomplete; next:") ||
		!strings.Contains(out.String(), "@agent-facets/cli-darwin-x64: the registry holds other bytes than this build (local sha512-") {
		t.Errorf("printed:\n%s", out)
	}
	// Read-only: status packed nothing into the dist directory.
	if _, err := os.Stat(npmDir); !os.IsNotExist(err) {
		t.Errorf("status wrote into the dist directory (%v)", err)
	}
}

// TestStatusCLIBytes: every platform package published, and a foreign
// agent-facets@1.0.0 (other bytes than this configuration makes) on the
// registry: status says different bytes and is not complete.
func TestStatusCLIBytes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	reg := localregistrytest.Start(t)
	cfg := toolkittest.DemoConfig(t, nil)
	e, _ := toolkittest.Env(t, cfg, reg.NpmEnv(t, reg.AddUser(t, "maintainer"))...)
	toolkittest.BuildDemo(t, cfg, "1.0.0", func(e *toolkit.Env) error {
		_, err := build.Build(ctx, e, e.Cfg.PlatformTargets(), "1.0.0")
		return err
	})
	o := publish.Options{Verify: publish.Verifier{Min: 100 * time.Millisecond}}
	if _, err := publish.Platforms(ctx, e, cfg.Targets, "1.0.0", o); err != nil {
		t.Fatal(err)
	}
	// The CLI package as another configuration makes it.
	other := *cfg
	other.CLI.Description = "a CLI package built elsewhere"
	oe, _ := toolkittest.FactsEnv(t, &other, e.Facts)
	if _, err := publish.CLI(ctx, oe, "1.0.0", o); err != nil {
		t.Fatal(err)
	}
	r, err := status.Read(ctx, e, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	cli := r.Packages[len(r.Packages)-1]
	if r.Complete || cli.Package != "agent-facets" || cli.Action != outcome.Different || !strings.Contains(r.Next, "other bytes than this build for agent-facets") {
		t.Fatalf("complete=%v next=%q cli=%+v", r.Complete, r.Next, cli)
	}
}

// TestStatusUnreadable: a registry that is down is "could not be read",
// with the cause on the row, never "missing".
func TestStatusUnreadable(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	cfg := toolkittest.DemoConfig(t, nil)
	e, out := toolkittest.Env(t, cfg, reg.NpmEnv(t, "")...)
	e.Reg.MaxElapsed = time.Second
	reg.Stop()
	r, err := status.Read(context.Background(), e, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if r.Complete || !strings.Contains(r.Next, "the registry could not be read for") {
		t.Fatalf("next = %q", r.Next)
	}
	for _, row := range r.Packages {
		if row.Action != outcome.Failed || !strings.Contains(row.Error, "connection refused") {
			t.Errorf("%s: %s %q", row.Package, row.Action, row.Error)
		}
	}
	status.Print(e.Out, r)
	if !strings.Contains(out.String(), "✗ agent-facets: the registry could not be read: ") || !strings.Contains(out.String(), "connection refused") {
		t.Errorf("the cause is not printed:\n%s", out)
	}
}

// TestStatusLibraries: status -adapters reads the libraries publishAdapters
// releases, each at its workspace version; the seeded placeholder is not a
// release, and the packages that are not libraries are listed with why.
func TestStatusLibraries(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Parallel()
	reg := localregistrytest.Start(t)
	cfg := toolkittest.Config(t, nil)
	e, out := toolkittest.Env(t, cfg, append(reg.NpmEnv(t, reg.AddUser(t, "maintainer")), toolkittest.WithBun(t), "CIRCLE_TAG=", "GITHUB_REF_TYPE=")...)
	libs := []string{"@agent-facets/adapter", "@agent-facets/adapter-claude", "@agent-facets/adapter-openai"}
	if _, err := seed.Seed(ctx, e, libs, seed.Options{}); err != nil {
		t.Fatal(err)
	}
	r, err := status.Libraries(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, row := range r.Packages {
		names = append(names, row.String())
		if row.Action != outcome.Missing {
			t.Errorf("%s: %s before any release", row, row.Action)
		}
	}
	if got := strings.Join(names, " "); got != "@agent-facets/adapter@1.2.0 @agent-facets/adapter-claude@1.1.0 @agent-facets/adapter-openai@1.0.0" {
		t.Errorf("rows %s", got)
	}
	if r.Complete || !strings.Contains(r.Next, "publishAdapters (or push the tag of each: @agent-facets/adapter@1.2.0, ") {
		t.Errorf("complete=%v next=%q", r.Complete, r.Next)
	}
	status.PrintLibraries(e.Out, r)
	for _, want := range []string{
		`~ @agent-facets/dev-tools skipped: private ("private": true in its package.json): never published`,
		"~ @agent-facets/cli-linux-x64 skipped: matches adapters.exclude [cli-*]: not a library",
		"! libraries incomplete; next: publishAdapters",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	if _, err := publish.Adapters(ctx, e, publish.Options{Verify: publish.Verifier{Min: 100 * time.Millisecond}}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r, err = status.Libraries(ctx, e); err != nil || !r.Complete {
		t.Fatalf("after the release: %+v, %v", r, err)
	}

	// A library at the placeholder version has only the placeholder.
	pj := filepath.Join(cfg.Adapters.Workspace, "packages", "adapters", "openai", "package.json")
	data, _ := os.ReadFile(pj)
	os.WriteFile(pj, []byte(strings.Replace(string(data), `"version": "1.0.0"`, `"version": "0.0.1"`, 1)), 0o644)
	r, err = status.Libraries(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if last := r.Packages[len(r.Packages)-1]; last.Action != outcome.Missing || last.Note != "only the seeded placeholder" || r.Complete {
		t.Errorf("placeholder: %+v, complete %v", last, r.Complete)
	}
}
