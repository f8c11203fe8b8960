package publish_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/seed"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/platforms"
)

const ver = "1.2.3"

func TestMain(m *testing.M) {
	// The test binary is also a toolkit process for the tests that kill one
	// (see helper_test.go): `<binary> -- helper <what> <args>`.
	if i := slices.Index(os.Args, "--"); i >= 0 && i+1 < len(os.Args) && os.Args[i+1] == "helper" {
		os.Exit(helper(os.Args[i+2:]))
	}
	code := m.Run()
	toolkittest.CleanupDemoBuilds()
	os.Exit(code)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

func buildAll(e *toolkit.Env) error {
	_, err := build.Build(context.Background(), e, e.Cfg.PlatformTargets(), ver)
	return err
}

// release sets up a registry with every CLI package seeded by a maintainer,
// and demo binaries built at ver.
func release(t *testing.T, mutate func(*config.Config)) (*localregistrytest.Registry, *toolkit.Env, *toolkittest.Buffer) {
	t.Helper()
	reg := localregistrytest.Start(t)
	cfg := toolkittest.DemoConfig(t, mutate)
	e, out := toolkittest.Env(t, cfg, reg.NpmEnv(t, reg.AddUser(t, "maintainer"))...)
	if _, err := seed.Seed(ctx(t), e, e.CLIPackages(), seed.Options{}); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	toolkittest.BuildDemo(t, cfg, ver, buildAll)
	return reg, e, out
}

func fastOpts() publish.Options {
	return publish.Options{
		Verify:  publish.Verifier{Deadline: 30 * time.Second, Min: 100 * time.Millisecond},
		Confirm: publish.Verifier{Deadline: 2 * time.Minute, Min: 100 * time.Millisecond, Rounds: 3},
	}
}

func packument(t *testing.T, e *toolkit.Env, name string) *registry.Packument {
	t.Helper()
	reg, err := e.Registry(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Reg.Packument(context.Background(), reg, name, true)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWholeReleaseThenRerun(t *testing.T) {
	t.Parallel()
	reg, e, out := release(t, nil)
	recs, err := publish.Platforms(ctx(t), e, e.Cfg.Targets, ver, fastOpts())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, r := range recs {
		if r.Action != outcome.Published || r.Tag != "latest" {
			t.Errorf("%s: %s tag %q", r.Package, r.Action, r.Tag)
		}
	}
	cli, err := publish.CLI(ctx(t), e, ver, fastOpts())
	if err != nil {
		t.Fatalf("publishCLI: %v\n%s", err, out)
	}
	if cli[0].Action != outcome.Published {
		t.Fatalf("CLI: %+v", cli[0])
	}

	// Platform packages carry os/cpu/libc; the CLI pins all of them exactly.
	for _, tg := range platforms.Table {
		name := e.Cfg.PlatformPackage(tg.Name)
		v := fullVersion(t, reg, name, ver)
		if len(v.OS) != 1 || v.OS[0] != tg.OS || len(v.CPU) != 1 || v.CPU[0] != tg.CPU {
			t.Errorf("%s: os %v cpu %v", name, v.OS, v.CPU)
		}
		if (tg.Libc == "") != (len(v.Libc) == 0) || (tg.Libc != "" && v.Libc[0] != tg.Libc) {
			t.Errorf("%s: libc %v, want %q", name, v.Libc, tg.Libc)
		}
	}
	cv := packument(t, e, "agent-facets").Versions[ver]
	if len(cv.OptionalDependencies) != 12 {
		t.Errorf("optionalDependencies = %v", cv.OptionalDependencies)
	}
	for name, v := range cv.OptionalDependencies {
		if v != ver || !strings.HasPrefix(name, "@agent-facets/cli-") {
			t.Errorf("optionalDependency %s@%s", name, v)
		}
	}

	// Users can install it and the launcher runs the right binary.
	got, err := publish.Installable(ctx(t), e, "agent-facets", ver, "facet", "--version")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(got) != ver {
		t.Errorf("facet --version = %q", got)
	}

	// Re-running everything publishes nothing and needs no credentials.
	e2, out2 := toolkittest.Again(t, e)
	failing := failAuth{t}
	o := fastOpts()
	o.Auth = failing
	recs, err = publish.Platforms(ctx(t), e2, e.Cfg.Targets, ver, o)
	if err != nil {
		t.Fatalf("re-run: %v\n%s", err, out2)
	}
	cli, err = publish.CLI(ctx(t), e2, ver, o)
	if err != nil {
		t.Fatalf("re-run CLI: %v\n%s", err, out2)
	}
	for _, r := range append(recs, cli...) {
		if r.Action != outcome.Identical {
			t.Errorf("re-run %s: %s", r.Package, r.Action)
		}
	}
	if !strings.Contains(out2.String(), "~ agent-facets@1.2.3 already published, identical") {
		t.Errorf("re-run output:\n%s", out2)
	}
	for name, n := range reg.PublishCounts() {
		if n != 2 { // placeholder + release
			t.Errorf("%s published %d times, want 2", name, n)
		}
	}
}

// fullVersion reads name@v from the full (not abbreviated) packument.
func fullVersion(t *testing.T, reg *localregistrytest.Registry, name, v string) registry.Version {
	t.Helper()
	resp, err := http.Get(registry.PackageURL(reg.URL, name))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Versions map[string]registry.Version `json:"versions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc.Versions[v]
}

// failAuth fails the test if credentials are asked for.
type failAuth struct{ t *testing.T }

func (f failAuth) Prepare(_ context.Context, pkg, _ string) ([]string, error) {
	f.t.Errorf("credentials requested for %s on a no-op run", pkg)
	return nil, nil
}
func (failAuth) String() string { return "must not be used" }

func TestPublishCLIRefusesPartialRelease(t *testing.T) {
	t.Parallel()
	reg, e, out := release(t, nil)
	all := e.Cfg.Targets
	missing := []string{"linux-x64-musl", "windows-arm64"}
	var some []string
	for _, t := range all {
		if t != missing[0] && t != missing[1] {
			some = append(some, t)
		}
	}
	if _, err := publish.Platforms(ctx(t), e, some, ver, fastOpts()); err != nil {
		t.Fatal(err)
	}
	_, err := publish.CLI(ctx(t), e, ver, fastOpts())
	var me *publish.MissingPlatformsError
	if !errorsAs(err, &me) {
		t.Fatalf("want MissingPlatformsError, got %v\n%s", err, out)
	}
	for _, m := range missing {
		if !strings.Contains(err.Error(), "@agent-facets/cli-"+m+"@1.2.3") || !strings.Contains(err.Error(), "mage publishPlatform "+m) {
			t.Errorf("error does not name %s: %v", m, err)
		}
	}
	if reg.HasVersion(t, "agent-facets", ver) {
		t.Fatal("the CLI package was published over a partial release")
	}
	// Re-run every job (the others skip as identical), then publishCLI works.
	recs, err := publish.Platforms(ctx(t), e, all, ver, fastOpts())
	if err != nil {
		t.Fatal(err)
	}
	published := 0
	for _, r := range recs {
		if r.Action == outcome.Published {
			published++
		}
	}
	if published != 2 {
		t.Errorf("re-run published %d, want 2", published)
	}
	if _, err := publish.CLI(ctx(t), e, ver, fastOpts()); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for name, n := range reg.PublishCounts() {
		if n != 2 {
			t.Errorf("%s published %d times", name, n)
		}
	}
}

func errorsAs(err error, target **publish.MissingPlatformsError) bool {
	if err == nil {
		return false
	}
	me, ok := err.(*publish.MissingPlatformsError)
	*target = me
	return ok
}

func TestDifferentBytesStops(t *testing.T) {
	t.Parallel()
	reg, e, out := release(t, nil)
	if _, err := publish.Platform(ctx(t), e, "linux-x64", ver, fastOpts()); err != nil {
		t.Fatal(err)
	}
	// Same version, different binary: rebuilt with other flags.
	tg, _ := platforms.Lookup("linux-x64")
	re, reOut := toolkittest.FactsEnv(t, toolkittest.Rebuilt(t, e.Cfg), e.Facts)
	if _, err := build.Build(ctx(t), re, []platforms.Target{tg}, ver); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, reOut)
	}
	_, err := publish.Platform(ctx(t), e, "linux-x64", ver, fastOpts())
	if err == nil || !strings.Contains(err.Error(), "@agent-facets/cli-linux-x64@1.2.3 is already on the registry with different contents (local sha512-") ||
		!strings.Contains(err.Error(), ", registry sha512-") || !strings.Contains(err.Error(), "bump the version") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if n := reg.PublishCount("@agent-facets/cli-linux-x64"); n != 2 {
		t.Errorf("published %d times", n)
	}
}

func TestBadArtifactsRefusedBeforeAnyWrite(t *testing.T) {
	t.Parallel()
	reg, e, _ := release(t, nil)
	before := len(reg.Requests())
	lookup := func(n string) platforms.Target { tg, _ := platforms.Lookup(n); return tg }
	copyBin := func(from, to string) {
		data, err := os.ReadFile(e.Cfg.BinaryPath(lookup(from)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(e.Cfg.BinaryPath(lookup(to)), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyBin("darwin-arm64", "linux-x64")
	copyBin("linux-arm64", "linux-x64-baseline")
	if err := os.Remove(e.Cfg.BinaryPath(lookup("darwin-x64"))); err != nil {
		t.Fatal(err)
	}
	// A dynamically linked glibc binary in a musl package.
	data, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(e.Cfg.BinaryPath(lookup("linux-x64-musl")), data, 0o755)
	// A Windows binary without an x bit in a Linux package: the format is
	// the problem, and the advice is the configured (Go) build command.
	copyBin("windows-arm64", "linux-arm64-musl")
	os.Chmod(e.Cfg.BinaryPath(lookup("linux-arm64-musl")), 0o644)
	// Cut short; and an AVX2 build in a baseline package.
	half, err := os.ReadFile(e.Cfg.BinaryPath(lookup("darwin-arm64")))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(e.Cfg.BinaryPath(lookup("darwin-arm64")), half[:len(half)/2], 0o755)
	copyBin("windows-x64", "windows-x64-baseline")

	cases := map[string]string{
		"linux-x64":            "is a Mach-O arm64 binary but target linux-x64 needs ELF x86-64",
		"linux-x64-baseline":   "target linux-x64-baseline needs ELF x86-64",
		"darwin-x64":           "darwin-x64",
		"linux-x64-musl":       "built for glibc",
		"linux-arm64-musl":     "is a PE arm64 binary but target linux-arm64-musl needs ELF arm64; rebuild it: `go tool mage build -target=linux-arm64-musl` runs build.command from " + e.Cfg.File + " (`go build ",
		"darwin-arm64":         fmt.Sprintf("but the file has only %d bytes: the file is incomplete", len(half)/2),
		"windows-x64-baseline": "is an AVX2 build (built by go",
		"linux-sparc":          `unknown target "linux-sparc"`,
	}
	for target, want := range cases {
		_, err := publish.Platform(ctx(t), e, target, ver, fastOpts())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", target, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), "bun build") || strings.Contains(err.Error(), "chmod")) {
			t.Errorf("%s: err = %v names Bun's build or chmod", target, err)
		}
	}
	if _, err := publish.Platform(ctx(t), e, "linux-arm64", "1.2", fastOpts()); err == nil || !strings.Contains(err.Error(), "not valid semver") {
		t.Errorf("bad version: %v", err)
	}
	for _, r := range reg.Requests()[before:] {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			t.Errorf("a write happened: %s %s", r.Method, r.Path)
		}
	}
}

func TestPrereleaseTagAndLatestNeverMovesBackwards(t *testing.T) {
	t.Parallel()
	_, e, out := release(t, nil)
	toolkittest.BuildDemo(t, e.Cfg, "2.0.0-rc.1", func(e *toolkit.Env) error {
		_, err := build.Build(context.Background(), e, e.Cfg.PlatformTargets(), "2.0.0-rc.1")
		return err
	})
	rec, err := publish.Platform(ctx(t), e, "linux-arm64", "2.0.0-rc.1", fastOpts())
	if err != nil || rec.Tag != "next" {
		t.Fatalf("prerelease: %+v %v\n%s", rec, err, out)
	}
	p := packument(t, e, "@agent-facets/cli-linux-arm64")
	if p.DistTags["next"] != "2.0.0-rc.1" || p.DistTags["latest"] != "0.0.1" {
		t.Errorf("dist-tags = %v", p.DistTags)
	}
	toolkittest.BuildDemo(t, e.Cfg, ver, buildAll)
	if _, err := publish.Platform(ctx(t), e, "linux-x64", ver, fastOpts()); err != nil {
		t.Fatal(err)
	}
	// A backport below latest is refused on latest...
	toolkittest.BuildDemo(t, e.Cfg, "1.0.0", func(e *toolkit.Env) error {
		_, err := build.Build(context.Background(), e, e.Cfg.PlatformTargets(), "1.0.0")
		return err
	})
	_, err = publish.Platform(ctx(t), e, "linux-x64", "1.0.0", fastOpts())
	if err == nil || !strings.Contains(err.Error(), "latest is 1.2.3, newer than 1.0.0: publishing to latest would move it backwards") {
		t.Fatalf("err = %v", err)
	}
	// ...and accepted under another tag.
	o := fastOpts()
	o.Tag = "backport"
	if _, err := publish.Platform(ctx(t), e, "linux-x64", "1.0.0", o); err != nil {
		t.Fatal(err)
	}
	if got := packument(t, e, "@agent-facets/cli-linux-x64").DistTags; got["latest"] != ver || got["backport"] != "1.0.0" {
		t.Errorf("dist-tags = %v", got)
	}
}

func TestFaultsReleaseCompletesWithoutDuplicates(t *testing.T) {
	t.Parallel()
	reg, e, out := release(t, nil)
	reg.Inject(localregistry.Fault{Method: http.MethodGet, PathPrefix: "/@agent-facets/cli-linux-x64", Times: 2, Status: 429, RetryAfter: time.Second})
	reg.Inject(localregistry.Fault{Method: http.MethodGet, PathPrefix: "/@agent-facets/cli-darwin-arm64", Times: 3, Status: 503})
	reg.Inject(localregistry.Fault{Method: http.MethodGet, PathPrefix: "/@agent-facets/cli-windows-x64", Times: 1, Reset: true})
	reg.Inject(localregistry.Fault{Method: http.MethodGet, PathPrefix: "/agent-facets", Times: 2, Delay: 2 * time.Second})
	reg.Inject(localregistry.Fault{Method: http.MethodPut, PathPrefix: "/@agent-facets/cli-linux-arm64", Times: 1, Status: 503})
	if _, err := publish.Platforms(ctx(t), e, e.Cfg.Targets, ver, fastOpts()); err != nil {
		// npm does not retry a 503 on PUT by itself; the job is re-run.
		if !strings.Contains(err.Error(), "linux-arm64") {
			t.Fatalf("%v\n%s", err, out)
		}
		if _, err := publish.Platform(ctx(t), e, "linux-arm64", ver, fastOpts()); err != nil {
			t.Fatalf("re-run: %v\n%s", err, out)
		}
	}
	if _, err := publish.CLI(ctx(t), e, ver, fastOpts()); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for name, n := range reg.PublishCounts() {
		if n != 2 {
			t.Errorf("%s published %d times", name, n)
		}
	}
	faults := 0
	for _, r := range reg.Requests() {
		if r.Fault {
			faults++
		}
	}
	if faults < 8 {
		t.Errorf("only %d faults were served", faults)
	}
}

// await waits for a request at or after index from that match accepts, and
// returns its index.
func await(t *testing.T, reg *localregistrytest.Registry, from int, what string, match func(localregistry.Request) bool) int {
	t.Helper()
	i, _, err := reg.Await(ctx(t), from, match)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return i
}

// TestVerificationWaitsForVisibility: a version the registry accepted but
// does not serve yet (a CDN's stale packument) is waited for, and the
// publish returns only once it is served. The registry catches up when the
// test has seen the verifier find it missing twice.
func TestVerificationWaitsForVisibility(t *testing.T) {
	t.Parallel()
	reg, e, out := release(t, nil)
	const pkg = "@agent-facets/cli-linux-x64"
	reveal := reg.Hide(pkg, ver)
	from := len(reg.Requests())
	done := make(chan error, 1)
	go func() {
		_, err := publish.Platform(ctx(t), e, "linux-x64", ver, fastOpts())
		done <- err
	}()
	put := await(t, reg, from, "the publish", func(r localregistry.Request) bool {
		return r.Method == http.MethodPut && r.Package == pkg && r.Status/100 == 2
	})
	read := func(r localregistry.Request) bool {
		return r.Method == http.MethodGet && r.Package == pkg && r.Path == "/"+pkg && r.Query == "" && r.Status == http.StatusOK
	}
	first := await(t, reg, put+1, "the verifier's first read", read)
	await(t, reg, first+1, "the verifier's second read", read)
	select {
	case err := <-done:
		t.Fatalf("the publish returned while the version was not served: %v\n%s", err, out)
	default:
	}
	reveal()
	if err := <-done; err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	// Never served: the deadline ends the wait with the registry's last
	// answer, and the advice to run again.
	reg.Hide("@agent-facets/cli-linux-arm64", ver)
	o := fastOpts()
	o.Verify.Deadline = 5 * time.Second
	_, err := publish.Platform(ctx(t), e, "linux-arm64", ver, o)
	if err == nil || !strings.Contains(err.Error(), "published @agent-facets/cli-linux-arm64@1.2.3, but: after 5s the registry still does not serve @agent-facets/cli-linux-arm64@1.2.3 (version not listed yet)") ||
		!strings.Contains(err.Error(), "run the same command again to keep waiting") {
		t.Fatalf("err = %v", err)
	}
}

// TestInterruptedPublishThenRerun: the run is killed while npm uploads;
// the re-run finishes the release without publishing twice.
func TestInterruptedPublishThenRerun(t *testing.T) {
	t.Parallel()
	reg, e, out := release(t, nil)
	const pkg = "@agent-facets/cli-linux-x64"
	// The PUT hangs until the client goes away.
	reg.Inject(localregistry.Fault{Method: http.MethodPut, Package: pkg, Times: 1, Delay: time.Hour})
	c, cancel := context.WithCancel(ctx(t))
	from := len(reg.Requests())
	done := make(chan error, 1)
	go func() {
		_, err := publish.Platform(c, e, "linux-x64", ver, fastOpts())
		done <- err
	}()
	await(t, reg, from, "npm's upload", func(r localregistry.Request) bool {
		return r.Method == http.MethodPut && r.Package == pkg && r.InFlight
	})
	cancel()
	if err := <-done; err == nil {
		t.Fatalf("the interrupted run reported success\n%s", out)
	}
	e2, out2 := toolkittest.Again(t, e)
	rec, err := publish.Platform(ctx(t), e2, "linux-x64", ver, fastOpts())
	if err != nil {
		t.Fatalf("re-run: %v\n%s", err, out2)
	}
	if rec.Action != outcome.Published && rec.Action != outcome.Identical {
		t.Errorf("re-run: %s", rec.Action)
	}
	if n := reg.PublishCount(pkg); n != 2 {
		t.Errorf("published %d times, want 2 (placeholder + release)", n)
	}
}

func TestPackageJSONFields(t *testing.T) {
	t.Parallel()
	_, e, _ := release(t, nil)
	if _, err := publish.Platform(ctx(t), e, "linux-x64-baseline-musl", ver, fastOpts()); err != nil {
		t.Fatal(err)
	}
	tgz := filepath.Join(e.Cfg.Path(e.Cfg.Dist.Dir), "npm", "agent-facets-cli-linux-x64-baseline-musl-1.2.3.tgz")
	out, err := exec.Command("tar", "-xzOf", tgz, "package/package.json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"name": "@agent-facets/cli-linux-x64-baseline-musl", "version": ver, "license": "MIT",
		"os": "[linux]", "cpu": "[x64]", "libc": "[musl]", "files": "[bin/]",
	} {
		got := m[k]
		if s, ok := got.([]any); ok {
			parts := make([]string, len(s))
			for i, p := range s {
				parts[i] = p.(string)
			}
			got = "[" + strings.Join(parts, " ") + "]"
		}
		if got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	if _, ok := m["scripts"]; ok {
		t.Error("platform package has scripts")
	}
	list, _ := exec.Command("tar", "-tzvf", tgz).Output()
	if !strings.Contains(string(list), "-rwxr-xr-x") || !strings.Contains(string(list), "package/bin/facet") {
		t.Errorf("binary not executable in tarball:\n%s", list)
	}
}

// TestPublishCLIFromRecords: in CI each platform job keeps its binary, and
// the CLI job gets only the records packing left beside the tarballs; it
// still compares the registry's bytes with this build's, and a record of
// other bytes stops it.
func TestPublishCLIFromRecords(t *testing.T) {
	t.Parallel()
	reg, e, out := release(t, nil)
	if _, err := publish.Platforms(ctx(t), e, e.Cfg.Targets, ver, fastOpts()); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// The CLI job's dist: the records alone.
	cfg := *e.Cfg
	cfg.Dist.Dir = filepath.Join(t.TempDir(), "dist")
	ci, ciOut := toolkittest.FactsEnv(t, &cfg, e.Facts)
	if err := os.MkdirAll(pack.Dir(ci), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range e.Cfg.PlatformPackages() {
		data, err := os.ReadFile(pack.RecordPath(e, name, ver))
		if err != nil {
			t.Fatalf("no record beside %s's tarball: %v", name, err)
		}
		if err := os.WriteFile(pack.RecordPath(ci, name, ver), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bad := e.Cfg.PlatformPackage("darwin-arm64")
	rec, _ := pack.ReadRecord(ci, bad, ver)
	good := *rec
	rec.Integrity = "sha512-" + strings.Repeat("A", 86) + "=="
	writeRecord(t, pack.RecordPath(ci, bad, ver), rec)
	if _, err := publish.CLI(ctx(t), ci, ver, fastOpts()); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("a record of other bytes: %v\n%s", err, ciOut)
	}
	if reg.HasVersion(t, "agent-facets", ver) {
		t.Fatal("the CLI package was published against a record of other bytes")
	}
	writeRecord(t, pack.RecordPath(ci, bad, ver), &good)
	again, out2 := toolkittest.Again(t, ci)
	if _, err := publish.CLI(ctx(t), again, ver, fastOpts()); err != nil {
		t.Fatalf("%v\n%s", err, out2)
	}
	if !strings.Contains(out2.String(), "confirming 12 platform packages at 1.2.3 (12 compared with the local build or its records)") {
		t.Errorf("output:\n%s", out2)
	}
}

func writeRecord(t *testing.T, path string, r *pack.Record) {
	t.Helper()
	data, _ := json.Marshal(r)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
