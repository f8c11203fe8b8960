package trust_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/publisher"
	"github.com/agent-facets/release/internal/seed"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/internal/trust"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return c
}

// seeded is a registry where the first n CLI packages of cfg exist, and a
// maintainer's Env.
func seeded(t *testing.T, n int, mutate func(*config.Config)) (*localregistrytest.Registry, *toolkit.Env, *toolkittest.Buffer, []string) {
	t.Helper()
	reg := localregistrytest.Start(t)
	cfg := toolkittest.Config(t, mutate)
	e, out := toolkittest.Env(t, cfg, reg.NpmEnv(t, reg.AddUser(t, "maintainer"))...)
	pkgs := e.CLIPackages()[:n]
	if _, err := seed.Seed(ctx(t), e, pkgs, seed.Options{}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return reg, e, out, pkgs
}

func github(env string) func(*config.Config) {
	return func(c *config.Config) {
		c.TrustedPublisher = publisher.Identity{Provider: publisher.GitHub, Repository: "agent-facets/facets", Workflow: "release.yml", Environment: env}
	}
}

// TestGitHubPublisherAttachedAndChecked: trust:attach runs `npm trust
// github` with the repository, workflow file and environment, the
// registry stores what npm sends, and trust:check finds it matching; an
// environment that differs is drift, with the command that fixes it.
func TestGitHubPublisherAttachedAndChecked(t *testing.T) {
	t.Parallel()
	reg, e, out, pkgs := seeded(t, 2, github("npm"))
	if _, err := (&trust.Attacher{Env: e, Pacing: time.Millisecond}).Attach(ctx(t), pkgs[:1]); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := reg.Trust(pkgs[0])
	want := localregistry.GitHubTrust("agent-facets/facets", "release.yml", "npm")
	if len(got) != 1 || got[0].Type != "github" || got[0].Claims["repository"] != "agent-facets/facets" ||
		got[0].Claims["environment"] != "npm" || len(got[0].Permissions) != 1 || got[0].Permissions[0] != want.Permissions[0] {
		t.Fatalf("stored %+v", got)
	}
	if wf, _ := got[0].Claims["workflow_ref"].(map[string]any); wf["file"] != "release.yml" {
		t.Fatalf("workflow_ref = %v", got[0].Claims["workflow_ref"])
	}
	if !strings.Contains(out.String(), "trusted publisher attached (GitHub Actions workflow agent-facets/facets/.github/workflows/release.yml, publish only)") {
		t.Errorf("output:\n%s", out)
	}
	reg.SetTrust(pkgs[1], localregistry.GitHubTrust("agent-facets/facets", "release.yml", "staging"))
	e2, out2 := toolkittest.Again(t, e)
	err := trust.Report(ctx(t), e2, pkgs)
	if err == nil {
		t.Fatalf("trust:check passed with drift\n%s", out2)
	}
	text := out2.String()
	for _, w := range []string{
		"✓ " + pkgs[0] + ": trusted publisher matches",
		pkgs[1] + ": a different trusted publisher is attached (drift)",
		`env is "staging", want "npm"`,
		"npm trust revoke " + pkgs[1] + " --id ",
		"npm trust github " + pkgs[1] + " --repo agent-facets/facets --file release.yml --env npm --allow-publish --yes --registry " + reg.URL,
	} {
		if !strings.Contains(text, w) {
			t.Errorf("trust:check output lacks %q:\n%s", w, text)
		}
	}
}

// TestPermissionDrift: a permission that does not fit release.mode is
// drift, with revoke-and-create commands granting the mode's permission;
// trust:attach in stage mode grants stage publishing only.
func TestPermissionDrift(t *testing.T) {
	t.Parallel()
	reg, e, _, pkgs := seeded(t, 4, nil)
	tp := e.Cfg.TrustedPublisher
	circle := func(perms ...string) localregistry.TrustConfig {
		return localregistry.CircleCITrust(tp.OrgID, tp.ProjectID, tp.PipelineDefinitionID, tp.VCSOrigin, tp.ContextIDs, perms...)
	}
	const pub, stg = localregistry.PermCreatePackage, localregistry.PermCreateStagedPackage
	reg.SetTrust(pkgs[0], circle(pub))
	reg.SetTrust(pkgs[1], circle(stg))
	reg.SetTrust(pkgs[2], circle(pub, stg))
	check := func(e *toolkit.Env, want ...trust.Status) []trust.State {
		t.Helper()
		states, err := trust.Check(ctx(t), e, pkgs[:3])
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range states {
			if s.Status != want[i] {
				t.Errorf("%s mode, %s (%v): %s, want %s %v", e.Cfg.Release.Mode, s.Package, reg.Trust(s.Package)[0].Permissions, s.Status, want[i], s.Diffs)
			}
		}
		return states
	}
	states := check(e, trust.Matches, trust.Drift, trust.Matches)
	if d := strings.Join(states[1].Diffs, " "); !strings.Contains(d, "permissions are stage publish, want publish: release.mode is direct") {
		t.Errorf("diffs: %s", d)
	}

	stage := *e.Cfg
	stage.Release.Mode = config.ModeStage
	se, sout := toolkittest.FactsEnv(t, &stage, e.Facts)
	states = check(se, trust.Drift, trust.Matches, trust.Drift)
	if d := strings.Join(states[0].Diffs, " "); !strings.Contains(d, "permissions are publish, want stage publish: release.mode is stage") {
		t.Errorf("diffs: %s", d)
	}
	if d := strings.Join(states[2].Diffs, " "); !strings.Contains(d, "permissions are publish, stage publish, want stage publish only") {
		t.Errorf("diffs: %s", d)
	}
	trust.PrintState(se, states)
	if fix := "npm trust circleci " + pkgs[0] + " --org-id " + tp.OrgID; !strings.Contains(sout.String(), fix) || !strings.Contains(sout.String(), "--allow-stage-publish --yes --registry") {
		t.Errorf("fix commands:\n%s", sout)
	}
	// Attach in stage mode: the package without a publisher gets a
	// stage-only one; drift is reported, never revoked.
	_, err := (&trust.Attacher{Env: se, Pacing: time.Millisecond}).Attach(ctx(t), pkgs)
	if err == nil || !strings.Contains(err.Error(), pkgs[0]+" (drift)") || !strings.Contains(err.Error(), pkgs[2]+" (drift)") {
		t.Fatalf("err = %v\n%s", err, sout)
	}
	if got := reg.Trust(pkgs[3]); len(got) != 1 || len(got[0].Permissions) != 1 || got[0].Permissions[0] != stg {
		t.Errorf("attached in stage mode: %+v", got)
	}
	if got := reg.Trust(pkgs[0]); len(got) != 1 || got[0].Permissions[0] != pub {
		t.Errorf("the drifted configuration changed: %+v", got)
	}
}
