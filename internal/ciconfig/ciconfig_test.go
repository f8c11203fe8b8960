package ciconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/config"
)

const repoConfig = "../../release.json"

var threeTargets = []string{"linux-x64", "darwin-arm64", "windows-x64"}

// loadConfig loads the repository's release configuration.
func loadConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load(repoConfig)
	if err != nil {
		t.Fatalf("load %s: %v", repoConfig, err)
	}
	return cfg
}

// withTargets returns a copy of cfg releasing only targets.
func withTargets(cfg *config.Config, targets []string) *config.Config {
	c := *cfg
	c.Targets = append([]string(nil), targets...)
	return &c
}

// configs are the configurations the structure tests run on.
func configs(t *testing.T) []struct {
	name string
	cfg  *config.Config
} {
	cfg := loadConfig(t)
	if len(cfg.Targets) != 12 {
		t.Fatalf("%s lists %d targets, the tests expect the 12 of the platform table", repoConfig, len(cfg.Targets))
	}
	return []struct {
		name string
		cfg  *config.Config
	}{
		{"repository config", cfg},
		{"three targets", withTargets(cfg, threeTargets)},
	}
}

func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("generated YAML does not parse: %v\n%s", err, data)
	}
	return doc
}

// at walks a decoded document by map keys and sequence indexes.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for i, p := range path {
		switch k := p.(type) {
		case string:
			mv, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a mapping at %v", path, path[:i])
			}
			if v, ok = mv[k]; !ok {
				t.Fatalf("%v: no key %q", path, k)
			}
		case int:
			sv, ok := v.([]any)
			if !ok || k >= len(sv) {
				t.Fatalf("%v: no item %d at %v", path, k, path[:i])
			}
			v = sv[k]
		}
	}
	return v
}

func strList(t *testing.T, v any) []string {
	t.Helper()
	items, ok := v.([]any)
	if !ok {
		t.Fatalf("want a list of strings, got %#v", v)
	}
	out := make([]string, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			t.Fatalf("want a list of strings, item %d is %#v", i, it)
		}
		out[i] = s
	}
	return out
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// workflowJobs maps each entry of a CircleCI workflow to its settings, by
// job definition.
func workflowJobs(t *testing.T, doc map[string]any, wf string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, e := range at(t, doc, "workflows", wf, "jobs").([]any) {
		entry := e.(map[string]any)
		if len(entry) != 1 {
			t.Fatalf("workflow entry %v has %d keys, want 1", entry, len(entry))
		}
		for name, settings := range entry {
			out[name] = settings.(map[string]any)
		}
	}
	return out
}

// stepNames lists a CircleCI job's steps: a command's name, or the key of a
// built-in step (run steps by their name).
func stepNames(t *testing.T, steps any) []string {
	t.Helper()
	var out []string
	for _, s := range steps.([]any) {
		switch st := s.(type) {
		case string:
			out = append(out, st)
		case map[string]any:
			for k, v := range st {
				if k == "run" {
					k = "run: " + v.(map[string]any)["name"].(string)
				}
				out = append(out, k)
			}
		}
	}
	return out
}

// commands lists the run commands of steps (CircleCI or GitHub).
func commands(t *testing.T, steps any) []string {
	t.Helper()
	var out []string
	for _, s := range steps.([]any) {
		step, ok := s.(map[string]any)
		if !ok {
			continue
		}
		if r, ok := step["run"]; ok {
			if rm, ok := r.(map[string]any); ok {
				out = append(out, rm["command"].(string))
			} else {
				out = append(out, r.(string))
			}
		}
	}
	return out
}

func contains(list []string, want string) bool {
	for _, s := range list {
		if strings.Contains(s, want) {
			return true
		}
	}
	return false
}

func jobsOf(t *testing.T, cfg *config.Config, opts ...Option) []Job {
	t.Helper()
	jobs, err := Jobs(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

func find(jobs []Job, workflow, name string) *Job {
	for i := range jobs {
		if jobs[i].Workflow == workflow && jobs[i].Name == name {
			return &jobs[i]
		}
	}
	return nil
}

func kinds(ts []Transfer) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Kind+"<"+t.From)
	}
	return out
}

// TestJobs: the toolkit is compiled once; a platform job receives the
// toolkit alone and builds its own target; the CLI job receives the toolkit
// and the records; the GitHub Release gets the archives; the jobs' CircleCI
// settings come from release.json's ci section.
func TestJobs(t *testing.T) {
	t.Parallel()
	for _, tc := range configs(t) {
		t.Run(tc.name, func(t *testing.T) {
			jobs := jobsOf(t, tc.cfg)
			n := len(tc.cfg.Targets)
			if len(jobs) != n+9 {
				t.Fatalf("%d jobs, want %d platform jobs and 9 others: %+v", len(jobs), n, jobs)
			}
			compiles := 0
			for _, j := range jobs {
				if j.CompilesToolkit {
					compiles++
					if j.Definition != BuildJob || len(j.Attaches) != 0 {
						t.Errorf("%s/%s compiles the toolkit", j.Workflow, j.Name)
					}
					continue
				}
				if len(j.Attaches) == 0 || j.Attaches[0].Kind != KindToolkit || j.Attaches[0].From != BuildJob {
					t.Errorf("%s/%s does not receive the toolkit first: %v", j.Workflow, j.Name, kinds(j.Attaches))
				}
			}
			if compiles != 2 {
				t.Errorf("%d jobs compile the toolkit, want the build job of each workflow", compiles)
			}
			for _, tg := range tc.cfg.Targets {
				j := find(jobs, WorkflowName, PlatformJob+"-"+tg)
				if j == nil {
					t.Fatalf("no job for %s", tg)
				}
				if !reflect.DeepEqual(kinds(j.Attaches), []string{"toolkit<build"}) || !reflect.DeepEqual(j.Builds, []string{tg}) ||
					j.Target != tg || !reflect.DeepEqual(j.Requires, []string{BuildJob}) || j.Publishes != "npm" {
					t.Errorf("%s: %+v", j.Name, j)
				}
				if !reflect.DeepEqual(j.Persists, []Transfer{{Kind: KindRecords, Paths: []string{"dist/npm/*.json"}}}) {
					t.Errorf("%s persists %+v", j.Name, j.Persists)
				}
			}
			cli := find(jobs, WorkflowName, CLIJob)
			want := []string{"toolkit<build"}
			for _, tg := range tc.cfg.Targets {
				want = append(want, "records<"+PlatformJob+"-"+tg)
			}
			if !reflect.DeepEqual(kinds(cli.Attaches), want) || len(cli.Builds) != 0 || len(cli.Requires) != n+1 || cli.Requires[n] != AdaptersJob {
				t.Errorf("publish-cli receives %v, requires %v", kinds(cli.Attaches), cli.Requires)
			}
			assets := find(jobs, WorkflowName, AssetsJob)
			var sources []string
			for _, a := range tc.cfg.ArchiveList() {
				sources = append(sources, a.From.Name)
			}
			if !reflect.DeepEqual(kinds(assets.Attaches), []string{"toolkit<build"}) || !reflect.DeepEqual(assets.Builds, sources) ||
				!reflect.DeepEqual(assets.Requires, []string{BuildJob}) {
				t.Errorf("package-assets: %+v", assets)
			}
			rel := find(jobs, WorkflowName, GitHubJob)
			if !slices.Contains(kinds(rel.Attaches), "archives<"+AssetsJob) || !reflect.DeepEqual(rel.Requires, []string{AssetsJob, CLIJob}) || rel.Publishes != "github" {
				t.Errorf("github-release: %+v", rel)
			}
			for _, j := range jobs {
				if slices.Contains(j.Requires, AssetsJob) && j.Publishes == "npm" {
					t.Errorf("%s publishes to npm after package-assets: a packaging failure would block npm", j.Name)
				}
			}
			lib := find(jobs, LibraryWorkflow, LibraryJob)
			if lib == nil || !reflect.DeepEqual(kinds(lib.Attaches), []string{"toolkit<build"}) || lib.SerialGroup != cli.SerialGroup {
				t.Errorf("library job: %+v", lib)
			}

			// Contexts, resource classes, serial groups.
			for name, wantCtx := range map[string][]string{
				BuildJob: {"slack-secrets"}, PlatformJob + "-" + tc.cfg.Targets[0]: {"bot-context", "slack-secrets"},
				CLIJob: {"bot-context", "slack-secrets"}, GitHubJob: {"github", "slack-secrets"}, NotifyJob: {"slack-secrets"},
			} {
				if got := find(jobs, WorkflowName, name).Contexts; !reflect.DeepEqual(got, wantCtx) {
					t.Errorf("%s contexts %v, want %v", name, got, wantCtx)
				}
			}
			for name, rc := range map[string]string{BuildJob: "medium", PlatformJob + "-" + tc.cfg.Targets[0]: "medium", AssetsJob: "medium", CLIJob: "small", GitHubJob: "small"} {
				if got := find(jobs, WorkflowName, name).ResourceClass; got != rc {
					t.Errorf("%s resource class %s, want %s", name, got, rc)
				}
			}
			if cli.SerialGroup != "<< pipeline.project.slug >>/release/npm" || rel.SerialGroup != "<< pipeline.project.slug >>/release/github" || assets.SerialGroup != "" {
				t.Errorf("serial groups: cli %q, github %q, assets %q", cli.SerialGroup, rel.SerialGroup, assets.SerialGroup)
			}
		})
	}

	cfg := loadConfig(t)
	c := *cfg
	c.CI.ResourceClasses = map[string]string{PlatformJob: "large", CLIJob: "medium"}
	c.CI.SerialGroup = "none"
	c.CI.Contexts = config.CIContexts{Publish: "npm-publishing", GitHub: "gh", Slack: "chat"}
	jobs := jobsOf(t, &c)
	if j := find(jobs, WorkflowName, PlatformJob+"-linux-x64"); j.ResourceClass != "large" || !reflect.DeepEqual(j.Contexts, []string{"npm-publishing", "chat"}) {
		t.Errorf("platform job with ci settings: %+v", j)
	}
	if j := find(jobs, WorkflowName, CLIJob); j.ResourceClass != "medium" || j.SerialGroup != "" {
		t.Errorf("publish-cli with ci settings: %+v", j)
	}
	c.CI.ResourceClasses = map[string]string{"deploy": "large"}
	if _, err := Jobs(&c); err == nil || !strings.Contains(err.Error(), `ci.resourceClasses names "deploy", which is not a job`) {
		t.Errorf("an unknown job's resource class: %v", err)
	}
}

func TestCircleCIStructure(t *testing.T) {
	t.Parallel()
	for _, tc := range configs(t) {
		t.Run(tc.name, func(t *testing.T) {
			out, err := CircleCI(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, []byte("# Code generated by `mage ci:generate` from release.json. DO NOT EDIT.\n")) {
				t.Errorf("header missing; file starts %q", out[:min(len(out), 100)])
			}
			doc := decode(t, out)
			if v := at(t, doc, "version"); v != 2.1 {
				t.Errorf("version = %#v, want 2.1", v)
			}
			if got := keys(at(t, doc, "commands").(map[string]any)); !reflect.DeepEqual(got, sorted([]string{"setup", "npm", "toolkit", "bun", "oidc-check", "notify-failure"})) {
				t.Errorf("commands = %v", got)
			}
			jobs := at(t, doc, "jobs").(map[string]any)
			if got := keys(jobs); !reflect.DeepEqual(got, sorted(jobNames)) {
				t.Errorf("jobs = %v, want %v", got, jobNames)
			}
			graph := jobsOf(t, tc.cfg)
			for _, j := range graph {
				def := jobs[j.Definition].(map[string]any)
				steps := stepNames(t, def["steps"])
				if got := def["resource_class"]; got != j.ResourceClass {
					t.Errorf("%s: resource_class %v, want %s", j.Definition, got, j.ResourceClass)
				}
				if steps[0] != "setup" || slices.Contains(steps, "checkout") {
					t.Errorf("%s: steps %v: every job starts with the setup command and checks out only there", j.Definition, steps)
				}
				if attaches := slices.Contains(steps, "toolkit"); attaches != (len(j.Attaches) > 0) {
					t.Errorf("%s: toolkit step %v, attaches %v", j.Definition, attaches, kinds(j.Attaches))
				}
				if builds := slices.Contains(steps, "bun"); builds != (len(j.Builds) > 0 || j.BuildsLibraries) {
					t.Errorf("%s: bun step %v, builds %v, libraries %v", j.Definition, builds, j.Builds, j.BuildsLibraries)
				}
				if slices.Contains(steps, "oidc-check") != (j.Publishes == "npm") || slices.Contains(steps, "npm") != (j.Publishes == "npm" || j.Definition == NotifyJob) {
					t.Errorf("%s: %v for a job that publishes %q", j.Definition, steps, j.Publishes)
				}
				notice := slices.Contains(steps, "notify-failure")
				if notice != (j.Definition != NotifyJob && j.Definition != LibraryJob) || (notice && steps[len(steps)-1] != "notify-failure") {
					t.Errorf("%s: steps %v: every job of the CLI release but notify ends with the failure notice", j.Definition, steps)
				}
				var persisted []string
				for _, s := range def["steps"].([]any) {
					if p, ok := s.(map[string]any)["persist_to_workspace"]; ok {
						persisted = append(persisted, strList(t, at(t, p, "paths"))...)
					}
				}
				var want []string
				for _, p := range j.Persists {
					want = append(want, p.Paths...)
				}
				if !reflect.DeepEqual(persisted, want) {
					t.Errorf("%s persists %v, the graph says %v", j.Definition, persisted, want)
				}
				cmds := strings.Join(commands(t, def["steps"]), "\n")
				if j.CompilesToolkit != strings.Contains(cmds, "go tool mage -compile "+ToolkitBinary) {
					t.Errorf("%s: compiles the toolkit %v, the graph says %v", j.Definition, !j.CompilesToolkit, j.CompilesToolkit)
				}
				if !j.CompilesToolkit && strings.Contains(cmds, "go tool mage") {
					t.Errorf("%s runs `go tool mage`, compiling the toolkit again:\n%s", j.Definition, cmds)
				}
			}
			for _, c := range []struct{ job, cmd string }{
				{PlatformJob, ToolkitBinary + " build -target=<< parameters.target >>"},
				{PlatformJob, ToolkitBinary + " publishPlatform << parameters.target >>"},
				{AssetsJob, ToolkitBinary + " releaseAssets"},
				{CLIJob, ToolkitBinary + " publishCLI"},
				{AdaptersJob, ToolkitBinary + " publishAdapters"},
				{GitHubJob, ToolkitBinary + " githubRelease"},
				{StatusJob, ToolkitBinary + ` status "$RELEASE_VERSION"`},
				{NotifyJob, ToolkitBinary + " notify success"},
				{LibraryJob, ToolkitBinary + " publishAdapters"},
			} {
				if cmds := commands(t, at(t, jobs, c.job, "steps")); !contains(cmds, c.cmd) {
					t.Errorf("job %s never runs %q; its commands: %q", c.job, c.cmd, cmds)
				}
			}
			if got := strList(t, at(t, jobs, PlatformJob, "parameters", "target", "enum")); !reflect.DeepEqual(got, tc.cfg.Targets) {
				t.Errorf("publish-platform target enum = %v", got)
			}
			assetCmds := commands(t, at(t, jobs, AssetsJob, "steps"))
			if !contains(assetCmds, ToolkitBinary+" build -target="+strings.Join(find(graph, WorkflowName, AssetsJob).Builds, ",")) {
				t.Errorf("package-assets does not build the archives' targets: %q", assetCmds)
			}

			// The workflows: entries as the graph says, filtered to their tags.
			for _, wf := range []string{WorkflowName, LibraryWorkflow} {
				entries := workflowJobs(t, doc, wf)
				re := "/" + TagRegexp(tc.cfg) + "/"
				if wf == LibraryWorkflow {
					re = "/" + LibraryTagRegexp(tc.cfg) + "/"
				}
				for _, j := range graph {
					if j.Workflow != wf {
						continue
					}
					e := entries[j.Definition]
					if e == nil {
						t.Fatalf("workflow %s has no %s", wf, j.Definition)
					}
					if got := at(t, e, "filters", "tags", "only"); got != re {
						t.Errorf("%s/%s tag filter %v, want %s", wf, j.Definition, got, re)
					}
					if got := at(t, e, "filters", "branches", "ignore"); got != "/.*/" {
						t.Errorf("%s/%s runs on branches", wf, j.Definition)
					}
					if got := strList(t, at(t, e, "context")); !reflect.DeepEqual(got, j.Contexts) {
						t.Errorf("%s/%s context %v, want %v", wf, j.Definition, got, j.Contexts)
					}
					if sg, _ := e["serial-group"].(string); sg != j.SerialGroup {
						t.Errorf("%s/%s serial-group %q, want %q", wf, j.Definition, sg, j.SerialGroup)
					}
					var req []string
					if r, ok := e["requires"]; ok {
						req = strList(t, r)
					}
					if j.Definition != PlatformJob && !reflect.DeepEqual(req, j.Requires) && !(len(req) == 0 && len(j.Requires) == 0) {
						t.Errorf("%s/%s requires %v, want %v", wf, j.Definition, req, j.Requires)
					}
				}
			}
			plat := workflowJobs(t, doc, WorkflowName)[PlatformJob]
			if got := at(t, plat, "name"); got != "publish-platform-<< matrix.target >>" {
				t.Errorf("matrix job name = %v", got)
			}
			if got := strList(t, at(t, plat, "matrix", "parameters", "target")); !reflect.DeepEqual(got, tc.cfg.Targets) {
				t.Errorf("matrix targets = %v, want exactly %v", got, tc.cfg.Targets)
			}
			if got := at(t, doc, "executors", "release", "docker", 0, "image"); got != DefaultGoImage {
				t.Errorf("image = %v, want %s", got, DefaultGoImage)
			}
		})
	}
}

func TestCircleCIContextOption(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	out, err := CircleCI(cfg, WithCircleCIContext("release-bot"))
	if err != nil {
		t.Fatal(err)
	}
	wf := workflowJobs(t, decode(t, out), WorkflowName)
	for _, name := range []string{PlatformJob, CLIJob, AdaptersJob} {
		if got := strList(t, at(t, wf[name], "context")); !reflect.DeepEqual(got, []string{"release-bot", "slack-secrets"}) {
			t.Errorf("%s context = %v, want [release-bot slack-secrets]", name, got)
		}
	}
	if header := strings.ReplaceAll(string(out), "\n# ", " "); !strings.Contains(header, `context "release-bot" (id 691cddb9-b839-41e8-bc5c-ebb4484a2a1f)`) {
		t.Errorf("header does not name the context and its id:\n%s", out[:600])
	}
}

func TestTagFilter(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	out, err := CircleCI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	doc := decode(t, out)
	circle := func(wf string) *regexp.Regexp {
		only := at(t, workflowJobs(t, doc, wf)[BuildJob], "filters", "tags", "only").(string)
		if !strings.HasPrefix(only, "/") || !strings.HasSuffix(only, "/") {
			t.Fatalf("tag filter %q is not a /regexp/", only)
		}
		return regexp.MustCompile(strings.TrimSuffix(strings.TrimPrefix(only, "/"), "/"))
	}
	cli, lib := circle(WorkflowName), circle(LibraryWorkflow)

	gh, err := GitHubActions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	globs := strList(t, at(t, decode(t, gh), "on", "push", "tags"))
	if len(globs) != 2 {
		t.Fatalf("GitHub tag patterns = %v, want the CLI's and the libraries'", globs)
	}
	ghCLI, ghLib := githubGlob(t, globs[0]), githubGlob(t, globs[1])

	for _, tc := range []struct {
		tag      string
		cli, lib bool
	}{
		{"agent-facets@1.2.3", true, false},
		{"agent-facets@1.2.3-rc.1", true, false},
		{"agent-facets@10.20.30", true, false},
		{"@agent-facets/adapter@1.2.3", false, true},
		{"@agent-facets/adapter-claude@0.4.0-beta.1", false, true},
		{"@other/adapter@1.2.3", false, false},
		{"@agent-facets/adapter@latest", false, false},
		{"agent-facets@latest", false, false},
		{"agent-facets@1.2", false, false},
		{"xagent-facets@1.2.3", false, false},
		{"v1.2.3", false, false},
	} {
		for _, c := range []struct {
			name string
			re   *regexp.Regexp
			want bool
		}{{"CircleCI release", cli, tc.cli}, {"CircleCI library", lib, tc.lib}, {"GitHub CLI", ghCLI, tc.cli}, {"GitHub library", ghLib, tc.lib}} {
			if got := c.re.MatchString(tc.tag); got != c.want {
				t.Errorf("%s filter %s matches %q = %v, want %v", c.name, c.re, tc.tag, got, c.want)
			}
		}
	}
}

// githubGlob translates a GitHub Actions filter pattern into a regexp:
// * is any run of characters but '/', + repeats what precedes it, [...] is a
// class; everything else is literal.
func githubGlob(t *testing.T, pattern string) *regexp.Regexp {
	t.Helper()
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			b.WriteString("[^/]*")
		case '+':
			b.WriteByte('+')
		case '[':
			end := strings.IndexByte(pattern[i:], ']')
			if end < 0 {
				t.Fatalf("pattern %q: unclosed [", pattern)
			}
			b.WriteString(pattern[i : i+end+1])
			i += end
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func usesAction(steps any, prefix string) []map[string]any {
	var out []map[string]any
	for _, s := range steps.([]any) {
		step := s.(map[string]any)
		if u, ok := step["uses"].(string); ok && strings.HasPrefix(u, prefix) {
			with, _ := step["with"].(map[string]any)
			out = append(out, with)
		}
	}
	return out
}

func TestGitHubStructure(t *testing.T) {
	t.Parallel()
	for _, tc := range configs(t) {
		t.Run(tc.name, func(t *testing.T) {
			out, err := GitHubActions(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, []byte("# Code generated by `mage ci:generate` from release.json. DO NOT EDIT.\n")) {
				t.Errorf("header missing; file starts %q", out[:min(len(out), 100)])
			}
			doc := decode(t, out)
			if got := at(t, doc, "permissions", "contents"); got != "read" {
				t.Errorf("workflow permissions.contents = %v, want read", got)
			}
			if _, ok := doc["permissions"].(map[string]any)["id-token"]; ok {
				t.Error("the whole workflow gets id-token: only the publish jobs should")
			}
			jobs := at(t, doc, "jobs").(map[string]any)
			if got := keys(jobs); !reflect.DeepEqual(got, sorted(append(slices.Clone(jobNames), NoticeJob))) {
				t.Errorf("jobs = %v", got)
			}
			for _, name := range []string{PlatformJob, CLIJob, AdaptersJob, LibraryJob} {
				if got := at(t, jobs, name, "permissions", "id-token"); got != "write" {
					t.Errorf("%s permissions.id-token = %v, want write", name, got)
				}
			}
			if got := at(t, jobs, GitHubJob, "permissions", "contents"); got != "write" {
				t.Errorf("github-release permissions.contents = %v, want write", got)
			}
			for _, name := range []string{BuildJob, AssetsJob, StatusJob, NotifyJob, NoticeJob} {
				if _, ok := jobs[name].(map[string]any)["permissions"]; ok {
					t.Errorf("%s has its own permissions: it must not get id-token or write access", name)
				}
			}
			if got := strList(t, at(t, jobs, PlatformJob, "strategy", "matrix", "target")); !reflect.DeepEqual(got, tc.cfg.Targets) {
				t.Errorf("matrix targets = %v, want exactly %v", got, tc.cfg.Targets)
			}
			if got := at(t, jobs, PlatformJob, "strategy", "fail-fast"); got != false {
				t.Errorf("fail-fast = %v, want false (one target failing must not cancel the others)", got)
			}
			for _, c := range []struct {
				job   string
				needs []string
			}{
				{PlatformJob, []string{BuildJob}}, {AssetsJob, []string{BuildJob}}, {CLIJob, []string{PlatformJob, AdaptersJob}},
				{AdaptersJob, []string{BuildJob}}, {GitHubJob, []string{AssetsJob, CLIJob}}, {StatusJob, []string{CLIJob}},
				{NotifyJob, []string{GitHubJob, StatusJob}}, {LibraryJob, []string{BuildJob}},
			} {
				if got := strList(t, at(t, jobs, c.job, "needs")); !reflect.DeepEqual(got, c.needs) {
					t.Errorf("%s needs %v, want %v", c.job, got, c.needs)
				}
			}
			prefix := "startsWith(github.ref_name, 'agent-facets@')"
			for _, name := range []string{PlatformJob, AssetsJob} {
				if got := at(t, jobs, name, "if"); got != prefix {
					t.Errorf("%s if = %v, want %s", name, got, prefix)
				}
			}
			if got := at(t, jobs, LibraryJob, "if"); got != "startsWith(github.ref_name, '@agent-facets/')" {
				t.Errorf("library job if = %v", got)
			}
			if got := at(t, jobs, NoticeJob, "if"); got != "failure() && "+prefix {
				t.Errorf("notify-failure if = %v", got)
			}
			if got := strList(t, at(t, jobs, NoticeJob, "needs")); len(got) != 8 {
				t.Errorf("notify-failure needs %v, want the build and every job of a CLI release", got)
			}
			for name, group := range map[string]string{CLIJob: "npm", AdaptersJob: "npm", LibraryJob: "npm", GitHubJob: "github"} {
				if got := at(t, jobs, name, "concurrency", "group"); got != "${{ github.workflow }}-"+group {
					t.Errorf("%s concurrency group %v", name, got)
				}
			}

			// The toolkit is compiled once and handed on; each job downloads
			// only what it needs.
			for name, j := range jobs {
				cmds := strings.Join(commands(t, at(t, j, "steps")), "\n")
				compiles := strings.Contains(cmds, "go tool mage -compile")
				if compiles != (name == BuildJob) {
					t.Errorf("%s compiles the toolkit: %v", name, compiles)
				}
				if strings.Contains(cmds, "go tool mage") && name != BuildJob && name != NoticeJob {
					t.Errorf("%s runs `go tool mage`:\n%s", name, cmds)
				}
				var downloads []string
				for _, w := range usesAction(at(t, j, "steps"), "actions/download-artifact@") {
					if n, ok := w["name"].(string); ok {
						downloads = append(downloads, n)
					} else {
						downloads = append(downloads, w["pattern"].(string))
					}
				}
				want := map[string][]string{
					BuildJob: nil, NoticeJob: nil,
					CLIJob:    {KindToolkit, KindRecords + "-*"},
					GitHubJob: {KindToolkit, KindArchives},
				}[name]
				if want == nil && name != BuildJob && name != NoticeJob {
					want = []string{KindToolkit}
				}
				if !reflect.DeepEqual(downloads, want) {
					t.Errorf("%s downloads %v, want %v", name, downloads, want)
				}
			}
			uploads := map[string]string{}
			for name, j := range jobs {
				for _, w := range usesAction(at(t, j, "steps"), "actions/upload-artifact@") {
					uploads[name] = w["name"].(string) + " " + w["path"].(string)
				}
			}
			if !reflect.DeepEqual(uploads, map[string]string{
				BuildJob:    KindToolkit + " " + ToolkitBinary,
				PlatformJob: KindRecords + "-${{ matrix.target }} dist/npm/*.json",
				AssetsJob:   KindArchives + " dist/assets",
			}) {
				t.Errorf("uploads = %v", uploads)
			}
			for _, c := range []struct{ job, cmd string }{
				{PlatformJob, ToolkitBinary + ` build -target="$TARGET"`},
				{PlatformJob, ToolkitBinary + ` publishPlatform "$TARGET"`},
				{AssetsJob, ToolkitBinary + " releaseAssets"},
				{CLIJob, ToolkitBinary + " publishCLI"},
				{GitHubJob, ToolkitBinary + " githubRelease"},
				{NotifyJob, ToolkitBinary + " notify success"},
				{NoticeJob, "go tool mage notify failure"},
				{LibraryJob, ToolkitBinary + " publishAdapters"},
			} {
				if cmds := commands(t, at(t, jobs, c.job, "steps")); !contains(cmds, c.cmd) {
					t.Errorf("job %s never runs %q; its commands: %q", c.job, c.cmd, cmds)
				}
			}
		})
	}
}

// runCommands returns every run command of a CircleCI or GitHub file (jobs
// and CircleCI commands), with parameter references filled in by fill.
func runCommands(t *testing.T, data []byte, fill *strings.Replacer) map[string]string {
	t.Helper()
	out := map[string]string{}
	doc := decode(t, data)
	for _, section := range []string{"jobs", "commands"} {
		s, ok := doc[section].(map[string]any)
		if !ok {
			continue
		}
		for name, job := range s {
			for i, c := range commands(t, at(t, job, "steps")) {
				out[fmt.Sprintf("%s %s step %d", section, name, i)] = fill.Replace(c)
			}
		}
	}
	return out
}

var shell = &command.Runner{Environ: os.Environ()}

func bash(t *testing.T) {
	t.Helper()
	if _, err := shell.LookPath("bash"); err != nil {
		t.Skip("bash not found: cannot check the generated shell commands")
	}
}

func TestShellSyntax(t *testing.T) {
	t.Parallel()
	bash(t)
	cfg := loadConfig(t)
	for _, gen := range []struct {
		name string
		fn   func(*config.Config, ...Option) ([]byte, error)
	}{{"circleci", CircleCI}, {"github", GitHubActions}} {
		out, err := gen.fn(cfg)
		if err != nil {
			t.Fatal(err)
		}
		fill := strings.NewReplacer("<< parameters.target >>", "linux-x64", "<< parameters.kind >>", "any")
		for step, cmd := range runCommands(t, out, fill) {
			if _, err := shell.Output(context.Background(), command.Cmd{Name: "bash", Args: []string{"-n"}, Stdin: strings.NewReader(cmd)}); err != nil {
				t.Errorf("%s %s: bash -n: %v\n%s", gen.name, step, err, cmd)
			}
		}
	}
}

// TestTagScripts runs the steps that export the release tag, as CircleCI's
// setup command (for each kind of job) and GitHub's jobs have them.
func TestTagScripts(t *testing.T) {
	t.Parallel()
	bash(t)
	cfg := loadConfig(t)
	circle, err := CircleCI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	github, err := GitHubActions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	setup := commands(t, at(t, decode(t, circle), "commands", "setup", "steps"))[0]
	ghJobs := at(t, decode(t, github), "jobs").(map[string]any)
	ghStep := func(job string) string {
		for _, c := range commands(t, at(t, ghJobs, job, "steps")) {
			if strings.Contains(c, "RELEASE_TAG") {
				return c
			}
		}
		t.Fatalf("GitHub job %s exports no RELEASE_TAG", job)
		return ""
	}
	type script struct {
		name, tagVar, sinkVar, text, format string
	}
	scripts := map[string][]script{ // by kind
		"cli": {
			{"circleci cli", "CIRCLE_TAG", "BASH_ENV", strings.ReplaceAll(setup, "<< parameters.kind >>", "cli"), "export %s=%s\n"},
			{"github cli", "GITHUB_REF_NAME", "GITHUB_ENV", ghStep(CLIJob), "%s=%s\n"},
		},
		"library": {
			{"circleci library", "CIRCLE_TAG", "BASH_ENV", strings.ReplaceAll(setup, "<< parameters.kind >>", "library"), "export %s=%s\n"},
			{"github library", "GITHUB_REF_NAME", "GITHUB_ENV", ghStep(LibraryJob), "%s=%s\n"},
		},
		"any": {
			{"circleci any", "CIRCLE_TAG", "BASH_ENV", strings.ReplaceAll(setup, "<< parameters.kind >>", "any"), "export %s=%s\n"},
			{"github build", "GITHUB_REF_NAME", "GITHUB_ENV", ghStep(BuildJob), "%s=%s\n"},
		},
	}
	for _, tc := range []struct {
		tag string
		// what each kind of job exports: "" means the step must fail.
		cli, library, any string
	}{
		{"agent-facets@1.2.3", "agent-facets@1.2.3 1.2.3", "", "agent-facets@1.2.3 1.2.3"},
		{"agent-facets@1.2.3-rc.1", "agent-facets@1.2.3-rc.1 1.2.3-rc.1", "", "agent-facets@1.2.3-rc.1 1.2.3-rc.1"},
		{"@agent-facets/adapter@1.2.3", "", "@agent-facets/adapter@1.2.3", "@agent-facets/adapter@1.2.3"},
		{"agent-facets@latest", "", "", ""},
		{"@agent-facets/adapter@next", "", "", ""},
		{"agent-facets@1.2.3;touch x", "", "", ""},
		{"", "", "", ""},
	} {
		for kind, want := range map[string]string{"cli": tc.cli, "library": tc.library, "any": tc.any} {
			for _, s := range scripts[kind] {
				t.Run(s.name+"/"+tc.tag, func(t *testing.T) {
					t.Parallel()
					sink := filepath.Join(t.TempDir(), "env")
					r := &command.Runner{Environ: []string{"PATH=" + os.Getenv("PATH"), s.tagVar + "=" + tc.tag, s.sinkVar + "=" + sink}}
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					_, err := r.Output(ctx, command.Cmd{Name: "bash", Args: []string{"-eo", "pipefail", "-c", s.text}, Dir: t.TempDir()})
					got, _ := os.ReadFile(sink)
					if want == "" {
						if err == nil {
							t.Fatalf("tag %q accepted; wrote %q", tc.tag, got)
						}
						if len(got) != 0 {
							t.Errorf("tag %q refused but %s was written: %q", tc.tag, s.sinkVar, got)
						}
						return
					}
					if err != nil {
						t.Fatalf("tag %q: %v", tc.tag, err)
					}
					tag, version, _ := strings.Cut(want, " ")
					w := fmt.Sprintf(s.format, "RELEASE_TAG", tag)
					if version != "" {
						w += fmt.Sprintf(s.format, "RELEASE_VERSION", version)
					}
					if string(got) != w {
						t.Errorf("%s = %q, want %q", s.sinkVar, got, w)
					}
				})
			}
		}
	}
}

// TestNoticeScript: the failure step posts only on a CLI tag, with the
// compiled toolkit when the job has it.
func TestNoticeScript(t *testing.T) {
	t.Parallel()
	bash(t)
	if runtime.GOOS == "windows" {
		t.Skip("the stand-ins for go and the toolkit are shell scripts")
	}
	cfg := loadConfig(t)
	circle, err := CircleCI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	script := commands(t, at(t, decode(t, circle), "commands", "notify-failure", "steps"))[0]
	for _, tc := range []struct {
		tag, want string
		toolkit   bool
	}{
		{"agent-facets@1.2.3", "toolkit notify failure", true},
		{"agent-facets@1.2.3", "go tool mage notify failure", false},
		{"@agent-facets/adapter@1.2.3", "not a CLI release tag", true},
	} {
		dir := t.TempDir()
		bin := filepath.Join(dir, "bin")
		os.MkdirAll(bin, 0o755)
		// Stand-ins that say how they were called.
		os.WriteFile(filepath.Join(bin, "go"), []byte("#!/bin/sh\necho go \"$@\"\n"), 0o755)
		if tc.toolkit {
			os.MkdirAll(filepath.Join(dir, ".release", "bin"), 0o755)
			os.WriteFile(filepath.Join(dir, filepath.FromSlash(ToolkitBinary)), []byte("#!/bin/sh\necho toolkit \"$@\"\n"), 0o755)
		}
		r := &command.Runner{Environ: []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "CIRCLE_TAG=" + tc.tag}}
		out, err := r.Output(context.Background(), command.Cmd{Name: "bash", Args: []string{"-eo", "pipefail", "-c", script}, Dir: dir})
		if err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("tag %s, toolkit %v: %q, %v; want %q", tc.tag, tc.toolkit, out, err, tc.want)
		}
	}
}

// TestToolVersions: the versions the jobs install come from the
// repository's pins, and a Bun build needs one.
func TestToolVersions(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	repo := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("package.json", `{"name":"facets","private":true,"packageManager":"bun@1.3.5+sha512.abcdef"}`)
	write(".tool-versions", "# asdf\nbun 1.2.0\nnodejs 22.14.0\nnpm 11.12.1\n")
	write("go.mod", "module example.test/facets\n\ngo 1.25.3\n")
	write("bun.lockb", "")
	tools, err := ReadTools(repo)
	if err != nil {
		t.Fatal(err)
	}
	if tools != (Tools{Bun: "1.3.5", BunFrom: "package.json packageManager", BunLock: "bun.lockb", Node: "22.14.0", NodeFrom: ".tool-versions", NPM: "11.12.1", NPMFrom: ".tool-versions", Go: "1.25", GoFrom: "go.mod"}) {
		t.Errorf("tools = %+v", tools)
	}
	opt := WithOptions(Options{RepoDir: repo})
	circle, err := CircleCI(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	github, err := GitHubActions(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"image: cimg/go:1.25-node", "sudo npm install --global bun@1.3.5", "sudo npm install --global npm@11.12.1", `bun-v1-{{ checksum "bun.lockb" }}`, "Bun 1.3.5 from\n# package.json packageManager"} {
		if !bytes.Contains(circle, []byte(w)) {
			t.Errorf("CircleCI lacks %q", w)
		}
	}
	for _, w := range []string{"node-version: 22.14.0", "npm install --global bun@1.3.5", "npm install --global npm@11.12.1"} {
		if !bytes.Contains(github, []byte(w)) {
			t.Errorf("GitHub lacks %q", w)
		}
	}

	// Node from .nvmrc; no Bun pin for a Bun build is an error.
	bare := t.TempDir()
	os.WriteFile(filepath.Join(bare, ".nvmrc"), []byte("v20.17.0\n"), 0o644)
	if tools, err := ReadTools(bare); err != nil || tools.Node != "20.17.0" || tools.NodeFrom != ".nvmrc" || tools.Bun != "" {
		t.Errorf("ReadTools(.nvmrc) = %+v, %v", tools, err)
	}
	if _, err := CircleCI(cfg, WithOptions(Options{RepoDir: bare})); err == nil || !strings.Contains(err.Error(), `pins no Bun version: set "packageManager": "bun@X.Y.Z"`) {
		t.Errorf("no Bun pin: %v", err)
	}
	for _, tc := range []struct{ file, text, want string }{
		{".tool-versions", "npm 11.10.0\n", "older than 11.11.0"},
		{".tool-versions", "bun latest\n", "want an exact version"},
		{"package.json", `{"packageManager":"bun@^1"}`, "does not pin an exact Bun version"},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.text), 0o644)
		if _, err := ReadTools(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: %v", tc.file, tc.text, err)
		}
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	moved := *cfg
	moved.File = filepath.Join(t.TempDir(), "elsewhere", "release.json")
	moved.Dir = filepath.Dir(moved.File)
	repo := WithOptions(Options{RepoDir: cfg.Dir})
	for _, gen := range []struct {
		name string
		fn   func(*config.Config, ...Option) ([]byte, error)
	}{{"circleci", CircleCI}, {"github", GitHubActions}} {
		a, err := gen.fn(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := gen.fn(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c, err := gen.fn(&moved, repo)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
			t.Errorf("%s output changes between runs or with the configuration's directory:\n%s", gen.name, Diff("first", "other", string(a), string(c)))
		}
		if bytes.Contains(a, []byte(t.TempDir())) || bytes.Contains(a, []byte(cfg.Dir)) {
			t.Errorf("%s output holds a local path", gen.name)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	mod := func(f func(c *config.Config)) *config.Config {
		c := *cfg
		f(&c)
		return &c
	}
	for _, tc := range []struct {
		name string
		cfg  *config.Config
		opts []Option
		want string
	}{
		{"no config", nil, nil, "no release configuration"},
		{"old npm", cfg, []Option{WithOptions(Options{NPMVersion: "11.10.0"})}, "11.11.0 or newer"},
		{"npm range", cfg, []Option{WithOptions(Options{NPMVersion: "latest"})}, "want an exact version"},
		{"bad bun", cfg, []Option{WithOptions(Options{BunVersion: "1"})}, "bun version"},
		{"empty context", cfg, []Option{WithCircleCIContext(" ")}, "CircleCI context"},
		{"same paths", cfg, []Option{WithLayout(Layout{CircleCI: "a.yml", GitHub: "a.yml"})}, "two different file paths"},
		{"tag prefix with a space", mod(func(c *config.Config) { c.Release.TagPrefix = "agent facets@" }), nil, "release.tagPrefix"},
		{"tag prefix with a glob", mod(func(c *config.Config) { c.Release.TagPrefix = "v*" }), nil, "release.tagPrefix"},
		{"absolute dist", mod(func(c *config.Config) { c.Dist.Dir = "/tmp/dist" }), nil, "dist.dir"},
		{"dist outside", mod(func(c *config.Config) { c.Dist.Dir = "../dist" }), nil, "dist.dir"},
		{"assets outside", mod(func(c *config.Config) { c.Assets.Dir = "../assets" }), nil, "assets.dir"},
		{"no targets", mod(func(c *config.Config) { c.Targets = nil }), nil, "no targets"},
		{"unknown target", mod(func(c *config.Config) { c.Targets = []string{"plan9-x64"} }), nil, "unknown target"},
		{"unknown job", mod(func(c *config.Config) { c.CI.ResourceClasses = map[string]string{"lint": "small"} }), nil, "not a job"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, gen := range []func(*config.Config, ...Option) ([]byte, error){CircleCI, GitHubActions} {
				out, err := gen(tc.cfg, tc.opts...)
				if err == nil {
					t.Fatalf("no error; generated %d bytes", len(out))
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %q does not mention %q", err, tc.want)
				}
			}
			if err := Write(tc.cfg, t.TempDir(), tc.opts...); err == nil {
				t.Error("Write: no error")
			}
		})
	}
}

func TestWriteVerify(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	for _, tc := range []struct {
		name   string
		opts   []Option
		layout Layout
	}{
		{"repository layout", nil, RepoLayout},
		{"examples layout", []Option{WithLayout(ExamplesLayout)}, ExamplesLayout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Verify(cfg, dir, tc.opts...); err == nil || !strings.Contains(err.Error(), "does not exist") {
				t.Errorf("Verify before Write = %v, want files missing", err)
			}
			if err := Write(cfg, dir, tc.opts...); err != nil {
				t.Fatal(err)
			}
			for _, rel := range []string{tc.layout.CircleCI, tc.layout.GitHub} {
				if _, err := os.Stat(filepath.Join(dir, rel)); err != nil {
					t.Errorf("Write did not create %s: %v", rel, err)
				}
			}
			if err := Verify(cfg, dir, tc.opts...); err != nil {
				t.Errorf("Verify after Write: %v", err)
			}
			// A configuration change is drift too.
			if err := Verify(withTargets(cfg, threeTargets), dir, tc.opts...); err == nil {
				t.Error("Verify with fewer targets passed")
			} else if !strings.Contains(err.Error(), "-          - darwin-x64\n") {
				t.Errorf("drift from a removed target does not show the removed line:\n%v", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	want, err := CircleCI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yml")

	if err := Check(path, want); err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "mage ci:generate") {
		t.Errorf("Check of a missing file = %v", err)
	}

	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Check(path, want); err != nil {
		t.Errorf("Check of a fresh file: %v", err)
	}

	line := "command: " + ToolkitBinary + " publishCLI"
	edited := bytes.Replace(want, []byte(line), []byte(line+" --force"), 1)
	if bytes.Equal(edited, want) {
		t.Fatal("the edit changed nothing")
	}
	if err := os.WriteFile(path, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	err = Check(path, want)
	if err == nil {
		t.Fatal("Check passed a hand-edited file")
	}
	msg := err.Error()
	for _, s := range []string{
		path + " differs",
		"run `go tool mage ci:generate`",
		"--- " + path + " (committed)\n+++ " + path + " (generated)\n",
		"\n-          " + line + " --force\n+          " + line + "\n",
	} {
		if !strings.Contains(msg, s) {
			t.Errorf("error does not contain %q:\n%s", s, msg)
		}
	}
	if n := strings.Count(msg, "\n-") + strings.Count(msg, "\n+"); n != 4 { // 2 header lines + 2 changed
		t.Errorf("diff has %d changed lines, want 1 removed and 1 added:\n%s", n-2, msg)
	}

	unreadable := filepath.Join(dir, "a-directory")
	if err := os.Mkdir(unreadable, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Check(unreadable, want); err == nil || errors.Is(err, os.ErrNotExist) {
		t.Errorf("Check of a directory = %v, want a read error", err)
	}
}

// TestGoBuild: a CLI built with Go gets Go in the jobs that build it, and
// no Bun.
func TestGoBuild(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	c := *cfg
	c.Build = config.Build{Command: []string{"go", "build", "-o", "{out}", "./cmd/facet"}}
	gh, err := GitHubActions(&c)
	if err != nil {
		t.Fatal(err)
	}
	jobs := at(t, decode(t, gh), "jobs").(map[string]any)
	for _, name := range []string{PlatformJob, AssetsJob} {
		steps := at(t, jobs, name, "steps")
		if len(usesAction(steps, "actions/setup-go@")) != 1 || contains(commands(t, steps), "bun install") {
			t.Errorf("%s: Go %d times, bun %v", name, len(usesAction(steps, "actions/setup-go@")), contains(commands(t, steps), "bun install"))
		}
	}
	if len(usesAction(at(t, jobs, CLIJob, "steps"), "actions/setup-go@")) != 0 {
		t.Error("publish-cli sets up Go: it builds nothing")
	}
	circle, err := CircleCI(&c)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(circle, []byte("bun install")) || !bytes.Contains(circle, []byte("build.command does not run bun")) {
		t.Errorf("CircleCI installs Bun for a Go build")
	}
}
