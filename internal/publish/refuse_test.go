package publish_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/platforms"
)

// What is refused before any write: each test reproduces a way a release
// could publish wrong bytes under the right name, with the real npm against
// a local registry, and checks from the registry's request log that nothing
// was written and that no token reached the output or the files the run
// left.

// seeded is a registry, a maintainer logged in to it (npm's own login
// may create packages, so none is seeded) with demo binaries built at ver,
// and the maintainer's token.
func seeded(t *testing.T, mutate func(*config.Config)) (*localregistrytest.Registry, *toolkit.Env, *toolkittest.Buffer, string) {
	t.Helper()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "maintainer")
	cfg := toolkittest.DemoConfig(t, mutate)
	e, out := toolkittest.Env(t, cfg, reg.NpmEnv(t, token)...)
	toolkittest.BuildDemo(t, cfg, ver, buildAll)
	return reg, e, out, token
}

func TestVersionsNpmWouldRewriteAreRefused(t *testing.T) {
	t.Parallel()
	reg, e, out, token := seeded(t, nil)
	mark := reg.Mark()
	// npm publishes 1.2.3+build.5 as 1.2.3: the toolkit would then wait for
	// a version the registry never serves, and a re-run would get 403.
	_, err := publish.Platform(ctx(t), e, "linux-x64", "1.2.3+build.5", fastOpts())
	if err == nil {
		t.Fatalf("published 1.2.3+build.5\n%s", out)
	}
	for _, want := range []string{"build metadata", "would publish 1.2.3 instead", "1.2.3-build.5"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	if _, err := publish.CLI(ctx(t), e, "1.2.3+build.5", fastOpts()); err == nil || !strings.Contains(err.Error(), "build metadata") {
		t.Errorf("publishCLI: %v", err)
	}
	if _, err := e.Version("agent-facets@9007199254740993.0.0"); err == nil || !strings.Contains(err.Error(), "npm's semver cannot hold") {
		t.Errorf("a version npm cannot parse: %v", err)
	}
	reg.NoWrites(t, mark)
	if reg.HasVersion(t, "@agent-facets/cli-linux-x64", "1.2.3") {
		t.Error("1.2.3 was published")
	}
	toolkittest.NoLeaks(t, []string{token}, []string{out.String(), err.Error()}, e.Cfg.Path(e.Cfg.Dist.Dir))
}

// TestConflictGetsAHintToWait: npm's E409 (a PUT the registry holds as in
// progress, or that landed and is not visible yet) is not a reason to bump
// the version; the error says to wait and run again.
func TestConflictGetsAHintToWait(t *testing.T) {
	t.Parallel()
	reg, e, out, token := seeded(t, nil)
	name := "@agent-facets/cli-linux-arm64"
	reg.Inject(localregistry.Fault{Method: "PUT", Package: name, Status: 409, Body: `{"error":"Document update conflict."}`})
	mark := reg.Mark()
	_, err := publish.Platform(ctx(t), e, "linux-arm64", ver, fastOpts())
	if err == nil {
		t.Fatalf("published through a 409\n%s", out)
	}
	for _, want := range []string{"E409", "409 Conflict", "wait a minute and run the same command again", "it will not publish twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	reg.NoWrites(t, mark)
	if reg.HasVersion(t, name, ver) {
		t.Error("the version landed")
	}
	// Running again, as the hint says, publishes it once.
	again, againOut := toolkittest.Again(t, e)
	if _, err := publish.Platform(ctx(t), again, "linux-arm64", ver, fastOpts()); err != nil {
		t.Fatalf("re-run: %v\n%s", err, againOut)
	}
	if n := reg.PublishCount(name); n != 1 {
		t.Errorf("published %d times, want once", n)
	}
	toolkittest.NoLeaks(t, []string{token}, []string{out.String(), againOut.String(), err.Error()}, e.Cfg.Path(e.Cfg.Dist.Dir))
}

// TestUnreadableIsNotMissing: with the registry down, publishCLI used to
// wait its full five minutes and then say the platform packages "are not
// on the registry". A failure that asking again cannot mend ends the wait
// at once; one that may (502s) ends it at the deadline with the registry's
// last answer; neither is ever reported as missing packages.
func TestUnreadableIsNotMissing(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		break_ func(reg *localregistrytest.Registry)
		opts   func(o *publish.Options)
		want   []string
	}{
		{"connection refused", func(reg *localregistrytest.Registry) { reg.Stop() },
			// The default five-minute deadline: the test ends at once or not
			// for five minutes.
			func(o *publish.Options) { o.Confirm.Deadline, o.Confirm.Rounds = 0, 0 },
			[]string{"the registry could not be read for 12 package(s)", "connection refused", "stopped at once"}},
		{"every answer 502", func(reg *localregistrytest.Registry) {
			reg.Inject(localregistry.Fault{Method: "GET", PathPrefix: "/@agent-facets/cli-", Status: 502, Body: `{"error":"bad gateway from the CDN"}`, Times: 1 << 20})
		}, func(o *publish.Options) {},
			[]string{"the registry could not be read for 12 package(s)", "502 Bad Gateway: bad gateway from the CDN", "gave up after"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg, e, out, token := seeded(t, nil)
			tt.break_(reg)
			mark := reg.Mark()
			o := fastOpts()
			tt.opts(&o)
			_, err := publish.CLI(ctx(t), e, ver, o)
			if err == nil {
				t.Fatalf("published\n%s", out)
			}
			t.Logf("error: %v", err)
			var missing *publish.MissingPlatformsError
			if errorsAs(err, &missing) || strings.Contains(err.Error(), "not on the registry") {
				t.Errorf("an unreadable registry reported as missing packages: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if strings.HasSuffix(strings.TrimSpace(err.Error()), "context deadline exceeded") {
				t.Errorf("the error ends with the deadline alone: %v", err)
			}
			reg.NoWrites(t, mark)
			toolkittest.NoLeaks(t, []string{token}, []string{out.String(), err.Error()}, e.Cfg.Path(e.Cfg.Dist.Dir))
		})
	}
}

// TestBinaryMustBeTheVersionPublished: `build -version=1.0.4` then
// `publishPlatform linux-x64 -version=1.1.0` published the 1.0.4 binary as
// 1.1.0. The build manifest in dist now vouches for each binary (version,
// SHA-256); a binary it does not vouch for at the version published, and a
// version other than the CLI's own package.json, are refused before any
// write, with the command that rebuilds.
func TestBinaryMustBeTheVersionPublished(t *testing.T) {
	t.Parallel()
	reg, e, out, token := seeded(t, nil)
	lookup := func(n string) platforms.Target { tg, _ := platforms.Lookup(n); return tg }
	if _, err := build.Build(ctx(t), e, []platforms.Target{lookup("linux-x64")}, "1.0.4"); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	mark := reg.Mark()
	refused := func(what string, err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: published\n%s", what, out)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error lacks %q: %v", what, w, err)
			}
		}
	}
	_, err := publish.Platform(ctx(t), e, "linux-x64", "1.1.0", fastOpts())
	refused("a 1.0.4 build as 1.1.0", err, "is not the linux-x64 binary built at 1.1.0: it was built at 1.0.4", "go tool mage build -target=linux-x64 -version=1.1.0")
	_, err = publish.CLI(ctx(t), e, "1.1.0", fastOpts())
	refused("the CLI package over binaries of other versions", err, "the CLI package was not published", "built at 1.2.3")

	// Changed after it was built.
	f, err := os.OpenFile(e.Cfg.BinaryPath(lookup("linux-arm64")), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("patched")
	f.Close()
	_, err = publish.Platform(ctx(t), e, "linux-arm64", ver, fastOpts())
	refused("a changed binary", err, "it changed since it was built (sha256 ")

	// Not built by build (no entry in the manifest).
	manifest := build.ManifestPath(e)
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var m build.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	delete(m.Targets, "darwin-arm64")
	data, _ = json.Marshal(m)
	if err := os.WriteFile(manifest, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = publish.Platform(ctx(t), e, "darwin-arm64", ver, fastOpts())
	refused("a binary the manifest does not list", err, "has no entry for darwin-arm64")
	// A manifest with no entries is there: it says so, not that it is missing.
	if err := os.WriteFile(manifest, []byte(`{"schema":1,"targets":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = publish.Platform(ctx(t), e, "darwin-arm64", ver, fastOpts())
	refused("an empty manifest", err, "has no entry for darwin-arm64")
	if err := os.Remove(manifest); err != nil {
		t.Fatal(err)
	}
	_, err = publish.Platform(ctx(t), e, "darwin-arm64", ver, fastOpts())
	refused("no manifest", err, "there is no build manifest")
	if err := os.WriteFile(manifest, data, 0o644); err != nil {
		t.Fatal(err)
	}

	// The CLI's own package.json says another version.
	toolkittest.SetSourceVersion(t, e.Cfg, "1.2.4")
	_, err = publish.Platform(ctx(t), e, "linux-x64-musl", ver, fastOpts())
	refused("a version other than the CLI's", err, "the release version 1.2.3 is not the CLI's version 1.2.4", "bump the version there first")
	_, err = build.Build(ctx(t), e, []platforms.Target{lookup("linux-x64-musl")}, ver)
	refused("building a version other than the CLI's", err, "is not the CLI's version 1.2.4")
	reg.NoWrites(t, mark)
	if reg.HasVersion(t, "@agent-facets/cli-linux-x64", "1.1.0") {
		t.Error("1.1.0 was published")
	}

	// With everything in order it publishes.
	toolkittest.SetSourceVersion(t, e.Cfg, ver)
	if _, err := publish.Platform(ctx(t), e, "linux-x64-musl", ver, fastOpts()); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	toolkittest.NoLeaks(t, []string{token}, []string{out.String()}, e.Cfg.Path(e.Cfg.Dist.Dir))
}
