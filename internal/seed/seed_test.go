package seed_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/seed"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/internal/trust"
)

func setup(t *testing.T) (*localregistrytest.Registry, *toolkit.Env, *toolkittest.Buffer) {
	t.Helper()
	reg := localregistrytest.Start(t)
	e, out := toolkittest.Env(t, toolkittest.Config(t, nil), reg.NpmEnv(t, reg.AddUser(t, "maintainer"))...)
	return reg, e, out
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestSeedCLIEmptyRegistryThenRerun(t *testing.T) {
	t.Parallel()
	reg, e, out := setup(t)
	pkgs := e.CLIPackages()
	if len(pkgs) != 13 {
		t.Fatalf("CLI packages = %d, want 13", len(pkgs))
	}
	res, err := seed.Seed(ctx(t), e, pkgs, seed.Options{})
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	text := out.String()
	for _, p := range pkgs {
		if !strings.Contains(text, "+ "+p+"@0.0.1\n") {
			t.Errorf("no '+ %s@0.0.1' line in:\n%s", p, text)
		}
		if !reg.HasVersion(t, p, "0.0.1") {
			t.Errorf("%s@0.0.1 is not on the registry", p)
		}
	}
	for _, r := range res {
		if r.Action != outcome.Published {
			t.Errorf("%s: outcome %s", r.Package, r.Action)
		}
	}
	if !strings.Contains(text, "Seeded 13 placeholder package(s), 0 already present, 0 failed.") {
		t.Errorf("summary missing:\n%s", text)
	}
	// The trusted-publisher to-do lists every package and the values.
	for _, want := range []string{"Trusted publishing still to configure for 13 package(s)", "bfa561da-d33e-4a2a-a46d-48e096a828e0", "github.com/agent-facets/facets", "mage trust:attach"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}

	// Second run: nothing published, the old scripts' message.
	e2, out2 := toolkittest.Again(t, e)
	if _, err := seed.Seed(ctx(t), e2, pkgs, seed.Options{}); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out2)
	}
	if !strings.Contains(out2.String(), "All packages already exist on npm ("+reg.URL+"; 13 checked). Nothing to seed.") {
		t.Errorf("re-run output:\n%s", out2)
	}
	if strings.Contains(out2.String(), "+ ") || strings.Contains(out2.String(), "Seeded") {
		t.Errorf("re-run claims to have seeded:\n%s", out2)
	}
	for _, p := range pkgs {
		if n := reg.PublishCount(p); n != 1 {
			t.Errorf("%s published %d times, want 1", p, n)
		}
	}
}

func TestSeedSomePresent(t *testing.T) {
	t.Parallel()
	reg, e, out := setup(t)
	pkgs := e.CLIPackages()
	// Seed three first.
	if _, err := seed.Seed(ctx(t), e, pkgs[:3], seed.Options{}); err != nil {
		t.Fatal(err)
	}
	e2, out2 := toolkittest.Again(t, e)
	res, err := seed.Seed(ctx(t), e2, pkgs, seed.Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out2)
	}
	_ = out
	for i, r := range res {
		want := outcome.Published
		if i < 3 {
			want = outcome.Identical
		}
		if r.Action != want {
			t.Errorf("%s: %s, want %s", r.Package, r.Action, want)
		}
		if n := reg.PublishCount(r.Package); n != 1 {
			t.Errorf("%s published %d times", r.Package, n)
		}
	}
	if !strings.Contains(out2.String(), "~ "+pkgs[0]+" (already on the registry, skipping)") {
		t.Errorf("no skip line:\n%s", out2)
	}
	if !strings.Contains(out2.String(), "Seeded 10 placeholder package(s), 3 already present, 0 failed.") {
		t.Errorf("summary:\n%s", out2)
	}
}

func TestSeedRegistryDown(t *testing.T) {
	t.Parallel()
	reg, e, out := setup(t)
	reg.Stop()
	_, err := seed.Seed(ctx(t), e, e.CLIPackages(), seed.Options{})
	if err == nil {
		t.Fatalf("want an error\n%s", out)
	}
	if strings.Contains(out.String(), "+ ") || strings.Contains(strings.ToLower(out.String()), "missing") {
		t.Errorf("a package was claimed missing or seeded while the registry is down:\n%s", out)
	}
	// The registry is pinged before npm runs: a clear, fast error.
	if !strings.Contains(err.Error(), "nothing was checked or published: registry "+reg.URL+" is not answering") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("unclear error: %v", err)
	}
}

func TestSeedNotLoggedIn(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	e, out := toolkittest.Env(t, toolkittest.Config(t, nil), reg.NpmEnv(t, "")...)
	_, err := seed.Seed(ctx(t), e, e.CLIPackages(), seed.Options{})
	if err == nil || !strings.Contains(err.Error(), "not logged in to "+reg.URL+": run `npm login --registry "+reg.URL+"`") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if n := len(reg.PublishCounts()); n != 0 {
		t.Errorf("%d packages published while logged out", n)
	}
}

func TestSeedAdaptersFromWorkspace(t *testing.T) {
	t.Parallel()
	reg, e, out := setup(t)
	adapters, err := e.Adapters()
	if err != nil {
		t.Fatal(err)
	}
	names := toolkit.Names(adapters)
	want := []string{"@agent-facets/adapter", "@agent-facets/adapter-claude", "@agent-facets/adapter-openai"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("adapters = %v, want %v", names, want)
	}
	if _, err := seed.Seed(ctx(t), e, names, seed.Options{}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, n := range names {
		if !reg.HasVersion(t, n, "0.0.1") {
			t.Errorf("%s not seeded", n)
		}
	}
	for _, n := range []string{"agent-facets", "@agent-facets/cli-linux-x64", "@agent-facets/dev-tools"} {
		if reg.PublishCount(n) != 0 {
			t.Errorf("%s is not an adapter but was published", n)
		}
	}
}

func TestSeedWithTrustThenCheckAndDrift(t *testing.T) {
	t.Parallel()
	reg, e, out := setup(t)
	pkgs := e.CLIPackages()[:4]
	// One package exists already with a different trusted publisher.
	if _, err := seed.Seed(ctx(t), e, pkgs[3:], seed.Options{}); err != nil {
		t.Fatal(err)
	}
	tp := e.Cfg.TrustedPublisher
	reg.SetTrust(pkgs[3], localregistry.CircleCITrust(tp.OrgID, "00000000-0000-4000-8000-000000000000", tp.PipelineDefinitionID, tp.VCSOrigin, tp.ContextIDs))

	fast := &trust.Attacher{Env: e, Pacing: time.Millisecond}
	_, err := seed.Seed(ctx(t), e, pkgs, seed.Options{Trust: true, Attacher: fast})
	if err == nil || !strings.Contains(err.Error(), pkgs[3]+" (drift)") {
		t.Fatalf("want drift error for %s, got %v\n%s", pkgs[3], err, out)
	}
	text := out.String()
	for _, p := range pkgs[:3] {
		if !strings.Contains(text, "+ "+p+": trusted publisher attached") {
			t.Errorf("no attach line for %s:\n%s", p, text)
		}
		got := reg.Trust(p)
		if len(got) != 1 || got[0].Claims["oidc.circleci.com/project-id"] != tp.ProjectID {
			t.Errorf("%s trust = %+v", p, got)
		}
	}
	if !strings.Contains(text, "project-id is \"00000000-0000-4000-8000-000000000000\", want \""+tp.ProjectID+"\"") {
		t.Errorf("drift not explained:\n%s", text)
	}
	if !strings.Contains(text, "npm trust revoke "+pkgs[3]+" --id ") || !strings.Contains(text, "npm trust circleci "+pkgs[3]+" --org-id "+tp.OrgID) {
		t.Errorf("drift fix commands missing:\n%s", text)
	}
	if got := reg.Trust(pkgs[3]); len(got) != 1 || got[0].Claims["oidc.circleci.com/project-id"] != "00000000-0000-4000-8000-000000000000" {
		t.Errorf("drifted configuration was changed: %+v", got)
	}

	// Re-run attach: no change for the attached ones.
	e2, out2 := toolkittest.Again(t, e)
	_, err = (&trust.Attacher{Env: e2, Pacing: time.Millisecond}).Attach(ctx(t), pkgs[:3])
	if err != nil {
		t.Fatalf("%v\n%s", err, out2)
	}
	for _, p := range pkgs[:3] {
		if !strings.Contains(out2.String(), "~ "+p+": trusted publisher already matches") {
			t.Errorf("re-run output:\n%s", out2)
		}
		if len(reg.Trust(p)) != 1 {
			t.Errorf("%s has %d configurations after re-run", p, len(reg.Trust(p)))
		}
	}

	// Check: read-only, not ready because of the drift.
	e3, out3 := toolkittest.Again(t, e)
	states, err := trust.Check(ctx(t), e3, pkgs)
	if err != nil {
		t.Fatal(err)
	}
	if n := trust.PrintState(e3, states); n != 1 {
		t.Errorf("not ready = %d, want 1\n%s", n, out3)
	}
	for i, s := range states {
		want := trust.Matches
		if i == 3 {
			want = trust.Drift
		}
		if s.Status != want {
			t.Errorf("%s: %s, want %s", s.Package, s.Status, want)
		}
	}
}

func TestSeedWithTwoFactor(t *testing.T) {
	t.Parallel()
	reg, e, out := setup(t)
	reg.RequireOTP("123456")
	pkgs := e.CLIPackages()[:2]
	_, err := seed.Seed(ctx(t), e, pkgs, seed.Options{})
	if err == nil || !strings.Contains(out.String(), "this account needs a 2FA code: run again in a terminal, or set NPM_OTP") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if len(reg.PublishCounts()) != 0 {
		t.Fatalf("published without the code: %v", reg.PublishCounts())
	}
	e2, out2 := toolkittest.Env(t, e.Cfg, append(e.Facts.Environ, "NPM_OTP=123456")...)
	fast := &trust.Attacher{Env: e2, Pacing: time.Millisecond}
	if _, err := seed.Seed(ctx(t), e2, pkgs, seed.Options{Trust: true, Attacher: fast}); err != nil {
		t.Fatalf("with the code: %v\n%s", err, out2)
	}
	for _, p := range pkgs {
		if !reg.HasVersion(t, p, "0.0.1") || len(reg.Trust(p)) != 1 {
			t.Errorf("%s not seeded and trusted", p)
		}
	}
	if strings.Contains(out.String()+out2.String()+err.Error(), "123456") {
		t.Error("the one-time code reached the output")
	}
}
