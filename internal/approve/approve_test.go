package approve_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/approve"
	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/report/releasereport"
	"github.com/agent-facets/release/internal/seed"
	"github.com/agent-facets/release/internal/status"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/internal/trust"
	"github.com/agent-facets/release/platforms"
)

const ver = "1.2.3"

func TestMain(m *testing.M) {
	code := m.Run()
	toolkittest.CleanupDemoBuilds()
	os.Exit(code)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

// staged is a release staged by CI: the registry, the maintainer's Env,
// the CI job's Env, and the directory of the CI jobs' reports.
type staged struct {
	reg        *localregistrytest.Registry
	maintainer *toolkit.Env
	out        *toolkittest.Buffer
	ci         *toolkit.Env
	ciOut      *toolkittest.Buffer
	reports    string
	ids        map[string]string // package -> stage id
}

// stageRelease seeds every package as a maintainer, attaches the stage-only
// trusted publisher, builds the demo CLI at ver and, as the CI jobs would,
// stages every platform package (one job and report each), the CLI package
// and the libraries with trusted publishing.
func stageRelease(t *testing.T, mutate func(*config.Config)) *staged {
	t.Helper()
	reg := localregistrytest.Start(t)
	cfg := toolkittest.DemoConfig(t, func(c *config.Config) {
		c.Release.Mode = config.ModeStage
		if mutate != nil {
			mutate(c)
		}
	})
	e, out := toolkittest.Env(t, cfg, reg.NpmEnv(t, reg.AddUser(t, "maintainer"))...)
	libs, err := e.Adapters()
	if err != nil {
		t.Fatal(err)
	}
	all := append(e.CLIPackages(), toolkit.Names(libs)...)
	if _, err := seed.Seed(ctx(t), e, all, seed.Options{}); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	if _, err := (&trust.Attacher{Env: e, Pacing: time.Millisecond}).Attach(ctx(t), all); err != nil {
		t.Fatalf("trust: %v\n%s", err, out)
	}
	// Every target is built (once per test process), whichever this test
	// releases.
	toolkittest.BuildDemo(t, cfg, ver, func(e *toolkit.Env) error {
		_, err := build.Build(context.Background(), e, platforms.Table, ver)
		return err
	})
	tp := cfg.TrustedPublisher
	bin := reg.InstallFakeCircleCI(t, localregistry.CircleCIClaims(tp.OrgID, tp.ProjectID, tp.PipelineDefinitionID, tp.VCSOrigin, tp.ContextIDs, time.Hour))
	ci, ciOut := toolkittest.Env(t, cfg, append(reg.NpmEnv(t, ""), "PATH="+bin+string(os.PathListSeparator)+strings.TrimPrefix(toolkittest.WithBun(t), "PATH="), "CIRCLECI=true", "CI=true", "CIRCLE_TAG=agent-facets@"+ver)...)
	s := &staged{reg: reg, maintainer: e, out: out, ci: ci, ciOut: ciOut, reports: t.TempDir(), ids: map[string]string{}}
	o := publish.Options{Auth: publish.NewOIDC(ci), Verify: publish.Verifier{Min: 100 * time.Millisecond}}
	job := func(op, name string, run func() ([]outcome.Record, error)) {
		start := time.Now()
		recs, err := run()
		rep := releasereport.New(op, cfg.CLI.Package, ver, start, time.Now(), recs, err)
		if werr := rep.WriteJSON(filepath.Join(s.reports, name+".json")); werr != nil {
			t.Fatal(werr)
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, ciOut)
		}
		for _, r := range recs {
			if r.Action != outcome.Staged {
				t.Fatalf("%s: %s %s", name, r.Package, r.Action)
			}
			s.ids[r.Package] = r.StageID
		}
	}
	for _, target := range cfg.Targets {
		job("publishPlatform", "publish-"+target, func() ([]outcome.Record, error) {
			r, err := publish.Platform(ctx(t), ci, target, ver, o)
			return []outcome.Record{r}, err
		})
	}
	job("publishCLI", "publish-cli", func() ([]outcome.Record, error) { return publish.CLI(ctx(t), ci, ver, o) })
	want := len(e.CLIPackages())
	if len(cfg.Adapters.Packages) == 0 { // libraries from the workspace
		job("publishAdapters", "publish-adapters", func() ([]outcome.Record, error) { return publish.Adapters(ctx(t), ci, o) })
		want = len(all)
	}
	if n := len(reg.StagedPublishes()); n != want {
		t.Fatalf("%d staged, want %d", n, want)
	}
	return s
}

func fastApprove(s *staged) approve.Options {
	return approve.Options{Reports: s.reports, OTP: s.reg.OTP(), Verify: publish.Verifier{Deadline: time.Minute, Min: 100 * time.Millisecond}}
}

// writes are the requests since index from that change the registry.
func writes(reg *localregistrytest.Registry, from int) []string {
	var w []string
	for _, r := range reg.Requests()[from:] {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w = append(w, r.Method+" "+r.Path)
		}
	}
	return w
}

var leaks = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ|npm_[A-Za-z0-9]{36}`)

func assertNoSecrets(t *testing.T, otp string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if m := leaks.FindString(s); m != "" {
			t.Errorf("a token reached the output: %.20s…", m)
		}
		if otp != "" && strings.Contains(s, otp) {
			t.Errorf("the one-time password reached the output")
		}
	}
}

// TestStagedReleaseApprovedPlatformsFirst stages all 13 packages and the
// libraries, approves them with one one-time password, and checks from the
// registry's log that every platform package was approved and served
// before the CLI package was approved; then every step again is a no-op,
// and the CLI installs and runs.
func TestStagedReleaseApprovedPlatformsFirst(t *testing.T) {
	t.Parallel()
	s := stageRelease(t, nil)
	reg, e := s.reg, s.maintainer
	cliID := s.ids["agent-facets"]
	// status sees the staged libraries as staged, waiting for approval.
	before, err := status.Libraries(ctx(t), e)
	if err != nil {
		t.Fatal(err)
	}
	if before.Complete || !before.AwaitingApproval || outcome.Count(before.Packages, outcome.Staged) != 3 || !strings.HasPrefix(before.Next, "release:approve") {
		t.Fatalf("libraries before approval: complete=%v awaiting=%v next=%q %+v", before.Complete, before.AwaitingApproval, before.Next, before.Packages)
	}
	from := len(reg.Requests())
	recs, err := approve.Approve(ctx(t), e, ver, fastApprove(s))
	if err != nil {
		t.Fatalf("%v\n%s", err, s.out)
	}
	if after, err := status.Libraries(ctx(t), e); err != nil || !after.Complete || outcome.Count(after.Packages, outcome.Published) != 3 {
		t.Errorf("libraries after approval: %+v, %v", after, err)
	}
	if len(recs) != 16 {
		t.Fatalf("%d records, want 12 platforms + 3 libraries + the CLI", len(recs))
	}
	for _, r := range recs {
		if r.Action != outcome.Published || r.Note != "approved" || r.StageID != s.ids[r.Package] {
			t.Errorf("%s: %s %q id %s", r.Package, r.Action, r.Note, r.StageID)
		}
	}
	if recs[len(recs)-1].Package != "agent-facets" {
		t.Errorf("the last record is %s", recs[len(recs)-1].Package)
	}

	// The registry's log: the CLI's approval comes after every other
	// approval, and after a read that served each platform package.
	pubs := reg.Publishes()
	last := pubs[len(pubs)-1]
	if last.Package != "agent-facets" || last.Version != ver || !last.Staged {
		t.Fatalf("last publish = %+v, want the CLI package, approved", last)
	}
	reqs := reg.Requests()
	cliApprove := -1
	approved := map[string]int{} // stage id -> index of its approval
	for i := from; i < len(reqs); i++ {
		r := reqs[i]
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/approve") && r.Status == http.StatusOK {
			id := strings.TrimSuffix(strings.TrimPrefix(r.Path, "/-/stage/"), "/approve")
			approved[id] = i
			if id == cliID {
				cliApprove = i
			}
		}
	}
	if cliApprove < 0 || len(approved) != 16 {
		t.Fatalf("%d approvals seen, CLI at %d", len(approved), cliApprove)
	}
	for pkg, id := range s.ids {
		if pkg == "agent-facets" {
			continue
		}
		i, ok := approved[id]
		if !ok || i > cliApprove {
			t.Errorf("%s approved at %d, the CLI at %d", pkg, i, cliApprove)
			continue
		}
		if !strings.HasPrefix(pkg, "@agent-facets/cli-") {
			continue
		}
		served := false
		for j := i + 1; j < cliApprove; j++ {
			r := reqs[j]
			served = served || (r.Method == http.MethodGet && r.Path == "/"+pkg && r.Query == "" && r.Status == http.StatusOK)
		}
		if !served {
			t.Errorf("%s was not read back from the registry between its approval and the CLI's", pkg)
		}
	}
	if !strings.Contains(s.out.String(), "registry serves agent-facets@1.2.3") {
		t.Errorf("output:\n%s", s.out)
	}

	// Every step again, the CI's and the maintainer's: nothing is written.
	from = len(reg.Requests())
	again, againOut := toolkittest.Again(t, e)
	recs, err = approve.Approve(ctx(t), again, ver, fastApprove(s))
	if err != nil {
		t.Fatalf("approve again: %v\n%s", err, againOut)
	}
	for _, r := range recs {
		if r.Action != outcome.Identical {
			t.Errorf("approve again: %s %s", r.Package, r.Action)
		}
	}
	ci, ciOut := toolkittest.Again(t, s.ci)
	o := publish.Options{Auth: publish.NewOIDC(ci), Verify: publish.Verifier{Min: 100 * time.Millisecond}}
	plat, err := publish.Platforms(ctx(t), ci, ci.Cfg.Targets, ver, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, ciOut)
	}
	cli, err := publish.CLI(ctx(t), ci, ver, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, ciOut)
	}
	libs, err := publish.Adapters(ctx(t), ci, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, ciOut)
	}
	for _, r := range append(plat, cli...) {
		if r.Action != outcome.Identical {
			t.Errorf("CI again: %s %s", r.Package, r.Action)
		}
	}
	// A library already on the registry at its workspace version is not
	// built again for a CLI tag.
	for _, r := range libs {
		if r.Action != outcome.Skipped || r.Note != "already on the registry" {
			t.Errorf("CI again: %s %s (%s)", r.Package, r.Action, r.Note)
		}
	}
	if w := writes(reg, from); len(w) > 0 {
		t.Errorf("the re-runs wrote: %v", w)
	}

	got, err := publish.Installable(ctx(t), e, "agent-facets", ver, "facet", "--version")
	if err != nil || strings.TrimSpace(got) != ver {
		t.Fatalf("facet --version = %q, %v", got, err)
	}
	assertNoSecrets(t, reg.OTP(), s.out.String(), againOut.String(), s.ciOut.String(), ciOut.String())
	files, _ := filepath.Glob(filepath.Join(s.reports, "*.json"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		assertNoSecrets(t, reg.OTP(), string(data))
	}
}

// few is a smaller release for the refusals: three targets, one library
// listed by name (no version known, so left alone).
func few(c *config.Config) {
	c.Targets = []string{"linux-x64", "darwin-arm64", "windows-x64"}
	c.Adapters.Packages = []string{"@agent-facets/adapter"}
}

// TestApproveRefuses: a staged tarball that differs from what CI built, or
// a platform package missing from staging, is refused by name before
// anything is approved; release:reject then removes what is staged.
func TestApproveRefuses(t *testing.T) {
	t.Parallel()
	s := stageRelease(t, few)
	reg, e := s.reg, s.maintainer

	// The CI report of darwin-arm64 says it built other bytes than the
	// ones staged.
	path := filepath.Join(s.reports, "publish-darwin-arm64.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep releasereport.Report
	json.Unmarshal(data, &rep)
	staged := rep.Packages[0].Integrity
	other := "sha512-" + strings.Repeat("A", 86) + "=="
	rep.Packages[0].Integrity = other
	data, _ = json.Marshal(rep)
	os.WriteFile(path, data, 0o644)

	from := len(reg.Requests())
	recs, err := approve.Approve(ctx(t), e, ver, fastApprove(s))
	var refused *approve.RefusedError
	if !errors.As(err, &refused) || len(refused.Problems) != 1 {
		t.Fatalf("err = %v\n%s", err, s.out)
	}
	for _, want := range []string{"nothing was approved", "@agent-facets/cli-darwin-arm64@1.2.3: staged (id " + s.ids["@agent-facets/cli-darwin-arm64"] + ") with other bytes (" + staged + ") than CI built (" + other + ", from " + path + ")"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, r := range recs {
		if want := outcome.Staged; r.Package == "@agent-facets/cli-darwin-arm64" {
			want = outcome.Different
			if r.Action != want {
				t.Errorf("%s: %s, want %s", r.Package, r.Action, want)
			}
		} else if r.Action != want {
			t.Errorf("%s: %s, want %s", r.Package, r.Action, want)
		}
	}
	if w := writes(reg, from); len(w) > 0 {
		t.Errorf("a refused approval wrote: %v", w)
	}

	// Compared with the local build instead (the dist holds what CI
	// built), with a binary changed since it was staged.
	local := approve.Options{OTP: reg.OTP(), Verify: publish.Verifier{Min: 100 * time.Millisecond}}
	bin := filepath.Join(e.Cfg.Path(e.Cfg.Dist.Dir), "linux-x64", "facet")
	f, err := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("rebuilt")
	f.Close()
	_, err = approve.Approve(ctx(t), e, ver, local)
	if !errors.As(err, &refused) || len(refused.Problems) != 1 || !strings.Contains(err.Error(), "@agent-facets/cli-linux-x64@1.2.3: staged (id "+s.ids["@agent-facets/cli-linux-x64"]+") with other bytes") ||
		!strings.Contains(err.Error(), "from the local build ("+bin+")") {
		t.Fatalf("err = %v", err)
	}

	// One platform package missing from staging (rejected by a maintainer).
	if _, err := e.NPM.Run(ctx(t), nil, "stage", "reject", s.ids["@agent-facets/cli-windows-x64"], "--otp="+reg.OTP(), "--registry", reg.URL); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, mustJSON(t, rep, staged), 0o644)
	from = len(reg.Requests())
	_, err = approve.Approve(ctx(t), e, ver, fastApprove(s))
	if !errors.As(err, &refused) || len(refused.Problems) != 1 || !strings.Contains(err.Error(), "@agent-facets/cli-windows-x64@1.2.3: neither staged nor published") {
		t.Fatalf("err = %v", err)
	}
	if w := writes(reg, from); len(w) > 0 {
		t.Errorf("a refused approval wrote: %v", w)
	}
	if !strings.Contains(s.out.String(), "@agent-facets/adapter: no version known") {
		t.Errorf("the library listed by name was not mentioned:\n%s", s.out)
	}

	// release:reject removes the rest, the CLI first.
	recs, err = approve.Reject(ctx(t), e, ver, approve.Options{OTP: reg.OTP()})
	if err != nil {
		t.Fatalf("%v\n%s", err, s.out)
	}
	if recs[0].Package != "agent-facets" || recs[0].Action != outcome.Rejected {
		t.Errorf("first record %+v, want the CLI package rejected", recs[0])
	}
	for _, r := range recs {
		want := outcome.Rejected
		if r.Package == "@agent-facets/cli-windows-x64" {
			want = outcome.Skipped
		}
		if r.Action != want {
			t.Errorf("reject: %s %s, want %s", r.Package, r.Action, want)
		}
	}
	if left := reg.StagedPublishes(); len(left) != 0 {
		t.Errorf("still staged after release:reject: %v", left)
	}
	recs, err = approve.Reject(ctx(t), e, ver, approve.Options{OTP: reg.OTP()})
	if err != nil || outcome.Count(recs, outcome.Skipped) != len(recs) {
		t.Errorf("reject again: %v %+v", err, recs)
	}
	assertNoSecrets(t, reg.OTP(), s.out.String(), err2s(err))
}

func mustJSON(t *testing.T, rep releasereport.Report, integrity string) []byte {
	t.Helper()
	rep.Packages[0].Integrity = integrity
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func err2s(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestOTPRefusedThenExpiredMidWay: a wrong code approves nothing; a code
// that expires part of the way stops with what is approved and what is
// left; a re-run with a fresh code finishes, the CLI last. In a terminal
// the maintainer is asked again instead. The registry reads staged
// versions only for users here, so npm's login reads them.
func TestOTPRefusedThenExpiredMidWay(t *testing.T) {
	t.Parallel()
	s := stageRelease(t, few)
	reg, e := s.reg, s.maintainer
	reg.RefuseAnonymousStageReads(true)
	reg.RequireOTP("111111")

	o := fastApprove(s)
	o.OTP = "999999"
	from := len(reg.Requests())
	_, err := approve.Approve(ctx(t), e, ver, o)
	var oe *approve.OTPError
	if !errors.As(err, &oe) || len(oe.Approved) != 0 || !strings.Contains(err.Error(), "Approved so far: none") ||
		!strings.Contains(err.Error(), "NPM_OTP=<code>") {
		t.Fatalf("err = %v\n%s", err, s.out)
	}
	if n := len(reg.Publishes()); n != 5 { // the placeholders
		t.Errorf("%d publishes after a refused code", n)
	}

	// The code expires after two approvals.
	reg.ExpireOTPAfter(2, "222222")
	o.OTP = "111111"
	recs, err := approve.Approve(ctx(t), e, ver, o)
	if !errors.As(err, &oe) || len(oe.Approved) != 2 || len(oe.Left) != 2 {
		t.Fatalf("err = %v\n%s", err, s.out)
	}
	want := "npm refused the one-time password (EOTP: wrong, or expired) when asked to approve @agent-facets/cli-windows-x64@1.2.3. Approved so far: @agent-facets/cli-linux-x64@1.2.3, @agent-facets/cli-darwin-arm64@1.2.3. Still staged: @agent-facets/cli-windows-x64@1.2.3, agent-facets@1.2.3. Run `mage release:approve 1.2.3` again with a fresh code"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	if n := outcome.Count(recs, outcome.Published); n != 2 || reg.HasVersion(t, "agent-facets", ver) {
		t.Errorf("%d approved, CLI public %v", n, reg.HasVersion(t, "agent-facets", ver))
	}

	// In a terminal: asked again when npm refuses the code.
	reg.ExpireOTPAfter(0, "")
	var prompts []string
	answers := []string{"222222"}
	o.OTP = ""
	o.AskOTP = func(_ context.Context, prompt string) (string, error) {
		prompts = append(prompts, prompt)
		if len(answers) == 0 {
			return "", fmt.Errorf("asked %d times", len(prompts))
		}
		a := answers[0]
		answers = answers[1:]
		return a, nil
	}
	recs, err = approve.Approve(ctx(t), e, ver, o)
	if err != nil {
		t.Fatalf("re-run: %v\n%s", err, s.out)
	}
	if len(prompts) != 1 || !strings.HasPrefix(prompts[0], "One-time password (2FA) to approve the staged release 1.2.3") {
		t.Errorf("prompts: %q", prompts)
	}
	for _, r := range recs {
		want := outcome.Published
		if r.Package == "@agent-facets/cli-linux-x64" || r.Package == "@agent-facets/cli-darwin-arm64" {
			want = outcome.Identical
		}
		if r.Action != want {
			t.Errorf("re-run %s: %s, want %s", r.Package, r.Action, want)
		}
	}
	if last := reg.Publishes()[len(reg.Publishes())-1]; last.Package != "agent-facets" {
		t.Errorf("last approved %s", last.Package)
	}
	refusedReads := 0
	for _, r := range reg.Requests()[from:] {
		if strings.HasPrefix(r.Path, "/-/stage") && r.Status == http.StatusUnauthorized && r.Method == http.MethodGet {
			refusedReads++
		}
	}
	if refusedReads == 0 {
		t.Error("the registry never refused an anonymous read")
	}
	assertNoSecrets(t, "111111", s.out.String(), err2s(err))
	assertNoSecrets(t, "222222", s.out.String())
}

// TestApproveAsksOnceAndReusesTheCode: in a terminal without NPM_OTP the
// maintainer is asked once; the code serves every approval.
func TestApproveAsksOnceAndReusesTheCode(t *testing.T) {
	t.Parallel()
	s := stageRelease(t, func(c *config.Config) {
		few(c)
		c.Targets = c.Targets[:1]
	})
	asked := 0
	o := fastApprove(s)
	o.OTP = ""
	o.AskOTP = func(context.Context, string) (string, error) { asked++; return s.reg.OTP(), nil }
	if _, err := approve.Approve(ctx(t), s.maintainer, ver, o); err != nil {
		t.Fatalf("%v\n%s", err, s.out)
	}
	if asked != 1 || len(s.reg.Publishes()) != 5 { // 3 placeholders, 2 approved
		t.Errorf("asked %d times, %d publishes", asked, len(s.reg.Publishes()))
	}
}

// TestLibraryApprovedByItsTag: a library released on its own tag is
// approved (and rejected) by that tag, alone, checked against the report
// of the job that staged it; status names the command.
func TestLibraryApprovedByItsTag(t *testing.T) {
	t.Parallel()
	s := stageRelease(t, nil)
	reg, e := s.reg, s.maintainer
	const sdk, openai = "@agent-facets/adapter@1.2.0", "@agent-facets/adapter-openai@1.0.0"
	libs, err := status.Libraries(ctx(t), e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(libs.Next, "release:approve "+sdk+" -reports=<dir>") {
		t.Errorf("status's next step: %q", libs.Next)
	}

	// Without the reports nothing says what CI built.
	o := fastApprove(s)
	o.Reports = ""
	from := len(reg.Requests())
	if _, err := approve.Approve(ctx(t), e, sdk, o); err == nil || !strings.Contains(err.Error(), "pass -reports=<dir>") {
		t.Errorf("approve %s without reports: %v", sdk, err)
	}
	if w := writes(reg, from); len(w) != 0 {
		t.Errorf("writes without reports: %v", w)
	}

	recs, err := approve.Approve(ctx(t), e, sdk, fastApprove(s))
	if err != nil {
		t.Fatalf("%v\n%s", err, s.out)
	}
	if len(recs) != 1 || recs[0].Package != "@agent-facets/adapter" || recs[0].Action != outcome.Published || recs[0].Note != "approved" {
		t.Fatalf("records: %+v", recs)
	}
	// Only that library is public: the CLI and the other libraries stay staged.
	after, err := status.Libraries(ctx(t), e)
	if err != nil {
		t.Fatal(err)
	}
	if outcome.Count(after.Packages, outcome.Published) != 1 || outcome.Count(after.Packages, outcome.Staged) != 2 {
		t.Errorf("libraries after approving %s: %+v", sdk, after.Packages)
	}
	r, err := status.Read(ctx(t), e, ver)
	if err != nil {
		t.Fatal(err)
	}
	if outcome.Count(r.Packages, outcome.Staged) != len(r.Packages) {
		t.Errorf("the CLI release was touched: %+v", r.Packages)
	}
	// Again: nothing to do.
	if recs, err := approve.Approve(ctx(t), e, sdk, fastApprove(s)); err != nil || recs[0].Action != outcome.Identical {
		t.Errorf("approve %s again: %+v, %v", sdk, recs, err)
	}

	// Rejecting another library by its tag removes it alone.
	recs, err = approve.Reject(ctx(t), e, openai, approve.Options{OTP: reg.OTP()})
	if err != nil || len(recs) != 1 || recs[0].Action != outcome.Rejected {
		t.Fatalf("reject %s: %+v, %v\n%s", openai, recs, err, s.out)
	}
	if _, err := approve.Approve(ctx(t), e, "@agent-facets/adapter-nope@1.0.0", fastApprove(s)); err == nil || !strings.Contains(err.Error(), "no package of the workspace") {
		t.Errorf("approve of an unknown library: %v", err)
	}
	assertNoSecrets(t, reg.OTP(), s.out.String())
}

// TestLibraryOnItsOwnRegistry: a library whose publishConfig.registry is
// not npm's default is approved where it was staged, not on the default
// registry (here a closed port).
func TestLibraryOnItsOwnRegistry(t *testing.T) {
	t.Parallel()
	s := stageRelease(t, nil)
	reg, e := s.reg, s.maintainer
	manifest := filepath.Join(e.Cfg.Adapters.Workspace, "packages", "adapter", "package.json")
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["publishConfig"].(map[string]any)["registry"] = reg.URL
	data, _ = json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(manifest, data, 0o644); err != nil {
		t.Fatal(err)
	}
	closed := "http://127.0.0.1:9/"
	elsewhere, out := toolkittest.FactsEnv(t, e.Cfg, toolkittest.Facts(append(e.Facts.Environ, "NPM_CONFIG_REGISTRY="+closed, "npm_config_registry="+closed)...))
	recs, err := approve.Approve(ctx(t), elsewhere, "@agent-facets/adapter@1.2.0", fastApprove(s))
	if err != nil || len(recs) != 1 || recs[0].Action != outcome.Published || recs[0].Registry != reg.URL {
		t.Fatalf("approve: %+v, %v\n%s", recs, err, out)
	}
}
