package tasks

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/platforms"
)

// TestBadConfigurationAndTagsRefusedBeforeAnyWrite runs the targets as a
// person would, with a release.json holding the mistakes that were
// accepted before (a key given twice, "targets": [], paths leaving the
// repository) and dist-tags npm would read as a flag or a version: each is
// refused before anything reaches the registry, and a failed build leaves
// files outside dist alone.
func TestBadConfigurationAndTagsRefusedBeforeAnyWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local registry")
	}
	cur, err := platforms.Current()
	if err != nil {
		t.Skip(err)
	}
	notOnCI(t)
	reg := localregistrytest.Start(t)
	other := localregistrytest.Start(t) // where a smuggled --registry would point
	token := reg.AddUser(t, "maintainer")
	npmEnv := reg.NpmEnv(t, token)
	cfg := toolkittest.DemoConfig(t, func(c *config.Config) { c.Targets = []string{cur.Name} })
	e, out := toolkittest.Env(t, cfg, npmEnv...)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if _, err := build.Build(ctx, e, cfg.PlatformTargets(), "1.2.3"); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	setenv(t, npmEnv...)
	reportPath, summaryPath := reportFiles(t)

	good, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeRaw := func(t *testing.T, text string) {
		path := filepath.Join(dir, "release.json")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv("RELEASE_CONFIG", path)
	}
	edit := func(f func(m map[string]any)) string {
		var m map[string]any
		_ = json.Unmarshal(good, &m)
		f(m)
		b, _ := json.MarshalIndent(m, "", "  ")
		return string(b)
	}
	publish := func() error { return PublishPlatform(ctx, cur.Name, s("1.2.3"), nil, s("npm"), nil) }
	tests := []struct {
		name   string
		config string
		run    func() error
		want   string
	}{
		{"a key twice: the last one is not silently kept", strings.Replace(string(good), `"scope": "@agent-facets",`, `"scope": "@agent-facets", "scope": "@someone-else",`, 1), publish, "scope: the key is there twice"},
		{"no targets is not all targets", edit(func(m map[string]any) { m["targets"] = []any{} }), publish, "targets: is empty"},
		{"dist outside the repository", edit(func(m map[string]any) { m["dist"].(map[string]any)["dir"] = "../../dist" }), publish, `dist.dir: "../../dist" leaves the repository`},
		{"a tag that is a flag", string(good), func() error {
			return PublishPlatform(ctx, cur.Name, s("1.2.3"), s("--registry="+other.URL), s("npm"), nil)
		}, "looks like a command-line flag"},
		{"a tag that is a version", string(good), func() error { return PublishPlatform(ctx, cur.Name, s("1.2.3"), s("1.2.3"), s("npm"), nil) }, "looks like a version"},
		{"a tag that is a range, for the CLI", string(good), func() error { return PublishCLI(ctx, s("1.2.3"), s("x"), s("npm"), nil) }, "looks like a version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeRaw(t, tt.config)
			mark, otherMark := reg.Mark(), other.Mark()
			err := tt.run()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if n := len(reg.Requests()) - mark; n != 0 {
				t.Errorf("%d requests reached the registry: %v", n, reg.Requests()[mark:])
			}
			other.NoWrites(t, otherMark)
			if len(other.Requests()) != otherMark {
				t.Errorf("the other registry was asked: %v", other.Requests()[otherMark:])
			}
		})
	}
	if reg.HasVersion(t, cfg.PlatformPackage(cur.Name), "1.2.3") {
		t.Error("published")
	}

	// A failed build removes an old binary only inside dist.
	outside := filepath.Join(t.TempDir(), "keep")
	bin := filepath.Join(outside, cur.Name, cur.BinaryName("facet"))
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("not yours to delete"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeRaw(t, edit(func(m map[string]any) {
		m["dist"].(map[string]any)["binary"] = filepath.ToSlash(outside) + "/{target}/{binary}"
		m["build"].(map[string]any)["command"] = []any{"go", "run", "./no-such-program", "{out}"}
	}))
	if err := Build(ctx, s(cur.Name), s("1.2.3")); err == nil {
		t.Fatal("the failing build succeeded")
	}
	if data, err := os.ReadFile(bin); err != nil || string(data) != "not yours to delete" {
		t.Errorf("a failed build touched %s outside dist: %q, %v", bin, data, err)
	}
	report, _ := os.ReadFile(reportPath)
	summary, _ := os.ReadFile(summaryPath)
	toolkittest.NoLeaks(t, []string{token}, []string{out.String(), string(report), string(summary)}, cfg.Path(cfg.Dist.Dir))
}

// TestRegistryTextInTheStepSummaryIsNotMarkdown publishes through the
// target against a registry that answers with an error message full of
// Markdown and HTML: the GitHub step summary shows it as text, with no
// link, image or tag made of it.
func TestRegistryTextInTheStepSummaryIsNotMarkdown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local registry")
	}
	cur, err := platforms.Current()
	if err != nil {
		t.Skip(err)
	}
	notOnCI(t)
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "maintainer")
	npmEnv := reg.NpmEnv(t, token)
	cfg := toolkittest.DemoConfig(t, func(c *config.Config) { c.Targets = []string{cur.Name} })
	e, out := toolkittest.Env(t, cfg, npmEnv...)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if _, err := build.Build(ctx, e, cfg.PlatformTargets(), "1.2.3"); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	setenv(t, npmEnv...)
	writeConfig(t, cfg)
	reportPath, summaryPath := reportFiles(t)
	const hostile = `denied: [log in again](http://127.0.0.1:1/phish) ![badge](http://127.0.0.1:1/x.png) <img src="http://127.0.0.1:1/y.png"> **urgent** http://127.0.0.1:1/autolink ` + "`code`" + ` | pipe`
	body, _ := json.Marshal(map[string]string{"error": hostile})
	reg.Inject(localregistry.Fault{Method: "GET", Package: cfg.PlatformPackage(cur.Name), Status: 403, Body: string(body), Times: 100})
	mark := reg.Mark()
	pubErr := PublishPlatform(ctx, cur.Name, s("1.2.3"), nil, s("npm"), nil)
	if pubErr == nil || !strings.Contains(pubErr.Error(), "[log in again]") {
		t.Fatalf("err = %v", pubErr)
	}
	reg.NoWrites(t, mark)
	summary, err := os.ReadFile(summaryPath)
	if err != nil {
		t.Fatal(err)
	}
	var html strings.Builder
	if err := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe())).Convert(summary, &html); err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`<(/?[a-zA-Z][a-zA-Z0-9]*)`).FindAllStringSubmatch(html.String(), -1) {
		switch strings.TrimPrefix(strings.ToLower(m[1]), "/") {
		case "h3", "p", "table", "thead", "tbody", "tr", "th", "td", "code", "strong":
		default:
			t.Errorf("the registry's text became %s in the step summary:\n%s\n--- rendered ---\n%s", m[0], summary, html.String())
		}
	}
	if !strings.Contains(html.String(), "[log in again](http://127.0.0.1:1/phish)") {
		t.Errorf("the registry's words are gone:\n%s", html.String())
	}
	report, _ := os.ReadFile(reportPath)
	toolkittest.NoLeaks(t, []string{token}, []string{out.String(), pubErr.Error(), string(report), string(summary)}, cfg.Path(cfg.Dist.Dir))
}
