package publish_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/internal/trust"
	"github.com/agent-facets/release/platforms"
)

func stageMode(c *config.Config) { c.Release.Mode = config.ModeStage }

// stageRelease is a seeded release in stage mode whose CLI packages trust
// the configured CircleCI identity for staging only, and the Env of a
// CircleCI job staging it with trusted publishing.
func stageRelease(t *testing.T) (*localregistrytest.Registry, *toolkit.Env, *toolkit.Env, *toolkittest.Buffer) {
	t.Helper()
	reg, maintainer, out := release(t, stageMode)
	if _, err := (&trust.Attacher{Env: maintainer, Pacing: time.Millisecond}).Attach(ctx(t), maintainer.CLIPackages()); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, c := range reg.Trust("agent-facets") {
		if len(c.Permissions) != 1 || c.Permissions[0] != localregistry.PermCreateStagedPackage {
			t.Fatalf("trust:attach in stage mode created %v", c.Permissions)
		}
	}
	ci, ciOut := circleCIJob(t, reg, maintainer.Cfg, reg.InstallFakeCircleCI(t, goodClaims(maintainer.Cfg.TrustedPublisher)))
	return reg, maintainer, ci, ciOut
}

func stageOpts(e *toolkit.Env) publish.Options {
	o := fastOpts()
	o.Auth = publish.NewOIDC(e)
	return o
}

// stageWrites are the requests that stage or publish anything.
func stageWrites(reg *localregistrytest.Registry, since int) []string {
	var w []string
	for _, r := range reg.Requests()[since:] {
		if r.Method == http.MethodPut || (r.Method == http.MethodPost && strings.HasPrefix(r.Path, "/-/stage")) || r.Method == http.MethodDelete {
			w = append(w, r.Method+" "+r.Path)
		}
	}
	return w
}

func TestStageWholeReleaseThenRerun(t *testing.T) {
	t.Parallel()
	reg, _, ci, out := stageRelease(t)
	recs, err := publish.Platforms(ctx(t), ci, ci.Cfg.Targets, ver, stageOpts(ci))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cli, err := publish.CLI(ctx(t), ci, ver, stageOpts(ci))
	if err != nil {
		t.Fatalf("publishCLI: %v\n%s", err, out)
	}
	recs = append(recs, cli...)
	ids := map[string]bool{}
	for _, r := range recs {
		if r.Action != outcome.Staged || r.StageID == "" || r.Tag != "latest" || r.Note != "" {
			t.Errorf("%s: %s id %q tag %q note %q", r.Package, r.Action, r.StageID, r.Tag, r.Note)
		}
		ids[r.StageID] = true
		if reg.HasVersion(t, r.Package, ver) {
			t.Errorf("%s@%s is public after staging", r.Package, ver)
		}
	}
	staged := reg.StagedPublishes()
	if len(staged) != 13 || len(ids) != 13 {
		t.Fatalf("%d staged, %d ids, want 13", len(staged), len(ids))
	}
	for _, s := range staged {
		if !ids[s.ID] || s.Version != ver || s.Tag != "latest" {
			t.Errorf("staged %+v not reported", s)
		}
	}
	if !strings.Contains(out.String(), "staging @agent-facets/cli-linux-x64@1.2.3 on "+reg.URL+" with tag latest (trusted publishing from CircleCI)") {
		t.Errorf("output:\n%s", out)
	}

	// Every step again: nothing is written and no credentials are needed;
	// the staged tarballs are compared by sha512.
	for _, refuse := range []bool{false, true} {
		reg.RefuseAnonymousStageReads(refuse)
		before := len(reg.Requests())
		again, againOut := toolkittest.Again(t, ci)
		o := fastOpts()
		if refuse {
			// The registry reads staged versions only with credentials:
			// trusted publishing's, from the token exchange.
			o.Auth = publish.NewOIDC(again)
		} else {
			o.Auth = failAuth{t}
		}
		recs, err := publish.Platforms(ctx(t), again, ci.Cfg.Targets, ver, o)
		if err != nil {
			t.Fatalf("re-run (refused %v): %v\n%s", refuse, err, againOut)
		}
		cli, err := publish.CLI(ctx(t), again, ver, o)
		if err != nil {
			t.Fatalf("re-run CLI (refused %v): %v\n%s", refuse, err, againOut)
		}
		for _, r := range append(recs, cli...) {
			if r.Action != outcome.Staged || r.Note != "already staged" || !ids[r.StageID] {
				t.Errorf("re-run %s: %s %q id %s", r.Package, r.Action, r.Note, r.StageID)
			}
		}
		if w := stageWrites(reg, before); len(w) > 0 {
			t.Errorf("re-run (refused %v) wrote: %v", refuse, w)
		}
		tarballs, exchanges := 0, 0
		for _, r := range reg.Requests()[before:] {
			if strings.HasSuffix(r.Path, "/tarball") && r.Status == http.StatusOK {
				tarballs++
			}
			if strings.Contains(r.Path, "/oidc/token/exchange/") {
				exchanges++
			}
		}
		if tarballs != 13 {
			t.Errorf("re-run (refused %v) downloaded %d staged tarballs, want 13", refuse, tarballs)
		}
		if refuse != (exchanges > 0) {
			t.Errorf("re-run (refused %v): %d token exchanges", refuse, exchanges)
		}
		if !strings.Contains(againOut.String(), "~ agent-facets@1.2.3 already staged, identical (id ") {
			t.Errorf("re-run output:\n%s", againOut)
		}
		assertNoSecrets(t, againOut.String())
	}
	assertNoSecrets(t, out.String())
	if n := len(reg.Publishes()); n != 13 {
		t.Errorf("%d publishes, want the 13 placeholders only", n)
	}
}

func TestStageDifferentBytesStops(t *testing.T) {
	t.Parallel()
	reg, _, ci, out := stageRelease(t)
	first, err := publish.Platform(ctx(t), ci, "linux-x64", ver, stageOpts(ci))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// Same version, different binary: rebuilt with other flags.
	tg, _ := platforms.Lookup("linux-x64")
	re, reOut := toolkittest.FactsEnv(t, toolkittest.Rebuilt(t, ci.Cfg), ci.Facts)
	if _, err := build.Build(ctx(t), re, []platforms.Target{tg}, ver); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, reOut)
	}
	before := len(reg.Requests())
	rec, err := publish.Platform(ctx(t), ci, "linux-x64", ver, stageOpts(ci))
	var sd *publish.StagedDifferentError
	if !errors.As(err, &sd) || rec.Action != outcome.Different || sd.ID != first.StageID {
		t.Fatalf("err = %v, record %+v\n%s", err, rec, out)
	}
	for _, want := range []string{"@agent-facets/cli-linux-x64@1.2.3 is already staged (id " + first.StageID + ") with different contents (local sha512-", "staged shasum ", "npm stage reject " + first.StageID} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if w := stageWrites(reg, before); len(w) > 0 {
		t.Errorf("writes: %v", w)
	}
}

func TestStageCLINeedsEveryPlatformPackage(t *testing.T) {
	t.Parallel()
	reg, _, ci, out := stageRelease(t)
	var some []string
	for _, tg := range ci.Cfg.Targets {
		if tg != "darwin-x64" {
			some = append(some, tg)
		}
	}
	if _, err := publish.Platforms(ctx(t), ci, some, ver, stageOpts(ci)); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	before := len(reg.Requests())
	_, err := publish.CLI(ctx(t), ci, ver, stageOpts(ci))
	var me *publish.MissingPlatformsError
	if !errors.As(err, &me) || !me.Staged || len(me.Missing) != 1 ||
		!strings.Contains(err.Error(), "@agent-facets/cli-darwin-x64@1.2.3 (neither staged nor published)") ||
		!strings.Contains(err.Error(), "mage publishPlatform darwin-x64 -mode=stage") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if w := stageWrites(reg, before); len(w) > 0 {
		t.Errorf("writes: %v", w)
	}
	if _, err := publish.Platform(ctx(t), ci, "darwin-x64", ver, stageOpts(ci)); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.CLI(ctx(t), ci, ver, stageOpts(ci)); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestStageWithAPublishOnlyPublisher: in stage mode, a trusted publisher
// that may only publish is refused by the registry, before anything is
// staged, and the error says what to fix; the -mode flag overrides
// release.mode.
func TestStageWithAPublishOnlyPublisher(t *testing.T) {
	t.Parallel()
	reg, maintainer, out := release(t, nil) // direct mode: publish-only publishers
	if _, err := (&trust.Attacher{Env: maintainer, Pacing: time.Millisecond}).Attach(ctx(t), maintainer.CLIPackages()[:2]); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ci, ciOut := circleCIJob(t, reg, maintainer.Cfg, reg.InstallFakeCircleCI(t, goodClaims(maintainer.Cfg.TrustedPublisher)))
	o := stageOpts(ci)
	o.Mode = config.ModeStage
	_, err := publish.Platform(ctx(t), ci, "linux-arm64", ver, o)
	if err == nil || !strings.Contains(err.Error(), "stage publish permission, createStagedPackage") {
		t.Fatalf("err = %v\n%s", err, ciOut)
	}
	if n := len(reg.StagedPublishes()); n != 0 {
		t.Errorf("%d staged", n)
	}
	assertNoSecrets(t, ciOut.String(), err.Error())
}

// TestStageWithNpmLogin stages as a maintainer would by hand, with npm's
// login, from a registry that lists staged versions only to users: the
// reader falls back to `npm stage list` and `npm stage download`.
func TestStageWithNpmLogin(t *testing.T) {
	t.Parallel()
	reg, e, out := release(t, stageMode)
	reg.RefuseAnonymousStageReads(true)
	rec, err := publish.Platform(ctx(t), e, "windows-x64", ver, fastOpts())
	if err != nil || rec.Action != outcome.Staged {
		t.Fatalf("%+v %v\n%s", rec, err, out)
	}
	again, againOut := toolkittest.Again(t, e)
	before := len(reg.Requests())
	rec, err = publish.Platform(ctx(t), again, "windows-x64", ver, fastOpts())
	if err != nil || rec.Action != outcome.Staged || rec.Note != "already staged" {
		t.Fatalf("re-run: %+v %v\n%s", rec, err, againOut)
	}
	if w := stageWrites(reg, before); len(w) > 0 {
		t.Errorf("re-run wrote %v", w)
	}
	refused, listed, downloaded := 0, 0, 0
	for _, r := range reg.Requests()[before:] {
		switch {
		case strings.HasPrefix(r.Path, "/-/stage") && r.Status == http.StatusUnauthorized:
			refused++
		case r.Path == "/-/stage" && r.Status == http.StatusOK:
			listed++
		case strings.HasSuffix(r.Path, "/tarball") && r.Status == http.StatusOK:
			downloaded++
		}
	}
	if refused != 1 || listed != 1 || downloaded != 1 {
		t.Errorf("re-run: %d refused, %d listed, %d downloaded; want one each (anonymous, then npm's login)", refused, listed, downloaded)
	}
}
